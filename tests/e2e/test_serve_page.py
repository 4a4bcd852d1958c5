"""`posfeed serve` for operators: /metrics read strictly as Prometheus
text (and by `promtool check metrics` where installed), and the status
page as people see it: a split feed listed once with its parts and
index, valid HTML (`html-validate` where installed)."""
import html.parser
import json
import os
import subprocess
import tempfile
import unittest

from shop import ShopTest
from serve_util import (TOKEN, Server, html_validate, parse_metrics,
                        promtool, series)

AUTH = {"Authorization": "Bearer " + TOKEN}


class Page(html.parser.HTMLParser):
    """The feeds table of a status page: its rows as lists of cells, each
    cell's text and link targets."""

    def __init__(self, text):
        super().__init__()
        self.rows, self._in, self._h2 = [], None, ""
        self.feed_table = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h2":
            self._h2 = ""
            self._in = "h2"
        elif tag == "table":
            self.feed_table = self._h2 == "Feeds"
        elif tag == "tr" and self.feed_table:
            self.rows.append([])
        elif tag in ("td", "th") and self.feed_table:
            self.rows[-1].append({"text": "", "links": []})
        elif tag == "a" and self.feed_table and self.rows:
            self.rows[-1][-1]["links"].append(a.get("href"))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in = None
        elif tag == "table":
            self.feed_table = False

    def handle_data(self, data):
        if self._in == "h2":
            self._h2 += data
        elif self.feed_table and self.rows and self.rows[-1]:
            self.rows[-1][-1]["text"] += data


class SplitShop(ShopTest):
    """A shop whose public Klaviyo catalog is split into parts (with an
    index), a token Clerk feed, and a token Klaviyo XML catalog that has
    an index but one part."""

    def setUp(self):
        s = self.shop()
        s.sync["collect_emails"] = "yes"
        for i in range(1200):
            s.add_product("p%04d" % i, name="Product %d " % i + "x" * 600)
        s.add_order("o1", [{"product_id": "p0001"}],
                    created_at="2026-11-20T10:00:00Z")
        s.feeds = {
            "kc": {"template": "klaviyo-catalog-json", "output": "kc.json",
                   "max_file_size": "1M", "access": "public",
                   "gzip": "yes"},
            "clerk": {"template": "clerk", "access": "token"},
            "kx": {"template": "klaviyo-catalog-xml", "output": "kx.xml",
                   "access": "token"},
        }
        s.write_data()
        s.write_config(s.config_text() +
                       "\n[serve]\ntoken = env:POSFEED_TOKEN\n")
        s.posfeed("run")
        self.s = s
        with open(s.feed_path("kc.json.parts.json")) as f:
            self.parts = [p["path"] for p in json.load(f)["parts"]]
        self.assertGreaterEqual(len(self.parts), 2)
        self.srv = Server(s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def metrics(self, **headers):
        st, h, body = self.srv.get("/metrics", **headers)
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        return body.decode()


class Metrics(SplitShop):
    def test_text_format_and_zero_counters(self):
        # The first scrape: nothing answered yet, yet every code the
        # server sends already has its series, at zero.
        first = parse_metrics(self.metrics())
        codes = series(first, "posfeed_http_requests_total")
        for code in ("200", "304", "401", "404"):
            self.assertEqual(codes[frozenset({("code", code)})], 0, code)
        self.assertEqual(first["posfeed_run_in_progress"]["type"], "gauge")
        self.assertEqual(series(first, "posfeed_runs_total"),
                         {frozenset(): 1})
        st, h, _ = self.srv.get("/feeds/kc.json")
        self.assertEqual(st, 200)
        self.assertEqual(self.srv.get("/feeds/kc.json", **{
            "If-None-Match": h["etag"]})[0], 304)
        self.assertEqual(self.srv.get("/feeds/clerk.json")[0], 401)
        self.assertEqual(self.srv.get("/nope")[0], 404)
        after = series(parse_metrics(self.metrics(**AUTH)),
                       "posfeed_http_requests_total")
        # The first scrape itself was a 200 too.
        for code, n in (("200", 2), ("304", 1), ("401", 1), ("404", 1),
                        ("500", 0)):
            key = frozenset({("code", code)})
            self.assertEqual(after[key] - codes[key], n, code)

    def test_one_series_per_feed(self):
        for headers, feeds in (({}, {"kc"}), (AUTH, {"kc", "clerk", "kx"})):
            fams = parse_metrics(self.metrics(**headers))
            for fam in ("posfeed_feed_bytes", "posfeed_feed_items",
                        "posfeed_feed_parts"):
                self.assertEqual({lab["feed"] for lab, _ in
                                  fams[fam]["samples"]}, feeds, fam)
        size = sum(os.path.getsize(self.s.feed_path(p)) for p in self.parts)
        gz = sum(os.path.getsize(self.s.feed_path(p) + ".gz")
                 for p in self.parts)
        b = series(fams, "posfeed_feed_bytes")
        self.assertEqual(b[frozenset({("feed", "kc"),
                                      ("encoding", "identity")})], size)
        self.assertEqual(b[frozenset({("feed", "kc"),
                                      ("encoding", "gzip")})], gz)
        self.assertEqual(series(fams, "posfeed_feed_items")[
            frozenset({("feed", "kc")})], 1200)
        self.assertEqual(series(fams, "posfeed_feed_parts")[
            frozenset({("feed", "kc")})], len(self.parts))
        self.assertEqual(series(fams, "posfeed_feed_parts")[
            frozenset({("feed", "kx")})], 1)

    def test_promtool(self):
        tool = promtool()
        if tool is None:
            self.skipTest("promtool is not installed (Debian package "
                          "`prometheus`); .ci/run installs it")
        for headers in ({}, AUTH):
            text = self.metrics(**headers)
            r = subprocess.run([tool, "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""),
                             text)


class StatusPage(SplitShop):
    def page(self, **headers):
        st, _, body = self.srv.get("/", **headers)
        self.assertEqual(st, 200)
        return body.decode()

    def test_split_feed_listed_once(self):
        parts = ["/feeds/" + p for p in self.parts]
        for headers, names, more in (({}, ["kc"], "2 more feeds"),
                                     (AUTH, ["clerk", "kc", "kx"], None)):
            text = self.page(**headers)
            rows = Page(text).rows[1:]          # after the headings
            feeds = [r[0]["text"] for r in rows if r[0]["text"]]
            self.assertEqual(feeds, names)
            kc = [i for i, r in enumerate(rows) if r[0]["text"] == "kc"][0]
            # Under the feed: every part in order, then the index.
            self.assertEqual(rows[kc + 1][0]["text"], "")
            self.assertEqual(rows[kc + 1][1]["links"],
                             parts + ["/feeds/kc.json.parts.json"])
            self.assertIn("%d parts" % len(parts), rows[kc + 1][1]["text"])
            if more:
                self.assertIn("<p>%s need the token.</p>" % more, text)
            else:
                kx = [i for i, r in enumerate(rows)
                      if r[0]["text"] == "kx"][0]
                self.assertEqual(rows[kx + 1][1]["links"],
                                 ["/feeds/kx.xml.parts.json"])

    def test_html_validate(self):
        cmd, why = html_validate()
        if cmd is None:
            self.skipTest(why)
        with tempfile.TemporaryDirectory() as d:
            for name, headers in (("public.html", {}), ("detail.html",
                                                        AUTH)):
                path = os.path.join(d, name)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(self.page(**headers))
                r = subprocess.run(cmd + [path], capture_output=True,
                                   text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
