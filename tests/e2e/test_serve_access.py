"""`posfeed serve` without the token (issue 8, item 7, server side): the
status page, /status.json and /metrics show counts and times only (no
paths, no error texts, no sales, no token feeds); unknown names and token
feeds answer alike, byte for byte; a NUL in the request target is 400."""
import json
import os
import signal
import socket
import unittest

from serve_util import TOKEN, Server
from test_serve import ServeTest

AUTH = {"Authorization": "Bearer " + TOKEN}


def raw_request(port, data):
    """The whole response to one raw request, the Date line removed (it
    is the only header that may differ from one second to the next)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        c.sendall(data)
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        c.close()
    return b"\r\n".join(line for line in out.split(b"\r\n")
                        if not line.lower().startswith(b"date:"))


class Access(ServeTest):
    def setUp(self):
        s = self.s = self.make_shop()
        self.write(s)
        s.posfeed("run")
        # A failed run whose error names a file of the source.
        bad = os.path.join(s.data, "products.ndjson")
        os.remove(bad)
        os.mkdir(bad)
        r = s.posfeed("run", expect=None)
        self.assertNotEqual(r.returncode, 0)
        con = s.db()
        err = con.execute("SELECT error FROM runs WHERE result = "
                          "'failed'").fetchone()[0]
        con.close()
        self.assertIn(bad, err)
        self.srv = Server(s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def assert_no_secrets(self, text, what):
        for needle in (self.s.dir, "store.db", "clerk", "not a regular file",
                       "a@example.com"):
            self.assertNotIn(needle, text, what)

    def test_status_json_without_token(self):
        for hdr in ({}, {"Authorization": "Bearer wrong"}):
            st, _, body = self.srv.get("/status.json", **hdr)
            self.assertEqual(st, 200)
            self.assert_no_secrets(body.decode(), hdr)
            doc = json.loads(body)
            self.assertIs(doc["detail"], False)
            self.assertEqual(sorted(doc), [
                "counts", "detail", "feeds", "other_feeds", "runs", "serve",
                "shop", "timezone"])
            self.assertEqual(sorted(doc["counts"]), [
                "categories", "locations", "products", "stock",
                "variants"])
            self.assertEqual(doc["counts"]["products"], 2)
            self.assertEqual([f["name"] for f in doc["feeds"]], ["pub"])
            self.assertEqual(doc["feeds"][0]["url"], "/feeds/pub.json")
            self.assertEqual(sorted(doc["feeds"][0]), [
                "access", "build_seconds", "bytes", "gz_bytes", "items",
                "name", "path", "published", "url"])
            self.assertEqual(doc["other_feeds"], 1)
            self.assertEqual([r["result"] for r in doc["runs"]],
                             ["failed", "ok"])
            for r in doc["runs"]:
                self.assertLessEqual(set(r), {
                    "id", "kind", "started", "ended", "seconds", "result",
                    "warnings"})

    def test_status_json_with_token(self):
        doc = self.srv.json("/status.json", **AUTH)
        self.assertIs(doc["detail"], True)
        self.assertEqual(doc["store"], os.path.join(self.s.dir, "store.db"))
        self.assertEqual(doc["source_path"], self.s.data)
        self.assertEqual(sorted(f["name"] for f in doc["feeds"]),
                         ["clerk", "pub"])
        self.assertIn(self.s.data, doc["runs"][0]["error"])
        self.assertEqual(doc["counts"]["orders"], 3)
        self.assertEqual(len(doc["orders_per_day"]), 30)

    def test_page_and_metrics(self):
        st, _, body = self.srv.get("/")
        html = body.decode()
        self.assertEqual(st, 200)
        self.assert_no_secrets(html, "/")
        self.assertIn("/feeds/pub.json", html)
        self.assertIn("1 more feed needs the token", html)
        self.assertIn("Show detail", html)
        self.assertNotIn("<svg", html)
        st, _, body = self.srv.get("/", **AUTH)
        html = body.decode()
        for needle in ("/feeds/clerk.json", "<svg", self.s.data,
                       "not a regular file"):
            self.assertIn(needle, html)
        self.assertNotIn("Show detail", html)
        st, _, body = self.srv.get("/metrics")
        text = body.decode()
        self.assert_no_secrets(text, "/metrics")
        self.assertIn('posfeed_feed_items{feed="pub"} 4', text)
        self.assertIn('posfeed_store_rows{table="products"} 2', text)
        self.assertNotIn('table="orders"', text)
        self.assertIn("posfeed_run_failures_total 1", text)
        text = self.srv.get("/metrics", **AUTH)[2].decode()
        self.assertIn('posfeed_feed_items{feed="clerk"}', text)
        self.assertIn('posfeed_store_rows{table="orders"} 3', text)

    def test_no_enumeration(self):
        port = self.srv.port
        answers = set()
        for path in ("/feeds/clerk.json", "/feeds/clerk.json.gz",
                     "/feeds/nope.json", "/feeds/clerk.jso",
                     "/feeds/sub/clerk.json", "/feeds/../clerk.json"):
            for method in ("GET", "HEAD"):
                for extra in ("", "Authorization: Bearer wrong\r\n",
                              "Authorization: Basic Y2xlcms6bm9wZQ==\r\n"):
                    req = ("%s %s HTTP/1.1\r\nHost: x\r\n%s"
                           "Connection: close\r\n\r\n" % (method, path,
                                                          extra)).encode()
                    resp = raw_request(port, req)
                    self.assertTrue(resp.startswith(b"HTTP/1.1 401 "), resp)
                    answers.add((method, resp))
        # One answer per method, whatever the name (HEAD has no body).
        self.assertEqual(len(answers), 2, answers)
        self.assertEqual(self.srv.get("/feeds/nope.json?token=x")[0], 401)
        # With the token: unknown is 404, the token feed is served.
        self.assertEqual(self.srv.get("/feeds/nope.json", **AUTH)[0], 404)
        self.assertEqual(self.srv.get("/feeds/clerk.json", **AUTH)[0], 200)
        self.assertEqual(self.srv.get("/feeds/nope.json?token=" +
                                      TOKEN)[0], 404)

    def test_nul_in_target_is_400(self):
        for path in ("/feeds/pub.json%00", "/feeds/pub.json%00.txt",
                     "/feeds/%00pub.json", "/feeds/clerk.json%00",
                     "/%00", "/status.json%00x", "/healthz%00"):
            for hdr in ({}, AUTH):
                st, _, body = self.srv.get(path, **hdr)
                self.assertEqual(st, 400, (path, hdr))
                self.assertIn(b"NUL", body)
        # A raw NUL byte is refused too, not cut off.
        resp = raw_request(self.srv.port, b"GET /feeds/pub.json\x00.txt "
                           b"HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 400 "), resp)
        # An escaped NUL in the query is not in the path.
        self.assertEqual(self.srv.get("/feeds/pub.json?x=%00")[0], 200)


if __name__ == "__main__":
    unittest.main()


class AccessFromConfig(ServeTest):
    """A feed published as public and then made private in the config
    (by hand, or by a newer posfeed's defaults) needs the token at once,
    not only after its next build: serve applies the stricter of the
    published record and the config as it is now."""

    def test_config_made_private_before_the_next_build(self):
        s = self.make_shop()
        self.write(s)
        s.posfeed("run")
        srv = Server(s)
        self.assertEqual(srv.get("/feeds/pub.json")[0], 200)
        # Default access for a feed with orders: token. No build runs.
        del s.feeds["pub"]["access"]
        self.write(s)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: srv.get("/feeds/pub.json")[0] == 401,
                     what="pub.json behind the token")
        self.assertEqual(srv.get("/feeds/pub.json", **AUTH)[0], 200)
        con = s.db()
        rec = con.execute("SELECT access FROM feeds WHERE name = 'pub'")
        self.assertEqual(rec.fetchone()[0], "public")
        con.close()
        self.assertEqual(srv.stop(), 0)
