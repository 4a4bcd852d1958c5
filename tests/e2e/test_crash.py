"""kill -9 in the middle of a sync or a build: the rerun ends exactly where
an uninterrupted run ends, and no broken or half-written feed is ever
published."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

from shop import BIN, REPO, NOW, ShopTest

TABLES = ("locations", "categories", "products", "variants", "stock",
          "product_categories", "images", "attributes", "customers",
          "orders", "order_lines")


def dump(db):
    con = sqlite3.connect(db)
    out = {t: sorted(con.execute("SELECT * FROM %s" % t)) for t in TABLES}
    con.close()
    return out


class Crash(ShopTest):
    def setUp(self):
        self.s = self.shop()
        shutil.rmtree(self.s.data)
        subprocess.run(["python3", os.path.join(REPO, "tests",
                                                "gen_shop.py"),
                        "--products", "8000", "--out", self.s.data],
                       check=True, capture_output=True, timeout=120)
        self.s.write_config()
        self.env = dict(os.environ, POSFEED_NOW=NOW,
                        POSFEED_TEMPLATES=os.path.join(REPO, "templates"))

    def start(self, *args):
        return subprocess.Popen([BIN, "-q", "-c",
                                 os.path.join(self.s.dir, "posfeed.conf")]
                                + list(args), env=self.env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    @staticmethod
    def last_run(db):
        """The newest run id in the store, 0 when it has none (yet)."""
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True,
                                  timeout=0.1)
            try:
                return con.execute("SELECT coalesce(max(id), 0) "
                                   "FROM runs").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return 0

    def start_sync(self, db):
        """Starts a sync and waits until it has recorded its run, so a
        kill lands inside the import however loaded the machine is (a
        fixed delay could land before the schema exists)."""
        before = self.last_run(db)
        p = self.start("sync")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            if self.last_run(db) > before:
                return p
            time.sleep(0.005)
        self.fail("the sync did not start its run")

    def reference(self):
        """The store an uninterrupted sync of the same files ends with."""
        ref = os.path.join(self.s.dir, "ref")
        os.mkdir(ref)
        text = open(os.path.join(self.s.dir, "posfeed.conf")).read()
        text = text.replace("store = store.db", "store = ref/store.db")
        text = text.replace("feeds_dir = feeds", "feeds_dir = ref/feeds")
        conf = os.path.join(self.s.dir, "ref.conf")
        open(conf, "w").write(text)
        self.s.posfeed("-c", conf, "sync", config=False)
        return dump(os.path.join(ref, "store.db"))

    def test_kill_during_sync_then_rerun(self):
        want = self.reference()
        db = os.path.join(self.s.dir, "store.db")
        for delay in (0.0, 0.25, 0.6):
            p = self.start_sync(db)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            if delay == 0.0:
                # The kill must land mid-import for this test to mean
                # anything.
                self.assertNotEqual(dump(db), want)
        self.s.posfeed("sync")
        self.assertEqual(dump(db), want)
        # The killed runs are recorded as interrupted, not running.
        st = json.loads(self.s.posfeed("status", "--json").stdout)
        self.assertNotIn("running", [r["result"] for r in st["runs"]])

    def test_kill_during_build_never_publishes_a_broken_feed(self):
        self.s.posfeed("run")
        path = self.s.feed_path()
        good = open(path, "rb").read()
        json.loads(good)
        for delay in (0.05, 0.15, 0.3):
            p = self.start("build", "--force")
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            # Whatever is at the URL parses: the old feed or a new whole one.
            json.loads(open(path, "rb").read())
        self.s.posfeed("build")
        feeds = os.path.join(self.s.dir, "feeds")
        self.assertEqual([n for n in os.listdir(feeds) if ".tmp-" in n],
                         [])
        self.assertEqual(json.loads(open(path, "rb").read()),
                         json.loads(good))
