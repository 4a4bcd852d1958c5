#!/bin/sh
# make bench, part 3: the Lightspeed Retail source against the API emulator
# on loopback. An emulated shop (20k Items of which 15k in 5k matrices, 2
# shops, 5k customers, 50k sales) served with a fast drip rate and a fixed
# per-request latency; `posfeed sync` runs once in full and once more after
# 1% of the items changed (price) and 1% of the stock rows changed.
#
# Prints, per stream, requests against the minimum (ceil(rows/100) pages;
# for the incremental run the pages of changed rows + 1), 429 answers
# (target 0) and wall time against the rate-limit bound (sum of request
# costs / drip rate). Request counts come from the emulator's request log.
# Never fails on time; fails only when the sync itself fails.
#
#   LSR_DRIP=30 LSR_LATENCY=0.01 LSR_BURST=60 make bench
set -eu
cd "$(dirname "$0")/.."
root=$PWD/bench/lsr
BIN=${POSFEED_BIN:-$PWD/build/posfeed}
[ -x "$BIN" ] || BIN=$PWD/posfeed
rm -rf "$root"
mkdir -p "$root"

exec python3 - "$root" "$BIN" <<'PY'
import json, math, os, subprocess, sys, time, urllib.request

root, binary = sys.argv[1], sys.argv[2]
drip = float(os.environ.get("LSR_DRIP", "30"))
latency = float(os.environ.get("LSR_LATENCY", "0.01"))
burst = int(os.environ.get("LSR_BURST", "60"))
size = 90
emu_py = os.path.join("tests", "emulators", "lsr_emulator.py")
ds = os.path.join(root, "dataset.json")

t0 = time.monotonic()
subprocess.run([sys.executable, "tests/emulators/lsr_bench_data.py", ds],
               check=True)
with open(ds) as f:
    data = json.load(f)
print("lightspeed-retail bench: %d items (%d matrices), %d shops, %d "
      "customers, %d sales (dataset %.1f MB, generated in %.1f s)"
      % (len(data["Item"]), len(data["ItemMatrix"]), len(data["Shop"]),
         len(data["Customer"]), len(data["Sale"]),
         os.path.getsize(ds) / 1e6, time.monotonic() - t0))
print("emulator: drip %g/s, bucket %d, burst %d/s, latency %g ms per "
      "request" % (drip, size, burst, latency * 1000))

emu = subprocess.Popen([sys.executable, emu_py, "--dataset", ds,
                        "--drip", str(drip), "--size", str(size),
                        "--burst", str(burst), "--latency", str(latency)],
                       stdout=subprocess.PIPE, text=True)
port = int(emu.stdout.readline())
url = "http://127.0.0.1:%d" % port


def ctl(what, doc=None):
    req = urllib.request.Request(
        url + "/_emu/" + what,
        data=None if doc is None else json.dumps(doc).encode(),
        method="GET" if doc is None else "POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


with open(os.path.join(root, "refresh_token"), "w") as f:
    f.write("rt-initial\n")
with open(os.path.join(root, "posfeed.conf"), "w") as f:
    f.write("""[shop]
name = LSR bench
timezone = Europe/Amsterdam
currency = EUR
url = https://bench.example
store = store.db
feeds_dir = feeds

[source]
type = lightspeed-retail
account_id = 12345
client_id = posfeed-test
client_secret = env:LSR_SECRET
refresh_token_file = refresh_token
api_url = %s
token_url = %s/auth/oauth/token
timeout = 30
retry_time = 120

[sync]
orders_lookback = all
""" % (url, url))

STREAMS = ["Shop", "Category", "Manufacturer", "ItemAttributeSet",
           "ItemMatrix", "Item", "ItemShop", "Customer", "Sale", "ShipTo",
           "SaleVoid"]


def sync():
    env = dict(os.environ, LSR_SECRET="s3cret")
    t = time.monotonic()
    r = subprocess.run([binary, "-c",
                        os.path.join(root, "posfeed.conf"), "sync"],
                       env=env, capture_output=True, text=True)
    wall = time.monotonic() - t
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit("posfeed sync failed (exit %d)" % r.returncode)
    # posfeed's own summary line: requests, retries, 429s, time waited.
    said = [ln.split("lightspeed-retail: ", 1)[1] for ln in
            r.stderr.splitlines() if "lightspeed-retail: " in ln]
    return wall, said[-1] if said else "?"


def report(title, run, minimum, target_word):
    wall, said = run
    log = [e for e in ctl("log") if e["path"].startswith("/API/")]
    per = {}
    for e in log:
        s = e["path"].rsplit("/", 1)[-1].replace(".json", "")
        n, c, n429 = per.get(s, (0, 0.0, 0))
        per[s] = (n + 1, c + e["cost"], n429 + (e["status"] == 429))
    total = sum(v[0] for v in per.values())
    cost = sum(v[1] for v in per.values())
    n429 = sum(v[2] for v in per.values())
    print("\n%s" % title)
    print("  %-17s %9s %9s %6s %8s" % ("stream", "requests", target_word,
                                       "429s", "cost"))
    over = []
    for s in STREAMS:
        n, c, k = per.get(s, (0, 0.0, 0))
        print("  %-17s %9d %9d %6d %8.1f" % (s, n, minimum[s], k, c))
        if n > minimum[s]:
            over.append(s)
    print("  %-17s %9d %9d %6d %8.1f" % ("total", total,
                                         sum(minimum.values()), n429, cost))
    bound = cost / drip
    print("  wall %.1f s; rate-limit bound %.1f s (cost %.1f / drip %g); "
          "with the bucket's initial %d: %.1f s; wall / bound = %.2f"
          % (wall, bound, cost, drip, size, max(0.0, cost - size) / drip,
             wall / bound if bound else 0))
    print("  429 answers: %d (target 0); streams over %s: %s"
          % (n429, target_word, ", ".join(over) or "none"))
    print("  posfeed says: %s" % said)


def pages(n):
    return max(1, math.ceil(n / 100))


try:
    # Full run: every stream's rows, archived ones included.
    minimum = {s: pages(len(data.get(s, []))) for s in STREAMS}
    ctl("log/clear", {})
    report("full sync", sync(), minimum, "minimum")

    # 1% of the items get a new price, 1% of the stock rows a new count.
    n = len(data["Item"]) // 100
    step = len(data["Item"]) // n
    ops = []
    for k in range(n):
        i = 1 + k * step
        ops.append({"op": "upsert", "resource": "Item", "record": {
            "itemID": i, "Prices": [{"amount": "9.99", "useTypeID": 1,
                                     "useType": "Default"}]}})
        ops.append({"op": "upsert", "resource": "ItemShop", "record": {
            "itemShopID": i * 3 + 1, "qoh": 42}})
    ctl("change", {"ops": ops})
    ctl("log/clear", {})
    run = sync()
    changed = {s: 0 for s in STREAMS}
    changed["Item"] = changed["ItemShop"] = n
    # Snapshot streams are read whole (one page each here); incremental
    # ones may ask for the changed rows' pages plus one.
    target = {}
    for s in STREAMS:
        if s in ("Shop", "Category", "Manufacturer", "ItemAttributeSet"):
            target[s] = minimum[s]
        else:
            target[s] = math.ceil(changed[s] / 100) + 1
    report("incremental sync after %d items and %d stock rows changed"
           % (n, n), run, target, "target")
finally:
    emu.terminate()
    emu.wait(10)
print("\nlightspeed-retail bench done in %.0f s" % (time.monotonic() - t0))
PY
