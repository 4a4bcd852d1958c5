#!/usr/bin/env python3
"""The Lightspeed eCom benchmark: posfeed against lse_emulator.py.

Generates the bench shop (lse_data.bench_shop: 20k products, 60k
variants, 30k orders over 12 months by default), serves it with the real
limits (300 / 5 min, 3,000 / h, 12,000 / day) on windows scaled down in
time (--scale, default 0.002: 0.6 s / 7.2 s / 172.8 s), and runs
`posfeed sync` until the sync is complete: a run that used up the day's
quota stops, and the next run (after the day window reset) continues.
Then 1% of the variants get a new price, 1% a new stock level, 1% of
the orders a new status and 30 orders are added, and one incremental
sync runs.

For each phase it prints, per request kind (listing, per-record fetch,
count, id-only listing), the requests made against the minimum (a
listing: its pages of 250; a per-record fetch: one per record in
scope; counts and id-only listings: 0, they are planning and
reconciliation), the 429 answers (target 0), and the wall time against
the triple-window bound: the least time any client needs for that many
requests under the three windows. Figures come from the emulator's
request log. Also: the runs the sync needed (each after the first
continues once the day window reset) against the least any client needs
(the minimum requests / 12,000), and, with --time (GNU time), the peak
RSS of posfeed sync. Fails only when a sync fails.

    python3 tests/emulators/lse_bench.py [--bin build/posfeed]
        [--products N] [--variants N] [--orders N] [--scale X]
        [--latency S] [--root bench/lse] [--time /usr/bin/time]
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import lse_data  # noqa: E402

LIMITS = (300, 3000, 12000)
WINDOWS = (300, 3600, 86400)
PAGE = 250
# Per-record fetches: path shape -> the dataset list whose records are
# in scope.
PER_RECORD = {"orders/{id}/products": "orders",
              "products/{id}/images": "products",
              "products/{id}/filtervalues": "products",
              "products/{id}/attributes": "products",
              "shipments/{id}/products": "shipments"}


def window_bound(n, limits, windows):
    """Least seconds in which n requests fit the fixed windows: window i
    admits limits[i] requests, then the next waits for its reset."""
    if n <= 0:
        return 0.0
    return max((n - 1) // lim * length
               for lim, length in zip(limits, windows))


def kind(entry):
    """A log entry -> its request kind ("products", "products (ids)",
    "products/count", "orders/{id}/products", ...)."""
    path = re.sub(r"^/[^/]+/", "", entry["path"])
    path = re.sub(r"\.json$", "", path)
    path = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    if entry["query"].get("fields") == ["id"]:
        path += " (ids)"
    return path


def peak_rss(path):
    """GNU time -v output -> "Maximum resident set size" in kB."""
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if "Maximum resident set size" in ln:
                return int(ln.rsplit(":", 1)[1])
    raise SystemExit("%s: no peak RSS in the time -v output" % path)


def pages(n):
    return max(1, math.ceil(n / PAGE))


def tally(log):
    per = {}
    for e in log:
        k = kind(e)
        n, n429 = per.get(k, (0, 0))
        per[k] = (n + 1, n429 + (e["status"] == 429))
    return per


def minimum_for(k, rows):
    """rows: dataset list -> rows in scope for this phase."""
    if k.endswith(" (ids)") or k.endswith("/count") or \
            k in ("account/ratelimit", "languages"):
        return 0
    if k in PER_RECORD:
        return rows.get(PER_RECORD[k], 0)
    if k == "shop":
        return 1
    return pages(rows.get(k.replace("/", "_"), 0))


def report(title, log, rows, run, limits, windows):
    per = tally(log)
    total = sum(n for n, _ in per.values())
    n429 = sum(k for _, k in per.values())
    mins = {k: minimum_for(k, rows) for k in per}
    for k, n in rows.items():
        name = k.replace("_", "/")
        if name not in per and name in LISTINGS:
            mins[name] = pages(n)
    print("\n%s" % title)
    print("  %-28s %9s %9s %6s" % ("request kind", "requests", "minimum",
                                   "429s"))
    for k in sorted(mins):
        n, c = per.get(k, (0, 0))
        print("  %-28s %9d %9d %6d%s" % (k, n, mins[k], c,
                                         "  over" if n > mins[k] else ""))
    least = sum(mins.values())
    bound = window_bound(total, limits, windows)
    print("  %-28s %9d %9d %6d" % ("total", total, least, n429))
    print("  requests / minimum = %.2f; 429 answers: %d (target 0)"
          % (total / least if least else 0, n429))
    wall = run["wall"]
    print("  wall %.1f s; triple-window bound for %d requests %.1f s%s"
          % (wall, total, bound, "; wall / bound = %.2f" % (wall / bound)
             if bound else ""))
    # The Reset headers count whole seconds (as the real API's do), so
    # a client that waits what they say cannot beat windows rounded up;
    # at real scale the rounding is lost in the noise, scaled it is not.
    whole = tuple(float(math.ceil(w)) for w in windows)
    if whole != tuple(windows):
        wb = window_bound(total, limits, whole)
        print("  bound with whole-second Reset headers (windows %s s) "
              "%.1f s%s" % ("/".join("%g" % w for w in whole), wb,
                            "; wall / that = %.2f" % (wall / wb)
                            if wb else ""))
    # A run stops when the day's quota is used up; a run slower than the
    # day's rate (limit / scaled day) outlives its day window and goes
    # on in the next, so it can take fewer runs than day windows.
    print("  runs: %d, %d stopped on the day's quota; day windows the "
          "minimum requests need: %d (one run spans several when it "
          "makes fewer than %.0f requests/s)"
          % (run["runs"], run["runs"] - 1,
             max(1, math.ceil(least / limits[2])),
             limits[2] / windows[2]))
    if run["rss"]:
        print("  peak RSS of posfeed sync: %.1f MB (per run: %s)"
              % (max(run["rss"]) / 1024.0,
                 ", ".join("%.1f" % (k / 1024.0) for k in run["rss"])))
    for line in run["said"]:
        print("  posfeed says: %s" % line)
    return total, n429


LISTINGS = ("categories", "brands", "suppliers", "filters", "blogs",
            "products", "variants", "categories/products", "customers",
            "orders", "shipments", "returns", "reviews", "textpages",
            "blogs/articles")


def counts(path):
    """Rows per dataset list, streamed from the bench file (ids only)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    return out, doc


