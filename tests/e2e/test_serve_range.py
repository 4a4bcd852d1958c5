"""`posfeed serve` answers Range requests (issue 8, item 8), so a broken
download of a large feed resumes: RFC 9110 section 14 (single byte
ranges, 206 with Content-Range, 416 with "bytes */SIZE", Accept-Ranges)
and section 13.1.5 (If-Range with the ETag)."""
import gzip
import json
import os
import socket
import unittest

from serve_util import TOKEN, Server
from test_serve import ServeTest


class Ranges(ServeTest):
    def setUp(self):
        s = self.s = self.make_shop()
        for i in range(400):
            s.add_product("x%03d" % i, name="Product number %d" % i,
                          price="%d.95" % (i + 1))
        self.write(s)
        s.posfeed("run")
        with open(s.feed_path("pub.json"), "rb") as f:
            self.body = f.read()
        with open(s.feed_path("pub.json") + ".gz", "rb") as f:
            self.gz = f.read()
        self.assertGreater(len(self.body), 30000)
        self.srv = Server(s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def rng(self, spec, **hdr):
        hdr["Range"] = spec
        return self.srv.get("/feeds/pub.json", **hdr)

    def test_single_ranges(self):
        n = len(self.body)
        st, h, full = self.srv.get("/feeds/pub.json")
        self.assertEqual((st, h["accept-ranges"]), (200, "bytes"))
        etag = h["etag"]
        # RFC 9110 section 14.1.2: first-last, first-, -suffix; a last
        # past the end or a suffix longer than the file is clipped.
        for spec, a, b in (("bytes=0-99", 0, 99), ("bytes=100-", 100, n - 1),
                           ("bytes=-500", n - 500, n - 1),
                           ("bytes=1000-1000", 1000, 1000),
                           ("bytes=10-999999999", 10, n - 1),
                           ("bytes=-999999999", 0, n - 1),
                           ("BYTES=5-6", 5, 6), ("bytes=5-6, ", 5, 6),
                           ("bytes=0-99999999999999999999999", 0, n - 1)):
            st, h, body = self.rng(spec)
            self.assertEqual(st, 206, spec)
            self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (a, b, n),
                             spec)
            self.assertEqual(int(h["content-length"]), b - a + 1)
            self.assertEqual(body, self.body[a:b + 1], spec)
            self.assertEqual(h["etag"], etag)
            self.assertEqual(h["accept-ranges"], "bytes")
            self.assertNotIn("content-encoding", h)

    def test_unsatisfiable_and_ignored(self):
        n = len(self.body)
        # Section 15.5.17: 416 with the current length.
        for spec in ("bytes=%d-" % n, "bytes=%d-%d" % (n + 5, n + 9),
                     "bytes=-0"):
            st, h, body = self.rng(spec)
            self.assertEqual(st, 416, spec)
            self.assertEqual(h["content-range"], "bytes */%d" % n)
            self.assertNotIn(self.body[:20], body)
        # Section 14.2: a server may ignore Range; a list of ranges, a
        # bad one or another unit gets the whole feed.
        for spec in ("bytes=0-1,5-6", "bytes=9-2", "items=0-5", "bytes=x-",
                     "bytes=", "bytes=1-2-3", "bytes = 0-5", "bytes=--5"):
            st, h, body = self.rng(spec)
            self.assertEqual((st, body == self.body), (200, True), spec)
            self.assertNotIn("content-range", h)
        # Only GET has ranges: HEAD gets 200.
        st, h, body = self.srv.request("HEAD", "/feeds/pub.json",
                                       {"Range": "bytes=0-9"})
        self.assertEqual((st, body, int(h["content-length"])), (200, b"", n))
        # A cache validator that matches wins (section 13.2.2).
        etag = self.srv.get("/feeds/pub.json")[1]["etag"]
        st, _, _ = self.rng("bytes=0-9", **{"If-None-Match": etag})
        self.assertEqual(st, 304)

    def test_gzip_representation(self):
        # Ranges count in the representation sent (section 14.1.1).
        n = len(self.gz)
        st, h, body = self.rng("bytes=10-19", **{"Accept-Encoding": "gzip"})
        self.assertEqual(st, 206)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["content-range"], "bytes 10-19/%d" % n)
        self.assertEqual(body, self.gz[10:20])
        st, h, body = self.srv.get("/feeds/pub.json.gz", Range="bytes=-4")
        self.assertEqual((st, body), (206, self.gz[-4:]))

    def test_if_range(self):
        st, h, _ = self.srv.get("/feeds/pub.json")
        etag, lm = h["etag"], h["last-modified"]
        st, _, body = self.rng("bytes=0-9", **{"If-Range": etag})
        self.assertEqual((st, body), (206, self.body[:10]))
        # Another version, a weak tag or a date: the whole feed (13.1.5).
        for v in ('"0000"', "W/" + etag, lm):
            st, _, body = self.rng("bytes=0-9", **{"If-Range": v})
            self.assertEqual((st, body == self.body), (200, True), v)

    def test_broken_download_resumes(self):
        st, h, _ = self.srv.request("HEAD", "/feeds/pub.json",
                                    {"Accept-Encoding": "gzip"})
        etag = h["etag"]
        # A download cut off part-way through...
        c = socket.create_connection(("127.0.0.1", self.srv.port),
                                     timeout=10)
        c.sendall(b"GET /feeds/pub.json HTTP/1.1\r\nHost: x\r\n"
                  b"Accept-Encoding: gzip\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) \
                < len(self.gz) // 2:
            got += c.recv(4096)
        c.close()
        part = got.split(b"\r\n\r\n", 1)[1][:len(self.gz) // 2]
        # ...resumes where it stopped, for the version it started with.
        st, h, rest = self.rng("bytes=%d-" % len(part),
                               **{"Accept-Encoding": "gzip",
                                  "If-Range": etag})
        self.assertEqual(st, 206)
        doc = json.loads(gzip.decompress(part + rest))
        self.assertEqual(doc, self.s.feed("pub.json"))

    def test_token_feed_range_needs_token(self):
        st, _, _ = self.srv.get("/feeds/clerk.json", Range="bytes=0-9")
        self.assertEqual(st, 401)
        st, _, body = self.srv.get("/feeds/clerk.json", Range="bytes=0-9",
                                   Authorization="Bearer " + TOKEN)
        self.assertEqual(st, 206)
        with open(self.s.feed_path("clerk.json"), "rb") as f:
            self.assertEqual(body, f.read(10))


if __name__ == "__main__":
    unittest.main()
