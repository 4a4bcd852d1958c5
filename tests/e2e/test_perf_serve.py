"""`posfeed serve` answers from its feeds cache (issue 13, target 5): a
304 opens no file, a full response opens only the file it sends, and a
publish by another process (`posfeed build` while serve runs), a deleted
feed file or a twin that no longer pairs with its feed are picked up
within the documented second (docs/serving.md, "Caching"). Nothing here
times anything: the counters in /metrics say what was opened, and the
waits poll for a state with a generous limit."""
import gzip
import hashlib
import os
import unittest

from serve_util import TOKEN, Server, parse_metrics, series
from test_serve import ServeTest

AUTH = {"Authorization": "Bearer " + TOKEN}
GZ = {"Accept-Encoding": "gzip"}


class Cache(ServeTest):
    def setUp(self):
        self.s = self.make_shop()
        self.write(self.s)
        self.s.posfeed("run")
        # An old folder mtime: the cache treats a folder changed within
        # 50 ms of its look as changed again (file times are coarse), and
        # test_304_opens_no_file wants no refresh at all.
        os.utime(os.path.dirname(self.s.feed_path("pub.json")),
                 (946684800, 946684800))
        self.srv = Server(self.s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def opens(self):
        st, _, body = self.srv.get("/metrics", **AUTH)
        self.assertEqual(st, 200)
        fams = parse_metrics(body.decode())
        by = series(fams, "posfeed_feed_file_opens_total")
        refreshes = series(fams, "posfeed_feed_cache_refreshes_total")
        return (by[frozenset({("by", "request")})],
                by[frozenset({("by", "refresh")})],
                refreshes[frozenset()])

    def etag_becomes(self, want, **headers):
        def check():
            st, h, _ = self.srv.get("/feeds/pub.json", **headers)
            return st == 200 and h["etag"] == want
        self.srv.wait_for(check, timeout=20,
                          what="ETag %s to be served" % want)

    def test_304_opens_no_file(self):
        srv = self.srv
        st, h, _ = srv.get("/feeds/pub.json", **GZ)
        self.assertEqual((st, h["content-encoding"]), (200, "gzip"))
        st, hi, _ = srv.get("/feeds/pub.json")
        self.assertEqual(st, 200)
        before = self.opens()
        for _ in range(20):
            st, h2, b = srv.get("/feeds/pub.json", **dict(
                GZ, **{"If-None-Match": h["etag"]}))
            self.assertEqual((st, b, h2["etag"]), (304, b"", h["etag"]))
            self.assertEqual(h2["content-encoding"], "gzip")
            st, h2, _ = srv.get("/feeds/pub.json", **{
                "If-None-Match": hi["etag"]})
            self.assertEqual((st, h2["etag"]), (304, hi["etag"]))
            st, _, _ = srv.get("/feeds/pub.json", **{
                "If-Modified-Since": hi["last-modified"]})
            self.assertEqual(st, 304)
        # Nothing was published meanwhile: the cache was not re-read and
        # no request opened a file.
        self.assertEqual(self.opens(), before)
        # A full gzip response opens the twin only (not the feed too).
        st, h3, body = srv.get("/feeds/pub.json", **GZ)
        self.assertEqual((st, h3["etag"]), (200, h["etag"]))
        with open(self.s.feed_path("pub.json"), "rb") as f:
            self.assertEqual(gzip.decompress(body), f.read())
        after = self.opens()
        self.assertEqual(after[0], before[0] + 1)
        self.assertEqual(after[1:], before[1:])

    def test_republish_by_another_process(self):
        sha, gz_sha = self.published(self.s, "pub")
        self.etag_becomes('"%s"' % sha)
        refreshes = self.opens()[2]
        self.s.add_product("p3", name="Socks", price="4.50")
        self.s.write_data()
        self.s.posfeed("sync")
        self.s.posfeed("build")
        new, new_gz = self.published(self.s, "pub")
        self.assertNotEqual(new, sha)
        # Within the documented second (polled, not timed): the new tag
        # for a full response, and the old tag no longer gets a 304.
        self.etag_becomes('"%s"' % new)
        self.etag_becomes('"%s"' % new_gz, **GZ)
        st, h, body = self.srv.get("/feeds/pub.json", **{
            "If-None-Match": '"%s"' % sha})
        self.assertEqual((st, h["etag"]), (200, '"%s"' % new))
        self.assertEqual(hashlib.sha256(body).hexdigest(), new)
        self.assertIn(b"Socks", body)
        st, h, _ = self.srv.get("/feeds/pub.json", **{
            "If-None-Match": '"%s"' % new})
        self.assertEqual(st, 304)
        # The twin rules after the republish: the twin is sent gzip with
        # its own recorded hash, and is the same document.
        st, h, gz = self.srv.get("/feeds/pub.json", **GZ)
        self.assertEqual((st, h["content-encoding"], h["vary"]),
                         (200, "gzip", "Accept-Encoding"))
        self.assertEqual(hashlib.sha256(gz).hexdigest(), new_gz)
        self.assertEqual(gzip.decompress(gz), body)
        st, h, raw = self.srv.get("/feeds/pub.json.gz")
        self.assertEqual((st, h["etag"], raw), (200, '"%s"' % new_gz, gz))
        self.assertNotIn("content-encoding", h)
        self.assertGreater(self.opens()[2], refreshes)

    def test_twin_of_another_version_is_not_sent(self):
        sha, gz_sha = self.published(self.s, "pub")
        twin = self.s.feed_path("pub.json") + ".gz"
        st = os.stat(twin)
        # A twin whose mtime differs from its feed's (a publish between
        # its two renames) is another version: the feed goes out
        # uncompressed, under its own tag, at once and after a refresh.
        os.utime(twin, ns=(st.st_atime_ns, st.st_mtime_ns + 1000000000))
        for _ in range(3):
            r, h, body = self.srv.get("/feeds/pub.json", **GZ)
            self.assertEqual(r, 200)
            self.assertNotIn("content-encoding", h)
            self.assertEqual(h["etag"], '"%s"' % sha)
            self.assertEqual(hashlib.sha256(body).hexdigest(), sha)
        self.srv.wait_for(lambda: self.srv.get(
            "/feeds/pub.json", **dict(GZ, **{
                "If-None-Match": '"%s"' % sha}))[0] == 304,
            what="the refreshed cache to pick identity for gzip")

    def test_deleted_feed_file_is_404(self):
        sha, _ = self.published(self.s, "pub")
        os.unlink(self.s.feed_path("pub.json"))
        os.unlink(self.s.feed_path("pub.json") + ".gz")
        for headers in ({}, GZ):
            st, _, body = self.srv.get("/feeds/pub.json", **headers)
            self.assertEqual(st, 404)
            self.assertNotIn(b"Shirt", body)
        # Conditional requests too, once the cache has seen the folder
        # change (the documented second).
        self.srv.wait_for(lambda: self.srv.get("/feeds/pub.json", **{
            "If-None-Match": '"%s"' % sha})[0] == 404,
            what="a conditional request for a deleted feed to get 404")
        self.assertEqual(self.srv.get("/feeds/pub.json.gz")[0], 404)
        self.assertEqual(self.srv.get("/healthz")[0], 200)
        # Published again: served again.
        self.s.posfeed("build", "--force")
        new, _ = self.published(self.s, "pub")
        self.etag_becomes('"%s"' % new)


if __name__ == "__main__":
    unittest.main()
