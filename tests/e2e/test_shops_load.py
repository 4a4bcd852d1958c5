"""Many shops under load: 500 small file-source shops and four on the
Lightspeed Retail emulator in one `posfeed serve` (server config with
[serve] shops = DIR), every shop due "daily 03:00" within the test on a
sped-up server clock, two workers.

Checked: every shop runs once and publishes, and its feed is served
under /SHOP/feeds/ (its own, no other shop's); a shop with bad source
data fails alone; a shop whose API never answers is stopped at
run_timeout (recorded failed, "timed out") while the other worker keeps
draining the queue; SIGHUP in the middle of the drain adds and removes
shops while a client keeps downloading feeds; the server's RSS stays
flat: once every shop has run, published and been served, two equal
rounds of a fifth of the shops run with the downloads going on; the
first warms what a round uses, and the second never takes the server
more than 10% above the first's peak.

POSFEED_TEST_SHOPS sets the number of file shops (default 500; 100
under ASan, where each run is several times slower). The RSS bound is
not checked under ASan: its quarantine holds freed memory on purpose.
"""
import calendar
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from shop import BIN, REPO, product
from serve_util import TOKEN, Server, parse_metrics, series

EMU = os.path.join(REPO, "tests", "emulators", "lsr_emulator.py")
DATASET = os.path.join(REPO, "tests", "fixtures", "lsr", "dataset.json")
LSR_SECRET = "s3cret"
SPEED = 60                  # server seconds per real second
START = "2026-11-20T01:50:00Z"   # 03:00 Amsterdam is 02:00Z that day
ADMIN = {"Authorization": "Bearer " + TOKEN}
FEED = "products.json"   # public: catalog only


def sanitized():
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


# The hung run's limit: 10 s real at SPEED (20 under ASan, where the
# other worker's runs are slower), long enough for several runs of other
# shops to start and end while it hangs.
RUN_TIMEOUT_MIN = 20 if sanitized() else 10


def shop_count():
    v = os.environ.get("POSFEED_TEST_SHOPS")
    if v:
        return int(v)
    return 100 if sanitized() else 500


def jitter(name, window):
    """schedule_jitter() of src/schedule.c, to pick shop names that come
    due early or late in the window."""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & m
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & m
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & m
    h ^= h >> 31
    return h % window


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Root:
    """What serve_util.Server needs: a folder with posfeed.conf (here the
    server config) and the test case."""

    def __init__(self, tc, path):
        self.tc = tc
        self.dir = path


