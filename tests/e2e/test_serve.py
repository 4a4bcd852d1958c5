"""`posfeed serve`: HTTP rules for feeds (ETag, 304, gzip, HEAD, tokens,
traversal, 405), the trigger and 409, the schedule under an injected clock
across DST, feeds fetched while runs publish, signals, the status page."""
import base64
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from shop import REPO, ShopTest
from serve_util import TOKEN, Server, chromium, chromium_dump_dom

GEN = os.path.join(REPO, "tests", "gen_shop.py")
_BIG = {}


def big_data():
    """A generated shop large enough that a run takes a noticeable time
    (made once per test process)."""
    if "dir" not in _BIG:
        d = tempfile.mkdtemp(prefix="posfeed-serve-big-")
        subprocess.run([sys.executable, GEN, "--products", "2000", "--out",
                        os.path.join(d, "data")], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        _BIG["dir"] = d
    return os.path.join(_BIG["dir"], "data")


def tearDownModule():
    if "dir" in _BIG:
        shutil.rmtree(_BIG["dir"], True)


class ServeTest(ShopTest):
    def make_shop(self, schedule="on-demand", serve_extra=""):
        s = self.shop()
        s.sync["schedule"] = schedule
        s.sync["collect_emails"] = "yes"
        s.add_product("p1", name="Shirt", price="19.95")
        s.add_product("p2", name="Trousers", price="49.00")
        s.add("customers", id="c1", email="a@example.com", first_name="An")
        s.add_order("o1", [{"product_id": "p1"}],
                    created_at="2026-11-19T23:30:00Z")
        s.add_order("o2", [{"product_id": "p2"}],
                    created_at="2026-11-18T10:00:00Z")
        s.add_order("o3", [{"product_id": "p2"}], status="cancelled",
                    created_at="2026-11-18T11:00:00Z")
        s.feeds = {
            "clerk": {"template": "clerk", "access": "token"},
            "pub": {"template": "clerk", "output": "pub.json",
                    "collect_emails": "no", "access": "public"},
        }
        self.serve_extra = serve_extra
        return s

    def write(self, s, text=None):
        s.write_data()
        base = s.config_text() if text is None else text
        s.write_config(base + "\n[serve]\ntoken = env:POSFEED_TOKEN\n" +
                       self.serve_extra)

    def published(self, s, name):
        con = s.db()
        return con.execute("SELECT sha256, gz_sha256 FROM feeds WHERE "
                           "name = ?", (name,)).fetchone()


class Feeds(ServeTest):
    def setUp(self):
        self.s = self.make_shop()
        self.write(self.s)
        self.s.posfeed("run")
        self.srv = Server(self.s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def test_get_etag_and_conditional(self):
        srv = self.srv
        sha, gz_sha = self.published(self.s, "pub")
        st, h, body = srv.get("/feeds/pub.json")
        self.assertEqual(st, 200)
        self.assertEqual(h["etag"], '"%s"' % sha)
        self.assertEqual(hashlib.sha256(body).hexdigest(), sha)
        self.assertTrue(h["content-type"].startswith("application/json"))
        self.assertEqual(h["vary"], "Accept-Encoding")
        self.assertIn("no-cache", h["cache-control"])
        self.assertIn("GMT", h["last-modified"])
        self.assertEqual(int(h["content-length"]), len(body))
        json.loads(body)
        # If-None-Match: same tag, a list, a weak tag, "*" -> 304
        for inm in (h["etag"], '"x", ' + h["etag"], "W/" + h["etag"], "*"):
            st2, h2, b2 = srv.get("/feeds/pub.json", **{"If-None-Match":
                                                        inm})
            self.assertEqual(st2, 304, inm)
            self.assertEqual(b2, b"")
            self.assertEqual(h2["etag"], h["etag"])
            self.assertEqual(h2["vary"], "Accept-Encoding")
        st2, _, _ = srv.get("/feeds/pub.json", **{"If-None-Match": '"no"'})
        self.assertEqual(st2, 200)
        # If-Modified-Since only counts without If-None-Match.
        lm = h["last-modified"]
        self.assertEqual(srv.get("/feeds/pub.json",
                                 **{"If-Modified-Since": lm})[0], 304)
        self.assertEqual(srv.get("/feeds/pub.json",
                                 **{"If-Modified-Since": lm,
                                    "If-None-Match": '"other"'})[0], 200)
        self.assertEqual(srv.get("/feeds/pub.json", **{
            "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0], 200)

    def test_gzip_head_and_types(self):
        srv = self.srv
        sha, gz_sha = self.published(self.s, "pub")
        st, h, body = srv.get("/feeds/pub.json",
                              **{"Accept-Encoding": "br, gzip"})
        self.assertEqual(st, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["etag"], '"%s"' % gz_sha)
        self.assertNotEqual(gz_sha, sha)
        self.assertEqual(h["vary"], "Accept-Encoding")
        plain = json.loads(gzip.decompress(body))
        self.assertEqual(plain, self.s.feed("pub.json"))
        self.assertEqual(srv.get("/feeds/pub.json", **{
            "Accept-Encoding": "gzip", "If-None-Match": h["etag"]})[0], 304)
        # The gzip ETag does not validate the identity body.
        self.assertEqual(srv.get("/feeds/pub.json", **{
            "If-None-Match": h["etag"]})[0], 200)
        st, h2, _ = srv.get("/feeds/pub.json",
                            **{"Accept-Encoding": "gzip;q=0, br"})
        self.assertNotIn("content-encoding", h2)
        # HEAD: the same headers, no body.
        st, hh, body = srv.request("HEAD", "/feeds/pub.json")
        self.assertEqual(st, 200)
        self.assertEqual(body, b"")
        self.assertEqual(hh["etag"], '"%s"' % sha)
        self.assertEqual(int(hh["content-length"]),
                         os.path.getsize(self.s.feed_path("pub.json")))
        # The twin by its own name.
        st, h3, body = srv.get("/feeds/pub.json.gz")
        self.assertEqual(st, 200)
        self.assertEqual(h3["content-type"], "application/gzip")
        self.assertNotIn("content-encoding", h3)
        self.assertEqual(hashlib.sha256(body).hexdigest(), gz_sha)

    def test_token(self):
        srv = self.srv
        st, h, body = srv.get("/feeds/clerk.json")
        self.assertEqual(st, 401)
        self.assertIn("Bearer", h["www-authenticate"])
        self.assertNotIn(TOKEN.encode(), body)
        self.assertEqual(srv.get("/feeds/clerk.json", Authorization="Bearer "
                                 "wrong")[0], 401)
        self.assertEqual(srv.get("/feeds/clerk.json", Authorization="Bearer "
                                 + TOKEN[:-1])[0], 401)
        st, h, body = srv.get("/feeds/clerk.json",
                              Authorization="Bearer " + TOKEN)
        self.assertEqual(st, 200)
        self.assertIn("private", h["cache-control"])
        self.assertEqual(json.loads(body), self.s.feed("clerk.json"))
        basic = base64.b64encode(("clerk:" + TOKEN).encode()).decode()
        self.assertEqual(srv.get("/feeds/clerk.json",
                                 Authorization="Basic " + basic)[0], 200)
        bad = base64.b64encode(b"clerk:nope").decode()
        self.assertEqual(srv.get("/feeds/clerk.json",
                                 Authorization="Basic " + bad)[0], 401)
        self.assertEqual(srv.get("/feeds/clerk.json?token=" + TOKEN)[0],
                         200)
        self.assertEqual(srv.get("/feeds/clerk.json?token=x")[0], 401)
        self.assertEqual(srv.get("/feeds/clerk.json.gz")[0], 401)
        self.assertNotIn(TOKEN, srv.log())

    def test_not_found_and_traversal(self):
        srv = self.srv
        auth = {"Authorization": "Bearer " + TOKEN}
        for path in ("/feeds/nope.json", "/feeds/../posfeed.conf",
                     "/feeds/%2e%2e/posfeed.conf",
                     "/feeds/%2E%2E%2Fposfeed.conf",
                     "/feeds/..%2fposfeed.conf",
                     "/feeds/%252e%252e/posfeed.conf",
                     "/feeds/./pub.json", "/feeds//pub.json",
                     "/feeds/pub.json/", "/feeds/", "/feeds/..",
                     "/feeds/..\\posfeed.conf",
                     "/feeds//etc/passwd", "/feeds/store.db"):
            # Not a public feed: without the token the same 401 as a
            # token feed gets (no enumeration), with it 404.
            st, _, body = srv.get(path)
            self.assertEqual(st, 401, path)
            self.assertNotIn(b"[shop]", body)
            st, _, body = srv.get(path, **auth)
            self.assertEqual(st, 404, path)
            self.assertNotIn(b"[shop]", body)
        for path in ("/posfeed.conf", "/nope"):
            st, _, body = srv.get(path)
            self.assertEqual(st, 404, path)
            self.assertNotIn(b"[shop]", body)
        # A published name turned into a symlink out of feeds_dir.
        p = self.s.feed_path("pub.json")
        os.rename(p, p + ".real")
        os.symlink(os.path.join(self.s.dir, "posfeed.conf"), p)
        st, _, body = srv.get("/feeds/pub.json")
        self.assertEqual(st, 404)
        self.assertNotIn(b"[shop]", body)

    def test_methods(self):
        srv = self.srv
        for m, path, allow in (("POST", "/feeds/pub.json", "GET, HEAD"),
                               ("PUT", "/feeds/pub.json", "GET, HEAD"),
                               ("DELETE", "/", "GET, HEAD"),
                               ("POST", "/status.json", "GET, HEAD"),
                               ("GET", "/sync", "POST")):
            st, h, _ = srv.request(m, path, body=b"" if m != "GET" else None)
            self.assertEqual(st, 405, (m, path))
            self.assertEqual(h["allow"], allow)

    def test_health_metrics_status_json(self):
        srv = self.srv
        st, _, body = srv.get("/healthz")
        self.assertEqual((st, body), (200, b"ok\n"))
        srv.get("/nope")
        st, h, body = srv.get("/metrics",
                              Authorization="Bearer " + TOKEN)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        text = body.decode()
        for needle in ('posfeed_runs_total 1', 'posfeed_run_failures_total 0',
                       'posfeed_http_requests_total{code="404"} 1',
                       'posfeed_feed_bytes{feed="pub",encoding="gzip"}',
                       'posfeed_store_rows{table="products"} 2',
                       'posfeed_last_success_timestamp_seconds'):
            self.assertIn(needle, text)
        doc = srv.json("/status.json", Authorization="Bearer " + TOKEN)
        self.assertEqual(doc["shop"], "Test Shop")
        self.assertTrue(doc["detail"])
        self.assertEqual(sorted(f["name"] for f in doc["feeds"]),
                         ["clerk", "pub"])
        self.assertEqual(doc["serve"]["schedule"], "on-demand")
        self.assertIsNone(doc["serve"]["next_run"])
        days = doc["orders_per_day"]
        self.assertEqual(len(days), 30)
        self.assertEqual(days[-1]["date"], "2026-11-20")
        self.assertEqual(days[0]["date"], "2026-10-22")
        # 23:30Z on the 19th is 00:30 on the 20th in Amsterdam; the
        # cancelled order is not an accepted status.
        self.assertEqual(days[-1]["orders"], 1)
        self.assertEqual(days[-2]["orders"], 0)
        self.assertEqual(days[-3]["orders"], 1)

    def test_status_page(self):
        st, h, body = self.srv.get("/", Authorization="Bearer " + TOKEN)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        html = body.decode()
        for needle in ("Test Shop", "/feeds/pub.json", "/feeds/clerk.json",
                       "<svg", "Sync now", "on-demand", "Europe/Amsterdam"):
            self.assertIn(needle, html)
        self.assertEqual(html.count("<rect"), 30)
        self.assertNotIn("http://", html.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""))
        self.assertNotIn("https://", html.replace("https://shop.example",
                                                  ""))


# Appended to a saved copy of the detail page: the box of every label of
# the chart as Chromium lays it out, in the SVG's own units, written into
# the page for --dump-dom to carry out.
MEASURE = """<script>
(function () {
  var svg = document.querySelector('svg'), vb = svg.viewBox.baseVal;
  var out = {viewBox: [vb.x, vb.y, vb.width, vb.height], labels: []};
  svg.querySelectorAll('text').forEach(function (t) {
    var b = t.getBBox();
    out.labels.push({text: t.textContent, x: b.x, y: b.y, w: b.width,
                     h: b.height});
  });
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


class Screenshot(ServeTest):
    def chrome(self):
        chrome = chromium()
        if chrome is None:
            self.skipTest("chromium is not installed (Debian package "
                          "`chromium`); .ci/run installs it")
        return chrome

    def screenshot(self, chrome, s, url, png):
        r = subprocess.run(
            [chrome, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--disable-dev-shm-usage",
             "--user-data-dir=" + os.path.join(s.dir, "chrome-profile"),
             "--window-size=1000,900", "--screenshot=" + png, url],
            capture_output=True, timeout=90)
        self.assertTrue(os.path.exists(png), r.stderr.decode()[-2000:])
        with open(png, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        # Mostly-blank pages compress to almost nothing; a page with
        # tables (and a chart) does not.
        self.assertGreater(len(data), 10000)

    def test_status_page_in_chromium(self):
        chrome = self.chrome()
        s = self.make_shop()
        self.write(s)
        s.posfeed("run")
        srv = Server(s)
        self.screenshot(chrome, s, "http://127.0.0.1:%d/" % srv.port,
                        os.path.join(s.dir, "status.png"))
        self.assertEqual(srv.stop(), 0)

    def test_chart_labels_fit_and_never_overlap(self):
        # A 30-day chart with orders on its first and last days and a
        # busy day beside the last: as Chromium lays it out, every label
        # lies inside the viewBox and no two overlap.
        chrome = self.chrome()
        s = self.make_shop()
        s.add_order("first", [{"product_id": "p1"}],
                    created_at="2026-10-22T10:00:00Z")
        for i in range(120):
            s.add_order("busy%d" % i, [{"product_id": "p2"}],
                        created_at="2026-11-19T09:00:00Z")
        self.write(s)
        s.posfeed("run")
        srv = Server(s)
        st, _, body = srv.get("/", Authorization="Bearer " + TOKEN)
        self.assertEqual(st, 200)
        self.assertEqual(srv.stop(), 0)
        page = os.path.join(s.dir, "detail.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(body.decode().replace("</body>", MEASURE + "</body>"))
        self.screenshot(chrome, s, "file://" + page,
                        os.path.join(s.dir, "detail.png"))
        dom = chromium_dump_dom(chrome, os.path.join(s.dir, "chrome-dom"),
                                "file://" + page)
        m = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
        self.assertIsNotNone(m, dom[-2000:])
        got = json.loads(html.unescape(m.group(1)))
        vx, vy, vw, vh = got["viewBox"]
        labels = got["labels"]
        texts = [t["text"] for t in labels]
        for want in ("10-22", "11-20", "120"):
            self.assertIn(want, texts)
        # one order on the first day, on 11-18 and on the last day
        self.assertEqual(texts.count("1"), 3, texts)
        bad = []
        for i, a in enumerate(labels):
            if not (a["w"] > 0 and vx <= a["x"] and
                    a["x"] + a["w"] <= vx + vw and vy <= a["y"] and
                    a["y"] + a["h"] <= vy + vh):
                bad.append("cut by the viewBox: %r" % a)
            for b in labels[i + 1:]:
                if not (a["x"] + a["w"] <= b["x"] or
                        b["x"] + b["w"] <= a["x"] or
                        a["y"] + a["h"] <= b["y"] or
                        b["y"] + b["h"] <= a["y"]):
                    bad.append("overlap: %r and %r" % (a, b))
        self.assertEqual(bad, [])


class Runs(ServeTest):
    def big_shop(self, **kw):
        s = self.make_shop(**kw)
        shutil.rmtree(s.data)
        shutil.copytree(big_data(), s.data)
        s.feeds = {"pub": {"template": "clerk", "output": "pub.json",
                           "access": "public"}}
        s.write_config(s.config_text() +
                       "\n[serve]\ntoken = env:POSFEED_TOKEN\n")
        return s

    def test_trigger_409_and_run_record(self):
        s = self.big_shop()
        srv = Server(s)
        self.assertEqual(srv.sync(token=None)[0], 401)
        self.assertEqual(srv.sync(token="wrong")[0], 401)
        st, _, body = srv.sync()
        self.assertEqual(st, 202, body)
        rid = json.loads(body)["run"]
        st2, _, body2 = srv.sync()
        self.assertEqual(st2, 409, body2)
        self.assertEqual(json.loads(body2)["run"], rid)
        r = srv.wait_run(rid)
        self.assertEqual(r["state"], "ok", srv.log())
        self.assertEqual(r["store_run"]["result"], "ok")
        self.assertEqual(srv.get("/runs/999")[0], 404)
        self.assertEqual(srv.get("/runs/x")[0], 404)
        # The new feed is served once published.
        srv.wait_for(lambda: srv.get("/feeds/pub.json")[0] == 200,
                     what="feed served")
        st, _, body = srv.sync()
        self.assertEqual(st, 202)
        self.assertEqual(srv.wait_run(json.loads(body)["run"])["state"],
                         "ok")
        self.assertEqual(srv.stop(), 0)

    def test_failed_run_keeps_feed(self):
        s = self.make_shop()
        self.write(s)
        s.posfeed("run")
        before = s.feed("pub.json")
        srv = Server(s)
        # Break the source: the run fails, the published feed stays.
        shutil.rmtree(s.data)
        with open(s.data, "w") as f:
            f.write("not a folder")
        st, _, body = srv.sync()
        rid = json.loads(body)["run"]
        r = srv.wait_run(rid)
        self.assertEqual(r["state"], "failed")
        self.assertEqual(r["store_run"]["result"], "failed")
        # The error can name files: only the token shows it.
        self.assertNotIn("error", r["store_run"])
        r = srv.json("/runs/%d" % rid, Authorization="Bearer " + TOKEN)
        self.assertIn("error", r["store_run"])
        st, _, body = srv.get("/feeds/pub.json")
        self.assertEqual((st, json.loads(body)), (200, before))
        self.assertIn('posfeed_run_failures_total 1',
                      srv.get("/metrics")[2].decode())
        self.assertEqual(srv.stop(), 0)

    def test_fetch_loop_while_runs_publish(self):
        s = self.big_shop()
        s.posfeed("run")
        srv = Server(s)
        stop = threading.Event()
        seen = {"ok": 0, "bad": []}

        def fetch(enc):
            while not stop.is_set():
                hdr = {"Accept-Encoding": "gzip"} if enc else {}
                st, h, body = srv.get("/feeds/pub.json", **hdr)
                try:
                    self.assertEqual(st, 200)
                    self.assertEqual(len(body), int(h["content-length"]))
                    # A hash ETag always names the bytes sent.
                    tag = h["etag"].strip('"')
                    if len(tag) == 64:
                        self.assertEqual(hashlib.sha256(body).hexdigest(),
                                         tag)
                    # While a pair is half renamed the server falls back
                    # to identity, so trust the header, not the request.
                    if h.get("content-encoding") == "gzip":
                        body = gzip.decompress(body)
                    else:
                        self.assertNotIn("content-encoding", h)
                    doc = json.loads(body)
                    self.assertGreater(len(doc["products"]), 0)
                    seen["ok"] += 1
                except Exception as e:  # noqa: BLE001 - collected
                    seen["bad"].append(repr(e)[:200])

        threads = [threading.Thread(target=fetch, args=(e,))
                   for e in (False, True)]
        for t in threads:
            t.start()
        try:
            for i in range(3):
                # A changed file makes every run re-import and republish.
                with open(os.path.join(s.data, "products.ndjson"),
                          "a") as f:
                    f.write(json.dumps({"id": "extra-%d" % i,
                                        "name": "Extra"}) + "\n")
                with open(os.path.join(s.data, "variants.ndjson"),
                          "a") as f:
                    f.write(json.dumps({"id": "extra-%d-v" % i,
                                        "product_id": "extra-%d" % i,
                                        "price": "1.00"}) + "\n")
                st, _, body = srv.sync()
                self.assertEqual(st, 202, body)
                r = srv.wait_run(json.loads(body)["run"])
                self.assertEqual(r["state"], "ok", srv.log())
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(seen["bad"], [])
        self.assertGreater(seen["ok"], 5)
        self.assertEqual(srv.stop(), 0)

    def test_sigterm_during_run_then_restart(self):
        s = self.big_shop()
        srv = Server(s)
        st, _, body = srv.sync()
        self.assertEqual(st, 202)
        time.sleep(0.15)
        t0 = time.monotonic()
        self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.log())
        self.assertLess(time.monotonic() - t0, 30)
        con = s.db()
        rows = con.execute("SELECT result FROM runs").fetchall()
        con.close()
        self.assertNotIn(("running",), rows)
        # A clean restart completes a run and serves a whole feed.
        srv = Server(s)
        st, _, body = srv.sync()
        self.assertEqual(srv.wait_run(json.loads(body)["run"])["state"],
                         "ok", srv.log())
        st, _, body = srv.get("/feeds/pub.json")
        self.assertEqual(st, 200)
        self.assertGreater(len(json.loads(body)["products"]), 1000)
        leftovers = [n for n in os.listdir(os.path.join(s.dir, "feeds"))
                     if ".tmp-" in n]
        self.assertEqual(leftovers, [])
        self.assertEqual(srv.stop(signal.SIGINT), 0)


class Schedule(ServeTest):
    def scheduled(self, srv):
        return [r for r in srv.json("/status.json")["serve"]["runs"]
                if r["trigger"] == "schedule"]

    def test_daily_on_fall_back_day_runs_once(self):
        # 2026-10-25 in Amsterdam: 02:30 happens at 00:30Z (CEST) and
        # again at 01:30Z (CET). The clock runs 1200x: one hour is 3 s.
        s = self.make_shop(schedule="daily 02:30")
        self.write(s)
        # Start 10 simulated minutes (0.5 s) early: a loaded machine may
        # take longer than that to start the server.
        srv = Server(s, now="2026-10-25T00:20:00Z",
                     env={"POSFEED_SERVE_CLOCK_SPEED": "1200"})
        srv.wait_for(lambda: self.scheduled(srv), what="scheduled run")
        srv.wait_for(lambda: srv.json("/status.json")["serve"]["now"] >
                     "2026-10-25T01:40:00Z", what="clock past 01:40Z")
        runs = self.scheduled(srv)
        self.assertEqual(len(runs), 1, runs)
        self.assertEqual(srv.wait_run(runs[0]["id"])["state"], "ok")
        serve = srv.json("/status.json")["serve"]
        self.assertEqual(serve["next_run"], "2026-10-26T01:30:00Z")
        self.assertEqual(serve["next_run_local"],
                         "2026-10-26T02:30:00+01:00")
        self.assertEqual(srv.stop(), 0)

    def test_daily_on_spring_forward_day_runs_after_gap(self):
        # 2026-03-29: 02:30 does not exist; the run goes at 03:00 CEST.
        s = self.make_shop(schedule="daily 02:30")
        self.write(s)
        srv = Server(s, now="2026-03-29T00:50:00Z",
                     env={"POSFEED_SERVE_CLOCK_SPEED": "1200"})
        serve = srv.json("/status.json")["serve"]
        if serve["now"] < "2026-03-29T01:00:00Z":   # not loaded past it
            self.assertEqual(serve["next_run"], "2026-03-29T01:00:00Z")
        runs = srv.wait_for(lambda: self.scheduled(srv),
                            what="scheduled run")
        self.assertGreaterEqual(runs[0]["started"], "2026-03-29T01:00:00Z")
        self.assertEqual(srv.json("/status.json")["serve"]["next_run"],
                         "2026-03-30T00:30:00Z")
        self.assertEqual(srv.wait_run(runs[0]["id"])["state"], "ok")
        self.assertEqual(srv.stop(), 0)

    def test_every_interval(self):
        s = self.make_shop(schedule="every 10 minutes")
        self.write(s)
        srv = Server(s, env={"POSFEED_SERVE_CLOCK_SPEED": "1200"})
        srv.wait_for(lambda: len(self.scheduled(srv)) >= 2,
                     what="two interval runs")
        self.assertEqual(srv.stop(), 0)


    def test_every_interval_counts_from_the_last_run(self):
        # A run at 12:00; the server starts at 12:03: the next run is at
        # 12:10, not 12:13.
        s = self.make_shop(schedule="every 10 minutes")
        self.write(s)
        s.posfeed("run")
        srv = Server(s, now="2026-11-20T12:03:00Z")
        self.assertEqual(srv.json("/status.json")["serve"]["next_run"],
                         "2026-11-20T12:10:00Z")
        self.assertEqual(srv.stop(), 0)


class Signals(ServeTest):
    def test_sighup_good_and_bad_config(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        good = s.config_text()
        self.write(s, good.replace("Europe/Amsterdam", "Europe/Amsterdm"))
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: "reload refused" in srv.log(),
                     what="refused reload")
        self.assertIn("Europe/Amsterdm", srv.log())
        doc = srv.json("/status.json")
        self.assertEqual(doc["timezone"], "Europe/Amsterdam")
        s.sync["schedule"] = "every 2 hours"
        self.write(s)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: srv.json("/status.json")["serve"]["schedule"]
                     == "every 2 hours", what="reloaded schedule")
        self.assertEqual(srv.stop(), 0)

    def test_slow_clients_time_out_and_per_ip_limit(self):
        s = self.make_shop(serve_extra="timeout = 1\nper_ip_limit = 3\n")
        self.write(s)
        s.posfeed("run")
        srv = Server(s)
        stalled = []
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            c.sendall(b"GET /feeds/pub.json HTTP/1.1\r\nHost: x\r\n")
            stalled.append(c)
        time.sleep(0.2)
        # Over the per-IP limit: refused at once.
        extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            self.assertEqual(extra.recv(100), b"")
        except ConnectionResetError:
            pass
        extra.close()
        # The stalled ones are cut off after the timeout...
        t0 = time.monotonic()
        for c in stalled:
            try:
                self.assertEqual(c.recv(100), b"")
            except ConnectionResetError:
                pass
            c.close()
        self.assertLess(time.monotonic() - t0, 5)
        # ...and the server answers again, once it has released their
        # slots (the per-IP count drops when the library cleans a closed
        # connection up, a moment after the socket closes).
        def healthy():
            try:
                return srv.get("/healthz")[0] == 200
            except (ConnectionError, OSError):
                return False
        srv.wait_for(healthy, timeout=5, what="a slot for a new client")
        self.assertEqual(srv.stop(), 0)

    def test_bad_listen_and_arguments(self):
        s = self.make_shop()
        self.write(s)
        env = {"POSFEED_TOKEN": TOKEN}
        r = s.posfeed("serve", "--listen", "nonsense", expect=1, env=env)
        self.assertIn("--listen", r.stderr)
        r = s.posfeed("serve", "--frobnicate", expect=2, env=env)
        self.assertIn("--frobnicate", r.stderr)


if __name__ == "__main__":
    unittest.main()