class Bench:
    def __init__(self, args):
        self.a = args
        self.root = os.path.abspath(args.root)
        os.makedirs(self.root, exist_ok=True)
        # A first sync starts from an empty store.
        for f in os.listdir(self.root):
            if f.startswith("store.db"):
                os.remove(os.path.join(self.root, f))
        self.windows = tuple(w * args.scale for w in WINDOWS)

    def ctl(self, what, doc=None):
        req = urllib.request.Request(
            self.url + "/_emu/" + what,
            data=None if doc is None else json.dumps(doc).encode(),
            method="GET" if doc is None else "POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.load(r)

    def start(self, data):
        self.emu = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "lse_emulator.py"),
             "--data", data, "--scale-windows", str(self.a.scale),
             "--latency", str(self.a.latency)],
            stdout=subprocess.PIPE, text=True)
        self.url = "http://127.0.0.1:%d" % int(self.emu.stdout.readline())

    def stop(self):
        self.emu.terminate()
        self.emu.wait(10)
        self.emu.stdout.close()

    def write_conf(self):
        conf = os.path.join(self.root, "posfeed.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("""[shop]
name = LSE bench
timezone = Europe/Amsterdam
currency = EUR
url = https://www.bench-shop.nl
store = store.db
feeds_dir = feeds

[source]
type = lightspeed-ecom
api_url = %s
language = nl
api_key = env:LSE_KEY
api_secret = env:LSE_SECRET

[sync]
orders_lookback = all
include_ratings = yes
include_pages = yes
""" % self.url)
        return conf

    def sync(self, conf):
        """posfeed sync until a run finishes without running out of the
        day's quota; returns {"wall": seconds, "runs": n, "rss": [peak
        kB per run, with --time], "said": posfeed's projection and
        per-run summary lines}."""
        env = dict(os.environ, LSE_KEY="key", LSE_SECRET="secret")
        t = time.monotonic()
        out = {"runs": 0, "rss": [], "said": []}
        tfile = os.path.join(self.root, "sync.time")
        while True:
            out["runs"] += 1
            runs = out["runs"]
            cmd = [self.a.bin, "-c", conf, "sync"]
            if self.a.time:
                cmd = [self.a.time, "-v", "-o", tfile] + cmd
            r = subprocess.run(cmd, env=env, capture_output=True,
                               text=True)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                raise SystemExit("posfeed sync failed (exit %d)"
                                 % r.returncode)
            if self.a.time:
                out["rss"].append(peak_rss(tfile))
            out["said"] += ["run %d: %s" % (runs, re.sub(r"^posfeed: ",
                                                         "", ln))
                            for ln in r.stderr.splitlines()
                            if "requests to make" in ln or
                            "lightspeed-ecom: " in ln]
            if "quota" not in r.stderr or "used up" not in r.stderr:
                out["wall"] = time.monotonic() - t
                return out
            if runs >= self.a.max_runs:
                raise SystemExit("sync not complete after %d runs" % runs)
            # The next run waits for the day window, as cron would.
            st = self.ctl("state")
            time.sleep(max(st["reset"][2], 0.1))

    def change(self, doc):
        """1% of variants: price; 1%: stock; 1% of orders: status; 30
        new orders. Returns rows in scope for the incremental run."""
        variants = [v["id"] for v in doc["variants"]]
        orders = [o["id"] for o in doc["orders"]]
        n = max(1, len(variants) // 100)
        step = max(1, len(variants) // n)
        ops = []
        for k in range(n):
            ops.append({"op": "set_price",
                        "args": [variants[k * step], 9.99]})
            ops.append({"op": "set_stock",
                        "args": [variants[(k * step + step // 2)
                                          % len(variants)], 42]})
        m = max(1, len(orders) // 100)
        ostep = max(1, len(orders) // m)
        for k in range(m):
            ops.append({"op": "set_order_status",
                        "args": [orders[k * ostep], "completed_shipped"]})
        for k in range(30):
            ops.append({"op": "add_order", "args": [
                {"status": "processing_awaiting_shipment", "customer": 1,
                 "email": "c1@bench.example", "priceIncl": 10.0},
                [{"product": 1 + k, "variant": 1, "quantityOrdered": 1,
                  "priceIncl": 10.0}]]})
        self.ctl("change", {"ops": ops})
        return {"variants": 2 * n, "orders": m + 30, "products": 0}

    def run(self):
        a = self.a
        data = os.path.join(self.root, "shop.json")
        t0 = time.monotonic()
        made = lse_data.bench_shop(data, products=a.products,
                                   variants=a.variants, orders=a.orders)
        print("lightspeed-ecom bench: %d products, %d variants, %d orders "
              "(%d lines), %d customers (dataset %.1f MB, generated in "
              "%.1f s)" % (made["products"], made["variants"],
                           made["orders"], made["orderProducts"],
                           made["customers"], os.path.getsize(data) / 1e6,
                           time.monotonic() - t0))
        print("emulator: limits %s per %s s (windows scaled by %g: one "
              "API day takes %g s), latency %g ms"
              % ("/".join(map(str, LIMITS)),
                 "/".join("%g" % w for w in self.windows), a.scale,
                 self.windows[2], a.latency * 1000))
        rows, doc = counts(data)
        rows = {k: v for k, v in rows.items()}
        rows["categories_products"] = rows.pop("categoriesProducts", 0)
        rows["blogs_articles"] = rows.pop("blogsArticles", 0)
        self.start(data)
        try:
            conf = self.write_conf()
            self.ctl("log/clear", {})
            run = self.sync(conf)
            report("full sync (%d run%s)" % (run["runs"], "s"
                                             if run["runs"] > 1 else ""),
                   self.ctl("log"), rows, run, LIMITS, self.windows)
            scope = self.change(doc)
            inc = {k: 0 for k in rows}
            inc.update(scope)
            # A fresh day for the incremental run, as a nightly cron has.
            self.ctl("limits/reset", {})
            self.ctl("log/clear", {})
            run = self.sync(conf)
            report("incremental sync after 1% of the variants changed "
                   "price, 1% stock, 1% of the orders status, 30 new "
                   "orders", self.ctl("log"), inc, run, LIMITS,
                   self.windows)
        finally:
            self.stop()
        print("\nlightspeed-ecom bench done in %.0f s"
              % (time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get(
        "POSFEED_BIN", os.path.join(REPO, "build", "posfeed")))
    ap.add_argument("--root", default=os.path.join(REPO, "bench", "lse"))
    ap.add_argument("--products", type=int, default=20000)
    ap.add_argument("--variants", type=int)
    ap.add_argument("--orders", type=int, default=30000)
    ap.add_argument("--scale", type=float, default=0.002)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--max-runs", type=int, default=20)
    ap.add_argument("--time", help="GNU time, for the peak RSS of sync")
    a = ap.parse_args()
    if a.variants is None:
        a.variants = 3 * a.products
    Bench(a).run()


if __name__ == "__main__":
    main()
