"""Issue 14: Clerk.io's JSON Feed V2 live endpoints (/clerk/v2/ENTITY).

A Clerk-like importer (clerk_importer.py, its own parsing) syncs from a
running `posfeed serve`: full, then incremental with modified_after, and
the answers turn full when an upsert cannot say what happened (a
deletion, a product no longer shown). Paging keeps the first page's
snapshot across a sync. Tokens are checked with a Clerk verify emulator
(tests/emulators/clerk_verify.py). One test runs it all over HTTPS with
a CA made by openssl in the test.
"""
import calendar
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from shop import BIN, NOW, REPO, Shop
from serve_util import TOKEN, Server, parse_metrics, series
import clerk_importer
from clerk_importer import Importer, ImportFailed, HttpError

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import clerk_verify  # noqa: E402

KEY = "pk-test-store"
CLERK_TOKEN = "clerk-token-1"
T0 = calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ"))
FEEDS = {"cp": "clerk-products", "cc": "clerk-categories",
         "co": "clerk-orders", "cu": "clerk-customers"}
ENTITY_FEED = {"products": "cp.json", "categories": "cc.json",
               "orders": "co.json", "customers": "cu.json"}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class TlsServer(Server):
    """Server, over HTTPS: the start line names https://."""

    def __init__(self, shop, env=None):
        super().__init__(shop, env=env, scheme="https")


def make_ca(d):
    """A test CA and a certificate for 127.0.0.1 signed by it."""
    def ossl(*a):
        subprocess.run(["openssl"] + list(a), check=True,
                       capture_output=True, cwd=d)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=posfeed test CA")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key",
         "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
         "ca.key", "-CAcreateserial", "-days", "30", "-out", "srv.pem",
         "-extfile", "ext.cnf")
    return [os.path.join(d, n) for n in ("ca.pem", "srv.pem", "srv.key")]