class Emulator:
    def __init__(self, tc):
        self.proc = subprocess.Popen(
            [sys.executable, EMU, "--dataset", DATASET],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        tc.addCleanup(self.stop)
        self.url = "http://127.0.0.1:%d" % int(self.proc.stdout.readline())

    def call(self, what, doc):
        req = urllib.request.Request(self.url + "/_emu/" + what,
                                     data=json.dumps(doc).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()


class ShopsLoad(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="posfeed-shops-load-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.shops_dir = os.path.join(self.root, "shops")
        os.mkdir(self.shops_dir)
        self.lsr_tokens = 0

    # -- shops -----------------------------------------------------------
    def state_dir(self, name):
        d = os.path.join(self.root, "state", name)
        os.makedirs(d, exist_ok=True)
        return d

    def write_conf(self, name, source_lines, schedule="daily 03:00"):
        d = self.state_dir(name)
        lines = ["[shop]", "name = Shop " + name,
                 "timezone = Europe/Amsterdam", "currency = EUR",
                 "url = https://%s.example" % name,
                 "store = " + os.path.join(d, "store.db"),
                 "feeds_dir = " + os.path.join(d, "feeds"), "",
                 "[source]"] + source_lines + [
                 "", "[sync]", "schedule = " + schedule,
                 "orders_lookback = all", "include_out_of_stock = yes",
                 "", "[feed products]", "template = clerk-products",
                 "output = " + FEED]
        path = os.path.join(self.shops_dir, name + ".conf")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(path + ".tmp", path)

    def file_shop(self, name, bad=False, schedule="daily 03:00"):
        data = os.path.join(self.state_dir(name), "data")
        os.makedirs(data, exist_ok=True)
        rows = {"locations": [{"id": "L1", "name": "Main"}],
                "products": [], "variants": [], "stock": []}
        for i in range(3):
            p, vs = product("%s-p%d" % (name, i),
                            name="Shirt %d of %s" % (i, name))
            rows["products"].append(p)
            rows["variants"] += vs
            rows["stock"].append({"variant_id": vs[0]["id"],
                                  "location_id": "L1", "quantity": 5})
        for entity, rs in rows.items():
            with open(os.path.join(data, entity + ".ndjson"), "w") as f:
                for r in rs:
                    f.write(json.dumps(r) + "\n")
        if bad:
            with open(os.path.join(data, "products.ndjson"), "a") as f:
                f.write('{"id": "broken", "name": \n')
        self.write_conf(name, ["type = file", "path = " + data],
                        schedule)

    def lsr_shop(self, name, emu, timeout="5"):
        d = self.state_dir(name)
        self.lsr_tokens += 1
        token = "rt-load-%d" % self.lsr_tokens
        emu.call("refresh_token", {"token": token})
        rt = os.path.join(d, "refresh_token")
        with open(rt, "w") as f:
            f.write(token + "\n")
        self.write_conf(name, [
            "type = lightspeed-retail", "account_id = 12345",
            "client_id = posfeed-test", "client_secret = env:LSR_SECRET",
            "refresh_token_file = " + rt, "api_url = " + emu.url,
            "token_url = " + emu.url + "/auth/oauth/token",
            "timeout = " + timeout, "retry_time = 30"])

    def feed_file(self, name):
        return os.path.join(self.root, "state", name, "feeds", FEED)

    def store_runs(self, name):
        path = os.path.join(self.root, "state", name, "store.db")
        if not os.path.exists(path):
            return []
        con = sqlite3.connect("file:%s?mode=ro" % path, uri=True,
                              timeout=10)
        try:
            return con.execute("SELECT result, coalesce(error, '') FROM "
                               "runs ORDER BY id").fetchall()
        finally:
            con.close()

    # -- server ------------------------------------------------------------
    def start_server(self, workers):
        with open(os.path.join(self.root, "posfeed.conf"), "w") as f:
            f.write("[serve]\nshops = shops\nworkers = %d\njitter = 15m\n"
                    "run_timeout = %dm\ntoken = env:POSFEED_TOKEN\n"
                    % (workers, RUN_TIMEOUT_MIN))
        return Server(Root(self, self.root), now=START,
                      env={"POSFEED_SERVE_CLOCK_SPEED": str(SPEED),
                           "LSR_SECRET": LSR_SECRET})

    def names_by_jitter(self, n):
        names = ["shop-%03d" % i for i in range(n)]
        return sorted(names, key=lambda s: jitter(s, 900))

    def test_500_shops(self):
        n = shop_count()
        by_jitter = self.names_by_jitter(n)
        # Early in the window: the failing shop and the two removed
        # after their run start while most of the queue is still ahead.
        # Late: the two removed before they come due.
        failing = by_jitter[0]
        removed_run = by_jitter[1:3]
        removed_unrun = by_jitter[-2:]
        removed = removed_run + removed_unrun
        good = [s for s in by_jitter if s != failing]
        for s in good:
            self.file_shop(s)
        self.file_shop(failing, bad=True)
        emu, emu_hang = Emulator(self), Emulator(self)
        lsr = ["lsr-%d" % i for i in range(3)]
        for s in lsr:
            self.lsr_shop(s, emu)
        # A hung source: every API request hangs for ten real minutes,
        # and the run's own HTTP timeout is longer than run_timeout. Its
        # name comes due in the first minute of the window.
        emu_hang.call("config", {"hang_s": 600})
        emu_hang.call("fault", {"path": "/API/", "kind": "hang",
                                "count": 1000})
        hung = next("hung-%d" % i for i in range(1000)
                    if jitter("hung-%d" % i, 900) < 60)
        self.lsr_shop(hung, emu_hang, timeout="600")
        srv = self.start_server(workers=2)
        live = [s for s in good if s not in removed]
        dl = Downloader(srv, live[:n // 2])
        mem = RssSampler(srv.proc.pid)
        dl.start()
        mem.start()
        self.addCleanup(dl.stop)
        self.addCleanup(mem.stop)

        # Under load: a fifth of the shops done, reload with changes.
        srv.wait_for(lambda: self.published(good) >= len(good) // 5,
                     timeout=120, what="a fifth of the shops published")
        for s in removed_run:
            self.assertTrue(os.path.exists(self.feed_file(s)), s)
        for s in removed:
            os.unlink(os.path.join(self.shops_dir, s + ".conf"))
        added = ["new-%d" % i for i in range(3)]
        for s in added:
            self.file_shop(s, schedule="on-demand")
        srv.proc.send_signal(signal.SIGHUP)
        for s in removed:
            srv.wait_for(lambda: srv.get("/%s/feeds/%s" % (s, FEED))[0]
                         in (401, 404), what="%s removed" % s)
        for s in added:
            st, _, body = srv.request("POST", "/%s/sync" % s, ADMIN)
            self.assertEqual(st, 202, body)

        every = live + lsr + added
        srv.wait_for(lambda: self.published(every) == len(every),
                     timeout=150, what="every live shop published")
        srv.wait_for(lambda: self.ended(hung) and self.ended(failing),
                     timeout=60, what="the hung and failing runs ended")
        self.check_feeds(srv, live + added, lsr)
        self.check_failures(srv, failing, hung, live)
        self.check_removed(srv, removed, removed_unrun)
        self.check_metrics(srv, n + 4)

        # RSS: every shop has run, published and been served once. Two
        # equal rounds of a fifth of them follow, downloads going on: the
        # first warms what a round uses (request threads' malloc arenas
        # first see /metrics polled here), the second must not take the
        # server more than 10% above the first's peak.
        again = live[:max(20, n // 5)]
        first = mem.mark()
        self.round(srv, again, 2)
        second = mem.mark()
        self.round(srv, again, 3)
        dl.stop()
        mem.stop()
        self.check_downloads(dl)
        self.check_rss(mem, first, second)
        self.assertEqual(srv.stop(), 0, srv.log()[-4000:])

    def round(self, srv, names, nth):
        """Runs names again (their nth run) through POST /SHOP/sync."""
        before = self.pool_ended(srv)
        for s in names:
            st, _, body = srv.request("POST", "/%s/sync" % s, ADMIN)
            self.assertEqual(st, 202, body)
        srv.wait_for(lambda: self.pool_ended(srv) >= before + len(names)
                     and self.pool_idle(srv), timeout=150,
                     what="round %d" % nth)
        for s in names:
            runs = self.store_runs(s)
            self.assertEqual([r[0] for r in runs], ["ok"] * nth,
                             "%s: %r\n%s" % (s, runs, self.log_of(srv, s)))

    # -- progress ------------------------------------------------------------
    def published(self, names):
        return sum(os.path.exists(self.feed_file(s)) for s in names)

    @staticmethod
    def log_of(srv, name):
        """The server log's lines about one shop."""
        return "\n".join(ln for ln in srv.log().splitlines()
                         if name in ln)[-3000:]

    def pool_ended(self, srv):
        fams = parse_metrics(srv.get("/metrics")[2].decode())
        return sum(series(fams, "posfeed_pool_runs_total").values())

    def pool_idle(self, srv):
        fams = parse_metrics(srv.get("/metrics")[2].decode())
        return (series(fams, "posfeed_pool_running")[frozenset()] == 0
                and series(fams, "posfeed_pool_queued")[frozenset()] == 0)

    def ended(self, name):
        runs = self.store_runs(name)
        return bool(runs) and runs[-1][0] != "running"

    # -- checks ------------------------------------------------------------
    def check_feeds(self, srv, file_shops, lsr):
        for s in file_shops:
            st, _, body = srv.get("/%s/feeds/%s" % (s, FEED))
            self.assertEqual(st, 200, s)
            self.assertIn(("Shirt 0 of %s" % s).encode(), body, s)
            with open(self.feed_file(s), "rb") as f:
                self.assertEqual(f.read(), body, s)
            self.assertEqual([r[0] for r in self.store_runs(s)], ["ok"],
                             s)
        for s in lsr:
            st, _, body = srv.get("/%s/feeds/%s" % (s, FEED))
            self.assertEqual(st, 200, s)
            self.assertTrue(json.loads(body), s)
            self.assertEqual(self.store_runs(s)[-1][0], "ok", s)

    def check_failures(self, srv, failing, hung, live):
        self.assertEqual(self.store_runs(failing)[-1][0], "failed")
        self.assertFalse(os.path.exists(self.feed_file(failing)))
        # Never published: not served (401: the server cannot know the
        # access of a feed it has never seen, so it asks for the token).
        self.assertIn(srv.get("/%s/feeds/%s" % (failing, FEED))[0],
                      (401, 404))
        result, error = self.store_runs(hung)[-1]
        self.assertEqual(result, "failed")
        self.assertIn("timed out", error)
        # While the hung run took one worker, the other went on: runs
        # of other shops started and ended inside its lifetime.
        h = self.last_run(srv, hung)
        self.assertEqual(h["state"], "failed", h)
        took = epoch(h["ended"]) - epoch(h["started"])
        self.assertGreaterEqual(took, RUN_TIMEOUT_MIN * 60)
        self.assertLess(took, RUN_TIMEOUT_MIN * 60 + 120)
        inside = 0
        for s in live:
            r = self.last_run(srv, s)
            if epoch(r["started"]) >= epoch(h["started"]) and \
                    epoch(r["ended"]) <= epoch(h["ended"]):
                inside += 1
        self.assertGreaterEqual(inside, 5)

    def last_run(self, srv, name):
        doc = srv.json("/%s/status.json" % name, **ADMIN)
        runs = doc["serve"]["runs"]
        self.assertTrue(runs, name)
        return max(runs, key=lambda r: r["id"])

    def check_removed(self, srv, removed, unrun):
        doc = json.dumps(srv.json("/status.json", **ADMIN))
        for s in removed:
            self.assertEqual(srv.get("/%s/status.json" % s, **ADMIN)[0],
                             404, s)
            self.assertNotIn('"%s"' % s, doc)
        # Removed before they came due: never run.
        for s in unrun:
            self.assertEqual(self.store_runs(s), [], s)

    def check_metrics(self, srv, runs):
        fams = parse_metrics(srv.get("/metrics")[2].decode())
        self.assertEqual(series(fams, "posfeed_pool_workers")
                         [frozenset()], 2)
        self.assertEqual(series(fams, "posfeed_pool_running")
                         [frozenset()], 0)
        self.assertEqual(series(fams, "posfeed_pool_queued")
                         [frozenset()], 0)
        total = sum(series(fams, "posfeed_pool_runs_total").values())
        self.assertGreaterEqual(total, runs)

    def check_downloads(self, dl):
        self.assertEqual(dl.errors, [])
        self.assertGreater(dl.ok, 50)

    def check_rss(self, mem, first, second):
        warm, measured = mem.samples[first:second], mem.samples[second:]
        self.assertGreater(len(measured), 4)
        if sanitized():
            return
        base, peak = max(warm), max(measured)
        self.assertLessEqual(peak, base * 1.10,
                             "RSS peak %d kB in the warm-up round, %d kB in "
                             "the next, equal one" % (base, peak))


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


class Downloader(threading.Thread):
    """Fetches random shops' feeds until stopped: each answer must be 200
    with that shop's own products, or 401/404 before its first publish
    (and never again after a 200)."""

    def __init__(self, srv, names):
        super().__init__(daemon=True)
        self.srv, self.names = srv, names
        self.ok, self.errors = 0, []
        self.served = set()
        self.halt = threading.Event()

    def run(self):
        rnd = random.Random(15)
        while not self.halt.is_set():
            s = rnd.choice(self.names)
            try:
                st, _, body = self.srv.get("/%s/feeds/%s" % (s, FEED))
            except OSError as e:
                self.errors.append((s, repr(e)))
                continue
            if st == 200 and ("Shirt 0 of %s" % s).encode() in body:
                self.ok += 1
                self.served.add(s)
            elif st not in (401, 404) or s in self.served:
                self.errors.append((s, st, body[:200]))

    def stop(self):
        self.halt.set()
        if self.is_alive():
            self.join(30)


class RssSampler(threading.Thread):
    """VmRSS in kB every quarter second."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def sample(self):
        kb = rss_kb(self.pid)
        with self.lock:
            self.samples.append(kb)

    def mark(self):
        """Takes a sample now; returns the index of the next one."""
        self.sample()
        with self.lock:
            return len(self.samples)

    def run(self):
        while not self.halt.wait(0.25):
            try:
                self.sample()
            except OSError:
                return

    def stop(self):
        self.halt.set()
        if self.is_alive():
            self.join(30)


if __name__ == "__main__":
    unittest.main()
