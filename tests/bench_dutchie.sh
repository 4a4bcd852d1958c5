#!/bin/sh
# make bench, part 5: the Dutchie source against its API emulator on
# loopback. The issue's retailer: 3 locations x 5k products, 100k
# transactions over 180 days, 20k customers (dutchie_data.bench). The
# emulator keeps the documented per-key, per-endpoint budgets (/whoami
# 200, /reporting/* 60, the rest 120 per window) on a window scaled down
# from 60 s by DUT_SCALE (default 0.05: 3 s); posfeed's [source]
# rate_window is set to the same length.
#
# Prints, for the full sync and for an incremental one after 1% of the
# products changed price and 500 new sales: requests per endpoint
# against the minimum (one whoami, products and inventory call per
# location, one customers page per 100 customers, one transactions call
# per 31-day range), 429 answers (target 0), and the wall time against
# the per-window bound (a key's requests to its busiest endpoint,
# divided by its budget, in windows; keys are worked one after another).
# Never fails on time; fails when a sync fails or a 429 was answered.
#
#   DUT_SCALE=0.1 make bench
set -eu
cd "$(dirname "$0")/.."
root=$PWD/bench/dutchie
BIN=${POSFEED_BIN:-$PWD/build/posfeed}
[ -x "$BIN" ] || BIN=$PWD/posfeed
rm -rf "$root"
mkdir -p "$root"

exec python3 - "$BIN" "$root" "${DUT_SCALE:-0.05}" <<'EOF'
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, "tests/emulators")
import dutchie_data  # noqa: E402
import dutchie_emulator  # noqa: E402

BIN, ROOT, SCALE = sys.argv[1], sys.argv[2], float(sys.argv[3])
WINDOW = max(1, round(60 * SCALE))
LOCS, PRODUCTS, TXS, CUSTS, DAYS = 3, 5000, 100000, 20000, 180
BUDGET = {"/whoami": 200, "/reporting/products": 60,
          "/reporting/inventory": 60, "/reporting/transactions": 60,
          "/customer/customers-paginated": 120}

t = time.monotonic()
now = int(time.time())
data = dutchie_data.bench(now, LOCS, PRODUCTS, TXS, CUSTS, DAYS)
emu = dutchie_emulator.DutchieEmulator(data=data)
emu.configure(window_s=float(WINDOW))
emu.start()
print("dutchie bench: %d locations x %d products, %d transactions over "
      "%d days, %d customers; window %d s (scale %g); dataset in %.1f s"
      % (LOCS, PRODUCTS, TXS, DAYS, CUSTS, WINDOW, SCALE,
         time.monotonic() - t))
keys = os.path.join(ROOT, "dutchie.keys")
emu.write_keys(keys)
with open(os.path.join(ROOT, "posfeed.conf"), "w") as f:
    f.write("""[shop]
name = Bench Holdings
timezone = America/Denver
currency = USD
url = https://shop.example
store = store.db
feeds_dir = feeds

[source]
type = dutchie
api_url = %s
location_keys_file = dutchie.keys
rate_window = %d

[sync]
orders_lookback = %d days
include_customers = yes
collect_emails = yes

[feed events]
template = klaviyo-events
output = events.json
""" % (emu.url, WINDOW, DAYS + 10))


def minimum(full):
    ranges = math.ceil((DAYS + 11) * 86400 / (31 * 86400 - 1)) if full \
        else 1
    out = {"/whoami": LOCS, "/reporting/products": LOCS,
           "/reporting/inventory": LOCS,
           "/reporting/transactions": LOCS * ranges}
    pages = 0
    for loc in data["locations"]:
        n = sum(1 for c in data["customers"]
                if loc["locationId"] in c["locations"]
                and not c.get("isAnonymous"))
        pages += n // 100 + 1 if full else 1
    out["/customer/customers-paginated"] = pages
    return out


def bound(log):
    total = 0.0
    for loc in data["locations"]:
        worst = 0
        for route, b in BUDGET.items():
            n = sum(1 for x in log if x["route"] == route
                    and x["location"] == loc["locationId"])
            worst = max(worst, math.ceil(n / b) - 1)
        total += worst * WINDOW
    return total


def run(label, full):
    emu.clear_log()
    t = time.monotonic()
    r = subprocess.run([BIN, "-c", os.path.join(ROOT, "posfeed.conf"),
                        "run"], capture_output=True, text=True)
    wall = time.monotonic() - t
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit("dutchie bench: %s run failed" % label)
    log = [x for x in emu.log]
    mins = minimum(full)
    print("%s: %.1f s wall, per-window bound %.1f s, %d requests, %d "
          "answered 429" % (label, wall, bound(log), len(log),
                            sum(1 for x in log if x["status"] == 429)))
    for route in BUDGET:
        n = sum(1 for x in log if x["route"] == route)
        print("  %-32s %6d requests (minimum %d)" % (route, n, mins[route]))
    if any(x["status"] == 429 for x in log):
        sys.exit("dutchie bench: 429 answered")


run("full sync", True)
rng = __import__("random").Random(5)
for pid in rng.sample(range(1, PRODUCTS + 1), PRODUCTS // 100):
    emu.set_price(pid, 1001, rec=9.99)
for i in range(500):
    emu.add_transaction({"locationId": 1001 + i % LOCS, "customerId": None,
                         "transactionType": "Retail", "date": emu.now()},
                        [{"productId": 1 + i, "inventoryId": 1,
                          "quantity": 1, "unitPrice": 10.0}])
run("incremental", False)
emu.stop()
EOF
