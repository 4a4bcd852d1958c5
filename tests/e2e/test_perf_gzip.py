"""The .gz twin of real feeds several MB long: a valid gzip stream (gzip -t,
Python's gzip module) of exactly the feed's bytes, its size and SHA-256
recorded in the feeds table, its mtime the feed's; and a build killed
while compressing leaves the published pair as it was."""
import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import time

from shop import BIN, REPO, NOW, ShopTest

FEEDS = {"clerk": "clerk.json", "google": "google.xml",
         "klaviyo-events": "klaviyo-events.ndjson"}
TEMPLATES = {"clerk": "clerk", "google": "google-shopping",
             "klaviyo-events": "klaviyo-events"}


def read(path):
    with open(path, "rb") as f:
        return f.read()


class GzipTwin(ShopTest):
    def setUp(self):
        self.s = self.shop()
        shutil.rmtree(self.s.data)
        subprocess.run(["python3", os.path.join(REPO, "tests",
                                                "gen_shop.py"),
                        "--products", "3000", "--out", self.s.data],
                       check=True, capture_output=True, timeout=120)
        self.s.sync.update(include_customers="yes", collect_emails="yes")
        self.configure(FEEDS)

    def configure(self, feeds):
        self.s.feeds = {name: {"template": TEMPLATES[name], "output": out,
                               "gzip": "yes"}
                        for name, out in feeds.items()}
        self.s.write_config()

    def assert_twin(self, name, out):
        path = self.s.feed_path(out)
        raw, gz = read(path), read(path + ".gz")
        self.assertGreater(len(raw), 2 << 20, out)
        subprocess.run(["gzip", "-t", path + ".gz"], check=True)
        self.assertEqual(gzip.decompress(gz), raw, out)
        row = self.s.db().execute(
            "SELECT bytes, sha256, gz_bytes, gz_sha256 FROM feeds "
            "WHERE name = ?", (name,)).fetchone()
        self.assertEqual(row, (len(raw), hashlib.sha256(raw).hexdigest(),
                               len(gz), hashlib.sha256(gz).hexdigest()))
        self.assertEqual(os.stat(path).st_mtime_ns,
                         os.stat(path + ".gz").st_mtime_ns)

    def test_twins_are_the_feeds(self):
        self.s.posfeed("sync")
        self.s.posfeed("build")
        for name, out in FEEDS.items():
            self.assert_twin(name, out)

    def gz_temp_started(self, deadline):
        """True once some twin's temp holds compressed bytes."""
        feeds = os.path.join(self.s.dir, "feeds")
        while time.monotonic() < deadline:
            for n in os.listdir(feeds):
                try:
                    if (".gz.tmp-" in n and
                            os.path.getsize(os.path.join(feeds, n)) > 0):
                        return True
                except FileNotFoundError:
                    pass
            time.sleep(0.002)
        return False

    def test_kill_while_compressing_keeps_the_pair(self):
        self.configure({"google": "google.xml"})
        self.s.posfeed("sync")
        self.s.posfeed("build")
        path = self.s.feed_path("google.xml")
        before = (read(path), read(path + ".gz"))
        # The killed build would publish other bytes (the channel title):
        # seeing the old pair means it published nothing.
        with open(os.path.join(self.s.dir, "posfeed.conf"), "r+") as f:
            text = f.read().replace("name = Test Shop", "name = Shop Two")
            f.seek(0)
            f.write(text)
            f.truncate()
        env = dict(os.environ, POSFEED_NOW=NOW,
                   POSFEED_TEMPLATES=os.path.join(REPO, "templates"))
        p = subprocess.Popen([BIN, "-q", "-c",
                              os.path.join(self.s.dir, "posfeed.conf"),
                              "build", "--force", "google"], env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        started = self.gz_temp_started(time.monotonic() + 60)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.assertTrue(started, "the build never wrote its twin's temp")
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertEqual((read(path), read(path + ".gz")), before)
        # The next build sweeps the killed one's temps and republishes.
        self.s.posfeed("build", "--force", "google")
        feeds = os.path.join(self.s.dir, "feeds")
        self.assertEqual([n for n in os.listdir(feeds) if ".tmp-" in n],
                         [])
        self.assert_twin("google", "google.xml")
        self.assertIn(b"<title>Shop Two</title>", read(path)[:400])