class ClerkV2Test(unittest.TestCase):
    # -- the shop -------------------------------------------------------------
    def make_shop(self, n=12, **sync):
        s = Shop(self)
        s.sync["include_customers"] = "yes"
        s.sync["collect_emails"] = "yes"
        s.sync.update(sync)
        s.add("categories", id="c1", name="Shirts", url="/c/shirts")
        s.add("categories", id="c2", name="Mugs", url="/c/mugs")
        for i in range(1, n + 1):
            s.add_product("P%02d" % i, name="Product %d" % i,
                          price="%d.00" % (10 + i), stock={"L1": 5},
                          category_ids=["c1" if i % 2 else "c2"])
        s.add("customers", id="u1", email="ann@example.com", name="Ann")
        s.add("customers", id="u2", email="bob@example.com", name="Bob")
        s.add_order("O1", [{"product_id": "P01", "variant_id": "P01-v"}],
                    customer_id="u1")
        s.feeds = {k: {"template": v} for k, v in FEEDS.items()}
        self.verify = clerk_verify.Verify().start()
        self.addCleanup(self.verify.stop)
        self.verify.grant(KEY, CLERK_TOKEN)
        self.serve_keys = {"clerk_v2": "yes", "clerk_public_key": KEY,
                           "clerk_verify_url": self.verify.url()}
        return s

    def write(self, s, now=NOW, **serve):
        keys = dict(self.serve_keys)
        keys.update(serve)
        text = s.config_text() + "\n[serve]\ntoken = env:POSFEED_TOKEN\n"
        text += "".join("%s = %s\n" % kv for kv in keys.items())
        s.write_data()
        s.write_config(text)
        s.posfeed("run", env={"POSFEED_NOW": now})

    def product(self, s, pid):
        return next(p for p in s.rows["products"] if p["id"] == pid)

    def static(self, s, entity):
        return {o["id"]: o for o in s.feed(ENTITY_FEED[entity])}

    def importer(self, srv, token=CLERK_TOKEN, scheme="http", ca=None,
                 **kw):
        urls = {e: "%s://127.0.0.1:%d/clerk/v2/%s" % (scheme, srv.port, e)
                for e in ENTITY_FEED}
        clock = kw.pop("clock", None)
        imp = Importer(urls, token, ca_file=ca, **kw)
        if clock is not None:
            imp.clock = clock
        return imp

    def get(self, srv, path, token=CLERK_TOKEN, method="GET", **h):
        if token is not None:
            h["X-Clerk-Authorization"] = "Bearer " + token
        return srv.request(method, path, h)

    def page(self, srv, entity, page, limit, **q):
        q.update(limit=limit, page=page)
        qs = "&".join("%s=%s" % kv for kv in q.items())
        st, h, body = self.get(srv, "/clerk/v2/%s?%s" % (entity, qs))
        self.assertEqual(st, 200, body)
        return [json.loads(x) for x in body.decode().splitlines()]

    def assert_error(self, resp, code, word):
        st, h, body = resp
        self.assertEqual(st, code, body)
        self.assertEqual(h["content-type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(doc["error"]["code"], code)
        self.assertIn(word, doc["error"]["message"])
        self.assertNotIn(b'"id"', body)

    # -- full, then incremental -----------------------------------------------
    def test_full_then_incremental_equals_static_feeds(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        clock = [T0 + 300]
        imp = self.importer(srv, clock=lambda: clock[0], limit=5)
        done = imp.sync()
        for e in ENTITY_FEED:
            self.assertEqual(imp.mirror[e], self.static(s, e), e)
        self.assertEqual(done["products"], ("full", 12))
        self.assertEqual(len(imp.mirror["orders"]), 1)
        # Two products change; a later sync stamps them.
        self.product(s, "P03")["name"] = "Renamed"
        s.rows["stock"] = [r for r in s.rows["stock"]
                           if r["variant_id"] != "P07-v"]
        s.add("stock", variant_id="P07-v", location_id="L1", quantity=2)
        self.write(s, now=iso(T0 + 600))
        clock[0] = T0 + 900
        before = len(imp.log)
        done = imp.sync()
        self.assertEqual(done["products"], ("incremental", 2))
        got = {ln[0]: ln[3] for ln in imp.log[before:]}
        self.assertEqual(got["products"], 2)
        self.assertEqual(got["categories"], 0)
        self.assertEqual(got["orders"], 0)
        for e in ENTITY_FEED:
            self.assertEqual(imp.mirror[e], self.static(s, e), e)
        self.assertEqual(imp.mirror["products"]["P03"]["name"], "Renamed")
        self.assertEqual(imp.mirror["products"]["P07"]["stock"], 2)

    def test_delete_makes_the_answer_full(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        clock = [T0 + 300]
        imp = self.importer(srv, clock=lambda: clock[0])
        imp.sync()
        self.assertIn("P05", imp.mirror["products"])
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] != "P05"]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] != "P05"]
        self.write(s, now=iso(T0 + 600))
        clock[0] = T0 + 900
        done = imp.sync(["products"])
        self.assertEqual(done["products"], ("full", 11))
        self.assertNotIn("P05", imp.mirror["products"])
        self.assertEqual(imp.mirror["products"], self.static(s, "products"))

    def test_out_of_stock_hidden_makes_the_answer_full(self):
        s = self.make_shop(include_out_of_stock="no")
        self.write(s)
        srv = Server(s)
        clock = [T0 + 300]
        imp = self.importer(srv, clock=lambda: clock[0])
        imp.sync(["products"])
        self.assertIn("P04", imp.mirror["products"])
        s.rows["stock"] = [r for r in s.rows["stock"]
                           if r["variant_id"] != "P04-v"]
        s.add("stock", variant_id="P04-v", location_id="L1", quantity=0)
        self.write(s, now=iso(T0 + 600))
        clock[0] = T0 + 900
        st, h, _ = self.get(srv, "/clerk/v2/products?modified_after=%d" %
                            (T0 + 300), method="HEAD")
        self.assertEqual(h["x-posfeed-sync"], "full")
        done = imp.sync(["products"])
        self.assertEqual(done["products"][0], "full")
        self.assertNotIn("P04", imp.mirror["products"])
        self.assertEqual(imp.mirror["products"], self.static(s, "products"))

    def test_an_attribute_turning_into_a_list_makes_the_answer_full(self):
        """Whether "tags" renders as a list is decided over the whole
        catalog: P02 getting two tags changes P01's object too, though
        no row of P01 changed."""
        s = self.make_shop(custom_attributes="tags")
        self.product(s, "P01")["attributes"] = {"tags": "red"}
        self.product(s, "P02")["attributes"] = {"tags": "blue"}
        self.write(s)
        srv = Server(s)
        clock = [T0 + 300]
        imp = self.importer(srv, clock=lambda: clock[0])
        imp.sync(["products"])
        clock[0] = T0 + 900
        self.assertEqual(imp.sync(["products"])["products"][0],
                         "incremental")
        self.assertEqual(imp.mirror["products"]["P01"]["tags"], "red")
        self.product(s, "P02")["attributes"] = {"tags": ["blue", "big"]}
        self.write(s, now=iso(T0 + 1200))
        clock[0] = T0 + 1500
        done = imp.sync(["products"])
        self.assertEqual(done["products"][0], "full")
        self.assertEqual(imp.mirror["products"]["P01"]["tags"], ["red"])
        self.assertEqual(imp.mirror["products"], self.static(s, "products"))

    # -- paging --------------------------------------------------------------
    def test_paging_keeps_its_snapshot_across_a_sync(self):
        s = self.make_shop()
        self.write(s)
        first = [p["id"] for p in s.feed("cp.json")]
        srv = Server(s)
        got = self.page(srv, "products", 0, 3) + \
            self.page(srv, "products", 1, 3)
        # A sync commits: adds P13, changes P02 and P10, removes P11.
        s.add_product("P13", name="New", stock={"L1": 1})
        self.product(s, "P02")["name"] = "Changed"
        self.product(s, "P10")["name"] = "Changed too"
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] != "P11"]
        self.write(s, now=iso(T0 + 600))
        self.assertNotIn("P11", [p["id"] for p in s.feed("cp.json")])
        retry = self.page(srv, "products", 1, 3)
        self.assertEqual(retry, got[3:6])
        page = 2
        while True:
            objs = self.page(srv, "products", page, 3)
            got += objs
            if len(objs) < 3:
                break
            page += 1
        ids = [p["id"] for p in got]
        self.assertEqual(ids, first)    # no duplicates, no gaps
        self.assertNotIn("Changed", [p["name"] for p in got])
        # A new first page reads the new snapshot.
        ids = [p["id"] for p in self.page(srv, "products", 0, 20)]
        self.assertIn("P13", ids)
        self.assertNotIn("P11", ids)
        # A session left open (a first page of 5) ends with the server,
        # cleanly (under ASan: no leak).
        self.page(srv, "products", 0, 5)
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_page_without_session_skips(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        static = s.feed("cp.json")
        self.assertEqual(self.page(srv, "products", 2, 3), static[6:9])
        self.assertIn("without a paging session", srv.log())
        self.assertEqual(self.page(srv, "products", 3, 3), static[9:12])
        # page base 1: the first page is 1.
        s2 = self.make_shop()
        self.write(s2, clerk_page_base="1")
        srv2 = Server(s2)
        self.assertEqual(self.page(srv2, "products", 1, 5),
                         s2.feed("cp.json")[:5])
        self.assert_error(self.get(srv2, "/clerk/v2/products?limit=5&"
                                   "page=0"), 400, "page")

    # -- auth -----------------------------------------------------------------
    def test_tokens_missing_bad_expired_are_403(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        self.verify.grant(KEY, "old", ttl=60)
        self.verify.expire(KEY, "old")
        self.verify.grant("another-key", "theirs")
        for e in ("products", "orders", "customers"):
            self.assert_error(self.get(srv, "/clerk/v2/" + e, token=None),
                              403, "X-Clerk-Authorization")
            for bad in ("nope", "old", "theirs"):
                self.assert_error(self.get(srv, "/clerk/v2/" + e,
                                           token=bad), 403, "not valid")
        body = [json.loads(b) for b in self.verify.seen]
        self.assertTrue(all(b["key"] == KEY for b in body))
        self.assertNotIn("nope", srv.log())
        # A refusal with HTTP 401 is a refusal too.
        self.verify.refuse_status = 401
        self.assert_error(self.get(srv, "/clerk/v2/products", token="x2"),
                          403, "not valid")
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_verify_down_is_503_never_open(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        for mode in ("503", "garbage", "down"):
            if mode == "down":
                self.verify.go_down()
            else:
                self.verify.mode = mode
            st, h, body = self.get(srv, "/clerk/v2/customers")
            self.assert_error((st, h, body), 503, "could not be verified")
            self.assertIn("retry-after", h)
            self.assertNotIn(b"ann@example.com", body)
        # The serve token still works, in either header.
        st, _, body = self.get(srv, "/clerk/v2/customers", token=TOKEN)
        self.assertEqual(st, 200)
        self.assertIn(b"ann@example.com", body)
        st, _, body = srv.request("GET", "/clerk/v2/customers",
                                  {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(st, 200)

    def test_slow_verify_cannot_take_every_thread(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        self.verify.mode = "hang"
        self.verify.hang_s = 3
        first = []
        t = threading.Thread(target=lambda: first.append(
            self.get(srv, "/clerk/v2/products", token="slow")[0]))
        t.start()
        srv.wait_for(lambda: self.verify.count() == 1, what="a verify")
        t0 = time.monotonic()
        self.assert_error(self.get(srv, "/clerk/v2/products", token="b"),
                          503, "could not be verified")
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(srv.get("/healthz")[0], 200)
        st, _, _ = self.get(srv, "/clerk/v2/products", token=TOKEN)
        self.assertEqual(st, 200)
        t.join()
        self.assertEqual(first, [403])
        self.assertEqual(self.verify.count(), 1)

    def test_verified_token_is_cached_within_the_ttl(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        for _ in range(5):
            self.assertEqual(self.get(srv, "/clerk/v2/products")[0], 200)
        self.assertEqual(self.verify.count(), 1)
        s2 = self.make_shop()
        self.write(s2, clerk_token_ttl="0")
        srv2 = Server(s2)
        for _ in range(3):
            self.assertEqual(self.get(srv2, "/clerk/v2/products")[0], 200)
        self.assertEqual(self.verify.count(), 3)

    # -- the request ----------------------------------------------------------
    def test_json_head_and_bad_parameters(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        st, h, body = self.get(srv, "/clerk/v2/products?format=json")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(json.loads(body), s.feed("cp.json"))
        st, h, body = self.get(srv, "/clerk/v2/products?format=json&"
                               "limit=5&page=9")
        self.assertEqual(json.loads(body), [])
        st, h, body = self.get(srv, "/clerk/v2/products")
        self.assertEqual(h["content-type"], "application/x-ndjson")
        self.assertEqual(h["cache-control"], "no-store")
        # From the run's answer file: its length is known.
        self.assertEqual(h["x-posfeed-answer"], "file")
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertTrue(body.endswith(b"\n"))
        st, h, body = self.get(srv, "/clerk/v2/products", method="HEAD")
        self.assertEqual((st, body), (200, b""))
        self.assertEqual(h["x-posfeed-sync"], "full")
        for q, name in (("limit=0", "limit"), ("limit=10001", "limit"),
                        ("limit=x", "limit"), ("limit=5&page=-1", "page"),
                        ("page=1", "page"), ("modified_after=1.5",
                                             "modified_after"),
                        ("modified_after=", "modified_after"),
                        ("limit=5&offset=a", "offset"),
                        ("limit=5&page=1&offset=5", "offset")):
            self.assert_error(self.get(srv, "/clerk/v2/products?" + q),
                              400, name)
        self.assertEqual(self.get(srv, "/clerk/v2/products?limit=5&"
                                  "unknown=1")[0], 200)
        self.assertEqual(self.get(srv, "/clerk/v2/nothing")[0], 404)
        self.assertEqual(self.get(srv, "/clerk/v2/products",
                                  method="POST")[0], 405)
        # offset pages like page.
        st, _, body = self.get(srv, "/clerk/v2/products?limit=4&offset=4")
        self.assertEqual([json.loads(x) for x in body.splitlines()],
                         s.feed("cp.json")[4:8])

    # -- full answers from the run's answer file -----------------------------
    def answer_path(self, s, entity):
        return os.path.join(s.dir, "feeds", ".clerk-v2", entity + ".answer")

    def live_and_file(self, s, srv, path):
        """The answer to path from the answer file, then live (the files
        moved away), as (headers, body) pairs; the files are put back."""
        st, hf, bf = self.get(srv, path)
        self.assertEqual(st, 200, bf)
        d = os.path.join(s.dir, "feeds", ".clerk-v2")
        os.rename(d, d + ".away")
        try:
            # Another token: another paging session (a session keeps its
            # file).
            st, hl, bl = self.get(srv, path, token=TOKEN)
            self.assertEqual(st, 200, bl)
        finally:
            os.rename(d + ".away", d)
        return (hf, bf), (hl, bl)

    def test_full_answers_from_the_run_file_are_the_live_bytes(self):
        s = self.make_shop(n=23)
        self.write(s)
        srv = Server(s)
        for e in ("products", "categories", "orders", "customers",
                  "pages"):
            self.assertTrue(os.path.exists(self.answer_path(s, e)), e)
        # Answers at several page sizes: the file's bytes are the live
        # answer's, byte for byte, NDJSON and JSON.
        paths = ["/clerk/v2/%s%s" % (e, q) for e in ENTITY_FEED
                 for q in ("", "?format=json", "?limit=5&page=0",
                           "?limit=5&page=4", "?limit=5&page=9",
                           "?limit=4&offset=3&format=json",
                           "?limit=5&page=9&format=json")]
        for path in paths:
            (hf, bf), (hl, bl) = self.live_and_file(s, srv, path)
            self.assertEqual(hf["x-posfeed-answer"], "file", path)
            self.assertEqual(hl["x-posfeed-answer"], "live", path)
            self.assertEqual(bf, bl, path)
            self.assertEqual(hf["content-type"], hl["content-type"], path)
        st, h, body = self.get(srv, "/clerk/v2/products?format=json")
        self.assertEqual(json.loads(body), s.feed("cp.json"))
        # Paging from the file keeps the file: a run that replaces it
        # meanwhile changes no page of the session.
        got = self.page(srv, "products", 0, 10)
        self.product(s, "P15")["name"] = "Changed"
        self.write(s, now=iso(T0 + 600))
        got += self.page(srv, "products", 1, 10)
        got += self.page(srv, "products", 2, 10)
        self.assertEqual([p["id"] for p in got],
                         ["P%02d" % i for i in range(1, 24)])
        self.assertNotIn("Changed", [p["name"] for p in got])
        self.assertIn("Changed", [p["name"] for p in
                                  self.page(srv, "products", 0, 30)])
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_a_commit_after_the_file_makes_the_answer_live(self):
        """The file is never sent stale: a sync (which writes no answer
        file) commits a change, and the next full answer is rendered
        live, with the change; the next run writes a new file."""
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        st, h, body = self.get(srv, "/clerk/v2/products")
        self.assertEqual(h["x-posfeed-answer"], "file")
        self.product(s, "P03")["name"] = "Renamed"
        s.write_data()
        s.posfeed("sync", env={"POSFEED_NOW": NOW})
        st, h, body = self.get(srv, "/clerk/v2/products")
        self.assertEqual(h["x-posfeed-answer"], "live")
        objs = {o["id"]: o for o in map(json.loads, body.splitlines())}
        self.assertEqual(objs["P03"]["name"], "Renamed")
        # A forced-full incremental request likewise.
        st, h, body = self.get(srv, "/clerk/v2/products?modified_after=1")
        self.assertEqual(h["x-posfeed-answer"], "live")
        old = os.stat(self.answer_path(s, "products")).st_ino
        s.posfeed("run", env={"POSFEED_NOW": NOW})
        self.assertNotEqual(os.stat(self.answer_path(s, "products")).st_ino,
                            old)
        st, h, body2 = self.get(srv, "/clerk/v2/products")
        self.assertEqual(h["x-posfeed-answer"], "file")
        self.assertEqual(body2, body)
        # A run that changed nothing leaves the current file alone.
        new = os.stat(self.answer_path(s, "products")).st_ino
        s.posfeed("run", env={"POSFEED_NOW": NOW})
        self.assertEqual(os.stat(self.answer_path(s, "products")).st_ino,
                         new)
        # A new definition (another shop URL, on SIGHUP) is another
        # answer: live until a run writes it.
        self.assertIn(b"shop.example", body)
        with open(s.write_config(None)) as f:
            text = f.read()
        text = text.replace("https://shop.example", "https://new.example")
        text += "\n[serve]\ntoken = env:POSFEED_TOKEN\n"
        text += "".join("%s = %s\n" % kv for kv in self.serve_keys.items())
        s.write_config(text)
        srv.proc.send_signal(signal.SIGHUP)
        for _ in range(50):
            st, h, body3 = self.get(srv, "/clerk/v2/products")
            if h["x-posfeed-answer"] == "live":
                break
            time.sleep(0.1)
        self.assertEqual(h["x-posfeed-answer"], "live")
        self.assertIn(b"new.example", body3)
        self.assertNotIn(b"shop.example", body3)

    def test_incremental_pages_keep_what_deciding_the_mode_rendered(self):
        """Deciding that an answer is incremental renders its objects;
        the session keeps them, so its pages are those objects, across
        a sync, in NDJSON and JSON alike."""
        s = self.make_shop(n=20)
        self.write(s)
        srv = Server(s)
        # A first full answer (from the file) records the list
        # attributes its client has.
        st, h, _ = self.get(srv, "/clerk/v2/products")
        self.assertEqual(h["x-posfeed-answer"], "file")
        changed = ["P02", "P05", "P06", "P09", "P13", "P17", "P20"]
        for pid in changed:
            self.product(s, pid)["name"] = "New " + pid
        self.write(s, now=iso(T0 + 600))
        since = T0 + 300
        st, h, whole = self.get(srv, "/clerk/v2/products?modified_after=%d"
                                % since)
        self.assertEqual(h["x-posfeed-sync"], "incremental")
        objs = [json.loads(x) for x in whole.splitlines()]
        self.assertEqual([o["id"] for o in objs], changed)
        self.assertEqual(int(h["content-length"]), len(whole))
        st, h, js = self.get(srv, "/clerk/v2/products?format=json&"
                             "modified_after=%d" % since)
        self.assertEqual(json.loads(js), objs)
        got = self.page(srv, "products", 0, 3, modified_after=since)
        self.product(s, "P09")["name"] = "Newer"
        self.write(s, now=iso(T0 + 900))
        got += self.page(srv, "products", 1, 3, modified_after=since)
        got += self.page(srv, "products", 2, 3, modified_after=since)
        self.assertEqual(got, objs)
        self.assertEqual(self.page(srv, "products", 3, 3,
                                   modified_after=since), [])
        # A new first page sees the sync.
        names = [o["name"] for o in self.page(srv, "products", 0, 10,
                                                modified_after=since)]
        self.assertIn("Newer", names)
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_a_damaged_answer_file_is_rendered_live(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        path = self.answer_path(s, "products")
        with open(path, "rb") as f:
            good = f.read()
        want = s.feed("cp.json")

        def check(word):
            st, h, body = self.get(srv, "/clerk/v2/products?limit=5&"
                                   "page=1")
            self.assertEqual(st, 200, body)
            self.assertEqual(h["x-posfeed-answer"], "live", word)
            self.assertEqual([json.loads(x) for x in body.splitlines()],
                             want[5:10], word)
            self.assertIn(word, srv.log())
        # Cut short.
        with open(path, "wb") as f:
            f.write(good[:len(good) - 100])
        check("truncated")
        # An index whose offsets point inside objects.
        n = len(want)
        idx = len(good) - 8 * (n + 1)
        bad = bytearray(good)
        bad[idx + 8 * 5] = (bad[idx + 8 * 5] + 3) % 256
        with open(path, "wb") as f:
            f.write(bytes(bad))
        check("bad index")
        # Not an answer file at all.
        with open(path, "wb") as f:
            f.write(b"x" * len(good))
        check("bad header")
        with open(path, "wb") as f:
            f.write(good)
        st, h, body = self.get(srv, "/clerk/v2/products?limit=5&page=1")
        self.assertEqual(h["x-posfeed-answer"], "file")

    def test_off_is_404(self):
        s = self.make_shop()
        self.write(s, clerk_v2="no")
        srv = Server(s)
        for e in ENTITY_FEED:
            self.assertEqual(self.get(srv, "/clerk/v2/" + e,
                                      token=TOKEN)[0], 404)
        self.assertEqual(self.verify.count(), 0)

    def test_metrics_and_status(self):
        s = self.make_shop()
        self.write(s)
        srv = Server(s)
        imp = self.importer(srv, clock=lambda: T0 + 300, limit=5)
        imp.sync()
        self.get(srv, "/clerk/v2/products", token="bad")
        st, _, body = srv.get("/metrics")
        fams = parse_metrics(body.decode())
        ans = series(fams, "posfeed_clerk_v2_answers_total")
        self.assertEqual(ans[frozenset({("entity", "products"),
                                        ("sync", "full")})], 3)
        obj = series(fams, "posfeed_clerk_v2_objects_total")
        self.assertEqual(list(obj.values()), [12 + 2 + 1 + 2])
        tok = series(fams, "posfeed_clerk_v2_token_checks_total")
        self.assertEqual(tok[frozenset({("result", "refused")})], 1)
        self.assertEqual(tok[frozenset({("result", "ok")})], 6)
        st, _, body = srv.get("/")
        self.assertIn(b"Clerk.io live endpoints", body)
        doc = json.loads(srv.get("/status.json")[2])
        self.assertEqual(doc["clerk_v2"]["objects"], 17)

    # -- memory ---------------------------------------------------------------
    def test_answer_of_50k_products_streams(self):
        if os.environ.get("POSFEED_SKIP_SLOW"):
            self.skipTest("POSFEED_SKIP_SLOW")
        s = Shop(self)
        for i in range(50000):
            s.add_product("M%05d" % i, name="Product number %d" % i,
                          description="A longer text about product %d, "
                          "so the answer has some weight." % i,
                          stock={"L1": 3})
        s.write_data()
        self.verify = clerk_verify.Verify().start()
        self.addCleanup(self.verify.stop)
        s.feeds = {"cp": {"template": "clerk-products"}}
        s.write_config(s.config_text() + "\n[serve]\ntoken = env:"
                       "POSFEED_TOKEN\nclerk_v2 = yes\nclerk_public_key = "
                       "%s\nclerk_verify_url = %s\n" % (KEY,
                                                        self.verify.url()))
        s.posfeed("run", timeout=900)
        size = os.path.getsize(s.feed_path("cp.json"))
        srv = Server(s)
        self.get(srv, "/clerk/v2/products?limit=1", token=TOKEN)
        before = rss(srv.proc.pid)
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
        c.request("GET", "/clerk/v2/products",
                  headers={"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        n = 0
        for line in r:
            n += 1
        c.close()
        grew = hwm(srv.proc.pid) - before
        self.assertEqual(n, 50000)
        # ASan's quarantine keeps freed memory on purpose: the RSS of a
        # sanitized build says nothing about what the answer holds.
        if not sanitized():
            self.assertLess(grew, size / 4, "RSS grew %d for a %d-byte "
                            "answer" % (grew, size))

    # -- HTTPS -------------------------------------------------------------
    def test_importer_over_https_with_a_test_ca(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl not installed")
        s = self.make_shop()
        d = tempfile.mkdtemp(prefix="posfeed-ca-")
        self.addCleanup(shutil.rmtree, d, True)
        ca, cert, key = make_ca(d)
        self.write(s, tls_cert=cert, tls_key=key)
        srv = TlsServer(s)
        clock = [T0 + 300]
        imp = self.importer(srv, scheme="https", ca=ca, limit=4,
                            clock=lambda: clock[0])
        imp.sync()
        for e in ENTITY_FEED:
            self.assertEqual(imp.mirror[e], self.static(s, e), e)
        self.product(s, "P09")["name"] = "Over TLS"
        self.write(s, now=iso(T0 + 600), tls_cert=cert, tls_key=key)
        clock[0] = T0 + 900
        done = imp.sync()
        self.assertEqual(done["products"], ("incremental", 1))
        self.assertEqual(imp.mirror["products"], self.static(s, "products"))
        # Without the CA the importer refuses the server.
        bad = self.importer(srv, scheme="https", ca=None)
        with self.assertRaises(ssl.SSLError):
            bad.sync(["products"])


class ImporterRulesTest(unittest.TestCase):
    """The importer fails loudly on what Clerk would reject."""

    def test_rules(self):
        imp = Importer({"products": "http://x/"}, "t")
        good = {"id": 1, "name": "a", "description": "", "price": 1.5,
                "image": "", "url": "", "categories": []}
        imp.check("products", 0, good)
        for bad in ({"id": "2"}, dict(good, id="2"), dict(good, price="1"),
                    dict(good, **{"bad-name": 1}), dict(good, stock=None)):
            with self.assertRaises(ImportFailed):
                imp.check("products", 0, bad)
        with self.assertRaises(ImportFailed):
            clerk_importer.parse_body(b'{"id":1}', "application/x-ndjson",
                                      "p")


def sanitized():
    """1 if the posfeed under test is built with AddressSanitizer."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


def rss(pid):
    return _status(pid, "VmRSS")


def hwm(pid):
    return _status(pid, "VmHWM")


def _status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    unittest.main()
