"""[publish]: a run uploads what it published to an S3-compatible bucket.

The bucket is a real s3rver (npm, tests/node; `npm ci` there, as .ci/run
does) on a free loopback port with a temp folder, behind
tests/emulators/s3_verify.py, which checks every request's SigV4
signature and payload hash itself (s3rver runs with
--allow-mismatched-signatures, so it would take any). What landed is read
back from s3rver directly and compared with the local feeds.

s3rver knows one access key id, S3RVER; its secret here is ours, and only
the verifier checks it.
"""
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from shop import BIN, NOW, REPO, Shop

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import s3_verify  # noqa: E402

S3RVER = os.path.join(REPO, "tests", "node", "node_modules", ".bin",
                      "s3rver")
BUCKET = "feeds"
ACCESS = "S3RVER"
SECRET = "s3-test-secret/Kq9+zz"


class S3rver:
    """s3rver on a free loopback port, with BUCKET, in a temp folder."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="posfeed-s3rver-")
        self.proc = subprocess.Popen(
            [S3RVER, "-d", self.dir, "-a", "127.0.0.1", "-p", "0",
             "--allow-mismatched-signatures", "--no-vhost-buckets",
             "--configure-bucket", BUCKET],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = ""
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if line == "" and self.proc.poll() is not None:
                break
        else:
            line = "timed out"
        if not hasattr(self, "port"):
            self.stop()
            raise RuntimeError("s3rver did not start: " + line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, True)

    def get(self, key):
        """(status, headers, body) of BUCKET/key, unsigned, from s3rver."""
        url = "http://127.0.0.1:%d/%s/%s" % (self.port, BUCKET, key)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in
                                  r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {}, e.read()


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def setUpModule():
    global SERVER
    SERVER = None
    if os.path.exists(S3RVER) and shutil.which("node"):
        SERVER = S3rver()


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


class Verifier(unittest.TestCase):
    """The verifier itself, on AWS's published example (GET Object with
    a Range, in the S3 SigV4 header-auth documentation cited in
    s3_verify.py)."""

    AKID = "AKIAIOSFODNN7EXAMPLE"
    KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    WANT = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

    def example(self):
        return {"host": "examplebucket.s3.amazonaws.com",
                "range": "bytes=0-9",
                "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
                "x-amz-date": "20130524T000000Z"}

    def test_signs_aws_example(self):
        h = self.example()
        auth = s3_verify.sign("GET", "/test.txt", h, self.AKID, self.KEY,
                              "us-east-1")
        self.assertTrue(auth.endswith("Signature=" + self.WANT), auth)
        h["authorization"] = auth
        self.assertIsNone(s3_verify.verify("GET", "/test.txt", h,
                                           {self.AKID: self.KEY},
                                           "us-east-1"))

    def test_refuses_tampered_and_wrong_secret(self):
        h = self.example()
        h["authorization"] = s3_verify.sign("GET", "/test.txt", h,
                                            self.AKID, self.KEY, "us-east-1")
        keys = {self.AKID: self.KEY}
        for change in ({"range": "bytes=0-99"},
                       {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}):
            t = dict(h, **change)
            bad = s3_verify.verify("GET", "/test.txt", t, keys, "us-east-1")
            self.assertEqual(bad[:2], (403, "SignatureDoesNotMatch"))
        bad = s3_verify.verify("GET", "/other.txt", h, keys, "us-east-1")
        self.assertEqual(bad[:2], (403, "SignatureDoesNotMatch"))
        bad = s3_verify.verify("GET", "/test.txt", h,
                               {self.AKID: self.KEY + "x"}, "us-east-1")
        self.assertEqual(bad[:2], (403, "SignatureDoesNotMatch"))
        bad = s3_verify.verify("GET", "/test.txt", h, {"OTHER": self.KEY},
                               "us-east-1")
        self.assertEqual(bad[:2], (403, "InvalidAccessKeyId"))


class Base(unittest.TestCase):
    def setUp(self):
        if SERVER is None:
            self.skipTest("s3rver is not installed: run `npm ci` in "
                          "tests/node (.ci/run does)")
        self.proxy = s3_verify.Verifier(SERVER.port, {ACCESS: SECRET})
        self.proxy.start()
        self.addCleanup(self.proxy.stop)
        self.prefix = "t%d-%s" % (os.getpid(), self._testMethodName)

    def shop(self, n=20, **publish):
        s = Shop(self)
        s.feeds = {"clerk": {"template": "clerk-products"}}
        for i in range(n):
            s.add_product("p%03d" % i, name="Mug %d" % i, price="9.50",
                          stock={"L1": 3})
        self.secret_file = os.path.join(s.dir, "s3.secret")
        with open(self.secret_file, "w") as f:
            f.write(SECRET + "\n")
        keys = {"url": "s3://%s/%s/" % (BUCKET, self.prefix),
                "endpoint": self.proxy.url,
                "access_key": "env:S3_ACCESS_KEY",
                "secret_key_file": "s3.secret"}
        keys.update(publish)
        s.publish = keys
        orig = s.config_text

        def text():
            return orig() + "\n[publish]\n" + "".join(
                "%s = %s\n" % kv for kv in s.publish.items())
        s.config_text = text
        return s

    def run_shop(self, s, *args, expect=0):
        s.write_data()
        s.write_config()
        return s.posfeed("run", *args, expect=expect,
                         env={"S3_ACCESS_KEY": ACCESS})

    def key(self, rel):
        return "%s/%s" % (self.prefix, rel)

    def puts(self):
        return [r for r in self.proxy.requests if r["method"] == "PUT"]

    def assert_same(self, s, rel):
        status, hdrs, body = SERVER.get(self.key(rel))
        self.assertEqual(status, 200, rel)
        self.assertEqual(body, read(s.feed_path(rel)), rel)
        return hdrs


class Upload(Base):
    def test_objects_equal_local_feeds_with_metadata(self):
        s = self.shop()
        s.feeds = {"clerk": {"template": "clerk-products"},
                   "google": {"template": "google-shopping"},
                   "products": {"template": "clerk-products",
                                "format": "ndjson", "gzip": "no"}}
        r = self.run_shop(s)
        self.assertIn("upload: 5 objects", r.stdout)
        want = {"clerk.json": ("application/json", None),
                "clerk.json.gz": ("application/json", "gzip"),
                "google.xml": ("application/xml", None),
                "google.xml.gz": ("application/xml", "gzip"),
                "products.ndjson": ("application/x-ndjson", None)}
        for rel, (ctype, enc) in want.items():
            hdrs = self.assert_same(s, rel)
            self.assertEqual(hdrs.get("content-type"), ctype, rel)
            self.assertEqual(hdrs.get("content-encoding"), enc, rel)
            self.assertEqual(hdrs.get("cache-control"),
                             "public, max-age=300", rel)
        self.assertEqual(SERVER.get(self.key("products.ndjson.gz"))[0], 404)
        # Every request was signed over its real payload hash.
        self.assertEqual(self.proxy.unsigned, 0)
        self.assertTrue(all(r["status"] == 200 for r in self.puts()))
        for r in self.puts():
            self.assertRegex(r["headers"]["x-amz-content-sha256"],
                             "^[0-9a-f]{64}$")
        with gzip.open(s.feed_path("clerk.json") + ".gz") as f:
            self.assertEqual(f.read(), read(s.feed_path("clerk.json")))

    def test_cache_control_and_virtual_prefix(self):
        s = self.shop(cache_control="public, max-age=60")
        self.run_shop(s)
        hdrs = self.assert_same(s, "clerk.json")
        self.assertEqual(hdrs.get("cache-control"), "public, max-age=60")

    def test_split_feed_index_last_and_stale_parts_go(self):
        s = self.shop(n=0)
        for i in range(3000):
            s.add_product("p%04d" % i, name="Product %d " % i + "x" * 600)
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc.json", "max_file_size": "1M"}}
        self.run_shop(s)
        index = json.loads(read(s.feed_path("kc.json.parts.json")))
        parts = [p["path"] for p in index["parts"]]
        self.assertGreaterEqual(len(parts), 3)
        paths = [r["path"].split("/", 3)[3] for r in self.puts()]
        self.assertEqual(paths[-1], "kc.json.parts.json")
        for p in parts:
            self.assert_same(s, p)
            self.assert_same(s, p + ".gz")
        self.assert_same(s, "kc.json.parts.json")
        # Every part (and twin) went up before the index.
        self.assertEqual(sorted(paths[:-1]),
                         sorted(parts + [p + ".gz" for p in parts]))
        # Fewer products: the index goes up, then the extra parts go.
        s.rows["products"] = s.rows["products"][:100]
        s.rows["variants"] = s.rows["variants"][:100]
        n_before = len(self.proxy.requests)
        self.run_shop(s, "--force")
        later = self.proxy.requests[n_before:]
        idx = max(i for i, r in enumerate(later)
                  if r["method"] == "PUT" and
                  r["path"].endswith("/kc.json.parts.json"))
        deletes = [i for i, r in enumerate(later) if r["method"] == "DELETE"]
        self.assertTrue(deletes)
        self.assertGreater(min(deletes), idx)
        for p in parts[1:]:
            self.assertEqual(SERVER.get(self.key(p))[0], 404, p)
            self.assertEqual(SERVER.get(self.key(p + ".gz"))[0], 404, p)
        self.assert_same(s, "kc.json")
        self.assert_same(s, "kc.json.parts.json")


def sha256_of(path):
    return hashlib.sha256(read(path)).hexdigest()


class Unchanged(Base):
    """A file the bucket already has (same bytes, same headers) is not
    uploaded again: the evidence is the bucket's side, the requests that
    reached it and its own files' modification times."""

    def stored(self, rel):
        """When s3rver last wrote the object (its file under its folder)."""
        return os.stat(os.path.join(
            SERVER.dir, BUCKET, self.prefix,
            rel + "._S3rver_object")).st_mtime_ns

    def since(self, n, method):
        """The object keys (under the prefix) of the requests of method
        after the first n."""
        head = "/%s/%s/" % (BUCKET, self.prefix)
        return [q["path"][len(head):] for q in self.proxy.requests[n:]
                if q["method"] == method]

    def forced_puts(self, s):
        """The keys a forced rebuild of s PUTs (nothing changed locally
        unless the test changed it)."""
        n = len(self.proxy.requests)
        self.run_shop(s, "--force")
        return self.since(n, "PUT")

    def out_of_band(self, method, rel, body=b"", headers=None):
        """A request straight to s3rver, as another tool would make."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d/%s/%s" % (SERVER.port, BUCKET,
                                           self.key(rel)),
            data=body if method == "PUT" else None, method=method,
            headers=headers or {})
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertLess(r.status, 300)

    def two_feeds(self, **publish):
        s = self.shop(**publish)
        s.add("categories", id="c1", name="Mugs")
        s.add("categories", id="c2", name="Cups")
        s.feeds = {"clerk": {"template": "clerk-products"},
                   "cats": {"template": "clerk-categories"}}
        return s

    FILES = ["clerk.json", "clerk.json.gz", "cats.json", "cats.json.gz"]

    def test_second_run_without_change_puts_nothing(self):
        s = self.two_feeds()
        r = self.run_shop(s)
        self.assertIn("upload: 4 objects", r.stdout)
        self.assertIn(", 0 unchanged", r.stdout)
        before = {rel: self.stored(rel) for rel in self.FILES}
        n = len(self.proxy.requests)
        time.sleep(0.05)
        r = self.run_shop(s)
        self.assertEqual(self.since(n, "PUT"), [])
        self.assertEqual(sorted(self.since(n, "HEAD")), sorted(self.FILES))
        self.assertEqual({rel: self.stored(rel) for rel in self.FILES},
                         before)
        for rel in self.FILES:
            self.assert_same(s, rel)
        self.assertIn("upload: 0 objects", r.stdout)
        self.assertIn(", 4 unchanged", r.stdout)
        self.assertIn("s3: feed 'clerk' unchanged in s3://feeds/%s/ "
                      "(2 objects, not uploaded)" % self.prefix, r.stderr)
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["runs"][0]["rows"]["publish.s3"], 0)
        self.assertEqual(st["runs"][0]["rows"]["publish.s3.unchanged"], 4)

    def test_changed_feed_uploaded_unchanged_feed_skipped(self):
        s = self.two_feeds()
        self.run_shop(s)
        before = {rel: self.stored(rel) for rel in self.FILES}
        n = len(self.proxy.requests)
        time.sleep(0.05)
        s.rows["products"][3]["name"] = "Renamed mug"
        r = self.run_shop(s)
        self.assertEqual(self.since(n, "PUT"),
                         ["clerk.json", "clerk.json.gz"])
        for rel in self.FILES:
            self.assert_same(s, rel)
        self.assertIn(b"Renamed mug", SERVER.get(self.key("clerk.json"))[2])
        self.assertNotEqual(self.stored("clerk.json"), before["clerk.json"])
        self.assertEqual(self.stored("cats.json"), before["cats.json"])
        self.assertEqual(self.stored("cats.json.gz"), before["cats.json.gz"])
        self.assertIn("upload: 2 objects", r.stdout)
        self.assertIn(", 2 unchanged", r.stdout)
        self.assertIn("s3: feed 'clerk' uploaded to s3://feeds/%s/ "
                      "(2 objects, 0 unchanged)" % self.prefix, r.stderr)
        self.assertIn("s3: feed 'cats' unchanged", r.stderr)

    def test_object_deleted_out_of_band_uploaded_again(self):
        s = self.shop()
        self.run_shop(s)
        self.out_of_band("DELETE", "clerk.json")
        self.assertEqual(SERVER.get(self.key("clerk.json"))[0], 404)
        n = len(self.proxy.requests)
        r = self.run_shop(s, "--force")
        self.assertEqual(self.since(n, "PUT"), ["clerk.json"])
        self.assert_same(s, "clerk.json")
        self.assertIn("(1 object, 1 unchanged)", r.stderr)

    def test_object_overwritten_out_of_band_uploaded_again(self):
        s = self.two_feeds()
        self.run_shop(s)
        # Other bytes without our metadata; and other bytes of the same
        # length whose recorded hash is not the file's. The two objects
        # left alone are not uploaded again.
        self.out_of_band("PUT", "clerk.json", b"[]",
                         {"Content-Type": "application/json",
                          "Cache-Control": "public, max-age=300"})
        gz = read(s.feed_path("cats.json.gz"))
        self.out_of_band("PUT", "cats.json.gz", bytes(len(gz)),
                         {"Content-Type": "application/json",
                          "Content-Encoding": "gzip",
                          "Cache-Control": "public, max-age=300",
                          "x-amz-meta-posfeed-sha256":
                              hashlib.sha256(b"other").hexdigest()})
        self.assertEqual(self.forced_puts(s),
                         ["clerk.json", "cats.json.gz"])
        for rel in self.FILES:
            self.assert_same(s, rel)

    def test_changed_cache_control_reaches_unchanged_files(self):
        s = self.shop()
        self.run_shop(s)
        s.publish["cache_control"] = "public, max-age=60"
        self.assertEqual(self.forced_puts(s),
                         ["clerk.json", "clerk.json.gz"])
        hdrs = self.assert_same(s, "clerk.json.gz")
        self.assertEqual(hdrs.get("cache-control"), "public, max-age=60")
        # Once the bucket has them so, they are left alone again.
        self.assertEqual(self.forced_puts(s), [])

    def test_failed_head_still_uploads(self):
        s = self.two_feeds(retries="0")
        self.run_shop(s)
        self.proxy.inject("HEAD", "/clerk.json", 500, "InternalError")
        self.proxy.inject("HEAD", "/clerk.json.gz", 403, "AccessDenied")
        n = len(self.proxy.requests)
        self.run_shop(s, "--force")
        # No answer to the HEAD: uploaded as if it had never been asked
        # (the HEAD is not retried); the other feed is left alone.
        heads = [q["status"] for q in self.proxy.requests[n:]
                 if q["method"] == "HEAD"]
        self.assertEqual(sorted(heads), [200, 200, 403, 500])
        self.assertEqual(self.since(n, "PUT"),
                         ["clerk.json", "clerk.json.gz"])
        for rel in self.FILES:
            self.assert_same(s, rel)

    def test_objects_carry_signed_sha256_metadata(self):
        s = self.shop()
        self.run_shop(s)
        puts = self.puts()
        self.assertEqual(len(puts), 2)
        for q in puts:
            rel = q["path"].rsplit("/", 1)[1]
            want = sha256_of(s.feed_path(rel))
            self.assertEqual(
                q["headers"].get("x-amz-meta-posfeed-sha256"), want, rel)
            self.assertIn("x-amz-meta-posfeed-sha256", q["signed"], rel)
            hdrs = self.assert_same(s, rel)
            self.assertEqual(hdrs.get("x-amz-meta-posfeed-sha256"), want,
                             rel)

    def test_split_feed_changed_part_then_index_last(self):
        s = self.shop(n=0)
        for i in range(3000):
            s.add_product("p%04d" % i, name="Product %d " % i + "x" * 600)
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc.json", "max_file_size": "1M"}}
        self.run_shop(s)
        parts = [p["path"] for p in json.loads(
            read(s.feed_path("kc.json.parts.json")))["parts"]]
        self.assertGreaterEqual(len(parts), 3)
        # The same length, so every part keeps its products: only the
        # last part changes, and the index that lists its hash.
        last = s.rows["products"][-1]
        last["name"] = last["name"].replace("Product", "Renamed")
        n = len(self.proxy.requests)
        self.run_shop(s)
        self.assertEqual([p["path"] for p in json.loads(
            read(s.feed_path("kc.json.parts.json")))["parts"]], parts)
        self.assertEqual(self.since(n, "PUT"),
                         [parts[-1], parts[-1] + ".gz",
                          "kc.json.parts.json"])
        self.assertEqual(self.since(n, "DELETE"), [])
        for p in parts:
            self.assert_same(s, p)
        self.assert_same(s, "kc.json.parts.json")


class Failures(Base):
    def test_failed_set_keeps_old_index_and_output(self):
        s = self.shop(n=0, retries="0")
        for i in range(3000):
            s.add_product("p%04d" % i, name="Product %d " % i + "x" * 600)
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc.json", "max_file_size": "1M"}}
        self.run_shop(s)
        old_index = SERVER.get(self.key("kc.json.parts.json"))[2]
        old_out = SERVER.get(self.key("kc.json"))[2]
        for p in s.rows["products"]:
            p["name"] = p["name"].replace("Product", "Renamed")
        self.proxy.inject("PUT", "/kc-2.json", 500, "InternalError")
        r = self.run_shop(s, expect=1)
        self.assertIn("kc-2.json", r.stderr)
        self.assertIn("HTTP 500 InternalError", r.stderr)
        # The index and the output (part 1, the URL a platform is given)
        # are still the previous run's: they go up after every other part.
        self.assertEqual(SERVER.get(self.key("kc.json.parts.json"))[2],
                         old_index)
        self.assertEqual(SERVER.get(self.key("kc.json"))[2], old_out)
        self.assertIn(b"Renamed", read(s.feed_path("kc.json")))
        # The next run that gets through puts the whole set up.
        self.run_shop(s)
        self.assert_same(s, "kc.json.parts.json")
        self.assert_same(s, "kc.json")

    def test_wrong_secret_refused_run_fails_old_objects_stay(self):
        s = self.shop()
        self.run_shop(s)
        old = SERVER.get(self.key("clerk.json"))[2]
        with open(self.secret_file, "w") as f:
            f.write("not-the-secret\n")
        s.add_product("new1", name="New mug")
        r = self.run_shop(s, expect=1)
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        self.assertIn("HTTP 403", r.stderr)
        self.assertIn("s3://feeds/%s/clerk.json" % self.prefix, r.stderr)
        refused = [q for q in self.proxy.requests if q["status"] == 403]
        # The HEAD before the PUT was refused too; the PUT went ahead
        # all the same, and was never retried.
        self.assertEqual([q["method"] for q in refused], ["HEAD", "PUT"])
        self.assertEqual(SERVER.get(self.key("clerk.json"))[2], old)
        # The local feed is published all the same.
        self.assertIn(b"New mug", read(s.feed_path("clerk.json")))
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["runs"][0]["result"], "failed")
        self.assertIn("SignatureDoesNotMatch", st["runs"][0]["error"])

    def test_5xx_and_slowdown_retried(self):
        s = self.shop(retries="3")
        self.proxy.inject("PUT", "/clerk.json", 500, "InternalError")
        self.proxy.inject("PUT", "/clerk.json", 503, "SlowDown")
        r = self.run_shop(s)
        self.assertIn("2 retried", r.stdout)
        got = [q["status"] for q in self.puts()
               if q["path"].endswith("/clerk.json")]
        self.assertEqual(got, [500, 503, 200])
        self.assert_same(s, "clerk.json")

    def test_retries_run_out(self):
        s = self.shop(retries="1")
        self.proxy.inject("PUT", "/clerk.json.gz", 503, "SlowDown",
                          count=5)
        r = self.run_shop(s, expect=1)
        self.assertIn("HTTP 503 SlowDown", r.stderr)
        self.assertIn("after 2 attempts", r.stderr)
        self.assertIn("clerk.json.gz", r.stderr)


class Access(Base):
    def orders_shop(self, **publish):
        s = self.shop(**publish)
        s.add_order("o1", [{"product_id": "p001", "variant_id": "p001-v"}])
        s.feeds = {"clerk": {"template": "clerk-products"},
                   "orders": {"template": "clerk-orders"}}
        return s

    def test_token_feed_not_uploaded_by_default(self):
        s = self.orders_shop()
        r = self.run_shop(s)
        self.assertIn("feed 'orders' has access = token", r.stderr)
        self.assertEqual(SERVER.get(self.key("orders.json"))[0], 404)
        self.assert_same(s, "clerk.json")
        c = s.posfeed("check", env={"S3_ACCESS_KEY": ACCESS})
        self.assertIn("[feed orders] has access = token", c.stderr)
        self.assertNotIn("[feed clerk] has", c.stderr)

    def test_token_feed_uploaded_private_when_asked(self):
        s = self.orders_shop(private_feeds="yes")
        self.run_shop(s)
        hdrs = self.assert_same(s, "orders.json")
        self.assertEqual(hdrs.get("cache-control"), "private, no-store")
        hdrs = self.assert_same(s, "clerk.json")
        self.assertEqual(hdrs.get("cache-control"), "public, max-age=300")


class Secrets(Base):
    def test_secret_never_in_argv_or_logs(self):
        s = self.shop()
        s.publish["secret_key"] = "env:S3_SECRET"
        del s.publish["secret_key_file"]
        s.write_data()
        s.write_config()
        # Slow the bucket down so the run can be watched while it uploads.
        self.proxy.inject("PUT", "/clerk.json", 503, "SlowDown", count=2)
        e = dict(os.environ, POSFEED_NOW=NOW, S3_ACCESS_KEY=ACCESS,
                 S3_SECRET=SECRET,
                 POSFEED_TEMPLATES=os.path.join(REPO, "templates"))
        p = subprocess.Popen([BIN, "-v", "-c",
                              os.path.join(s.dir, "posfeed.conf"), "run"],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=e)
        cmdlines = []
        while p.poll() is None:
            try:
                with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                    cmdlines.append(f.read())
            except OSError:
                pass
            time.sleep(0.02)
        out, err = p.communicate()
        self.assertEqual(p.returncode, 0, err)
        self.assertTrue(cmdlines)
        for c in cmdlines:
            self.assertNotIn(SECRET.encode(), c)
        self.assertNotIn(SECRET, out + err)
        self.assertIn("retrying", err)
        db = s.db()
        for (text,) in db.execute("SELECT coalesce(error, '') FROM runs "
                                  "UNION ALL SELECT message FROM "
                                  "run_warnings"):
            self.assertNotIn(SECRET, text)


class Config(unittest.TestCase):
    def check(self, publish, expect=2):
        s = Shop(self)
        s.write_data()
        text = s.config_text() + "\n[publish]\n" + publish
        s.write_config(text)
        return s.posfeed("check", expect=expect)

    def test_errors_name_file_and_line(self):
        base = "access_key = env:A\nsecret_key = env:B\n"
        cases = [
            ("url = s3://Bad_Bucket/x\n" + base, ":2[0-9]: url: 'Bad_Bucket'"),
            ("url = s3://ab/x\n" + base, "not a valid bucket name"),
            ("url = s3://192.168.1.1/x\n" + base, "not a valid bucket"),
            ("url = https://bucket/x\n" + base, "expected s3://BUCKET"),
            ("url = s3://feeds/../x\n" + base, "the prefix"),
            ("url = s3://feeds\nendpoint = http://10.0.0.5:9000\n" + base,
             "plain http:// is allowed only to this machine"),
            ("url = s3://feeds\nendpoint = https://h.example/path\n" + base,
             "without a path"),
            ("url = s3://feeds\nsecret_key = env:B\naccess_key = AKID\n",
             "secrets are not written in the config"),
            ("url = s3://feeds\naccess_key = env:A\n",
             "needs the bucket's credentials"),
            ("endpoint = https://h.example\n" + base, "needs url"),
            ("url = s3://feeds\nretries = 99\n" + base, "retries"),
            ("url = s3://feeds\nregoin = eu\n" + base,
             "did you mean 'region'"),
            ("url = s3://my.feeds\n" + base, "path_style = yes"),
        ]
        for text, want in cases:
            r = self.check(text)
            self.assertRegex(r.stderr, r"posfeed\.conf:\d+: ", text)
            self.assertRegex(r.stderr, want, text)

    def test_check_reads_secret_file_without_printing_it(self):
        r = self.check("url = s3://feeds/p\naccess_key_file = nope\n"
                       "secret_key = env:B\n")
        self.assertIn("access_key_file", r.stderr)
        self.assertIn("nope", r.stderr)
        s = Shop(self)
        s.write_data()
        for name, text in (("a.key", "AKIDCHECK\n"), ("s.key", "")):
            with open(os.path.join(s.dir, name), "w") as f:
                f.write(text)
        s.write_config(s.config_text() + "\n[publish]\nurl = s3://feeds\n"
                       "access_key_file = a.key\nsecret_key_file = s.key\n")
        r = s.posfeed("-v", "check", expect=2)
        self.assertRegex(r.stderr, r"posfeed\.conf:\d+: \[publish\] "
                         r"secret_key_file: .*s\.key is empty")
        with open(os.path.join(s.dir, "s.key"), "w") as f:
            f.write(SECRET + "\n")
        r = s.posfeed("-v", "check")
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertNotIn("AKIDCHECK", r.stdout + r.stderr)

    def test_ok_config(self):
        r = self.check("url = s3://feeds/p\naccess_key = env:A\n"
                       "secret_key = env:B\nendpoint = http://127.0.0.1:9\n",
                       expect=0)
        self.assertIn("[publish] uploads to s3://feeds/p/", r.stderr)
        self.assertIn("env:B: the variable is not set", r.stderr)


if __name__ == "__main__":
    unittest.main()
