#!/bin/sh
# make bench, part 5: `posfeed push` into the Klaviyo emulator on
# loopback (tests/emulators/klaviyo_emulator.py, standalone, with the
# documented limits: bulk events and profile import 10/s and 150/min
# each, 1,000 events or 10,000 profiles per request).
#
# The shop is tests/gen_shop.py's (file source) plus extra customers with
# emails, sized for about 200k events and 50k profiles at BENCH_SCALE=1.
# Prints: events and profiles delivered, requests against the minimum
# (events/1000 + profiles/10000, or the bytes / 5 MB when that is more,
# + one poll per import job), 429 answers
# (target 0), duplicates Klaviyo dropped, wall time against the
# rate-limit bound (requests / steady rate, per endpoint) and the peak
# RSS of posfeed push. Never fails on time; fails when the push fails or
# delivers a different number of events than the ledger says it sent.
#
#   BENCH_SCALE=0.05 make bench         (a quick run: ~10k events)
#   KLAVIYO_SCALE=0.1 make bench        (windows 0.1 s / 6 s: same
#                                        counts, a tenth of the time)
set -eu
cd "$(dirname "$0")/.."
root=$PWD/bench/push
BIN=${POSFEED_BIN:-$PWD/build/posfeed}
[ -x "$BIN" ] || BIN=$PWD/posfeed
scale=${BENCH_SCALE:-1}
wscale=${KLAVIYO_SCALE:-1}
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
    echo "bench needs /usr/bin/time (apt-get install time)"
    exit 2
fi
if ! "$BIN" --help 2>&1 | grep -q '^  push '; then
    echo "bench_push: skipped: $BIN has no 'push' command"
    exit 0
fi

# Sizes: gen_shop writes N orders (~6 events each with an email) and
# N/10 customers; the rest of the profiles are added below.
products=$(awk -v s="$scale" 'BEGIN { n = int(43000 * s); print (n < 50 ? 50 : n) }')
want_profiles=$(awk -v s="$scale" 'BEGIN { n = int(50000 * s); print (n < 10 ? 10 : n) }')
rm -rf "$root"
mkdir -p "$root"
python3 tests/gen_shop.py --products "$products" --out "$root/data" \
    >/dev/null
python3 - "$root/data/customers.ndjson" "$want_profiles" <<'PY'
import sys
path, want = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    have = sum('"email"' in line for line in f)
with open(path, "a") as f:
    for i in range(want - have):
        f.write('{"id": "X%d", "email": "extra%d@bench.example", '
                '"first_name": "Extra%d", "last_name": "Bench", '
                '"city": "Gent", "country": "BE", "created_at": '
                '1735689600}\n' % (i, i, i))
PY
printf 'pk_bench_%s\n' "$$" >"$root/key"
chmod 600 "$root/key"

cat >"$root/posfeed.conf" <<CONF
[shop]
name = Push bench
timezone = Europe/Amsterdam
currency = EUR
url = https://bench.example
store = store.db
feeds_dir = feeds

[source]
type = file
path = data

[sync]
include_customers = yes
collect_emails = yes
orders_lookback = all

[push klaviyo]
api_key_file = key
api_url = http://127.0.0.1:1
since = 3 years
CONF

"$BIN" -q -c "$root/posfeed.conf" sync >/dev/null

exec python3 - "$BIN" "$root" "$wscale" "$TIME" <<'PY'
import json, os, re, subprocess, sys, time, urllib.request

binary, root, wscale, timer = sys.argv[1:5]
emu = subprocess.Popen(
    [sys.executable, "tests/emulators/klaviyo_emulator.py", "--port", "0",
     "--key-file", os.path.join(root, "key"), "--timezone",
     "Europe/Amsterdam", "--scale-windows", wscale],
    stdout=subprocess.PIPE, text=True)
try:
    url = emu.stdout.readline().split()[-1]
    conf = os.path.join(root, "posfeed.conf")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("http://127.0.0.1:1", url))
    t0 = time.monotonic()
    p = subprocess.run([timer, "-v", binary, "-q", "-c", conf, "push"],
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    with urllib.request.urlopen(url + "/_emu/stats", timeout=10) as r:
        st = json.load(r)
finally:
    emu.terminate()
    emu.wait(10)
if p.returncode != 0:
    sys.stderr.write(p.stdout + p.stderr)
    sys.exit("bench_push: posfeed push failed (exit %d)" % p.returncode)
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
db = os.path.join(root, "store.db")
led = subprocess.run(
    ["sqlite3", db, "SELECT kind, state, count(*) FROM push_items "
     "GROUP BY kind, state"], capture_output=True, text=True).stdout
ledger = {}
for line in led.split():
    kind, state, n = line.split("|")
    ledger[(kind, state)] = int(n)
by = st["by_endpoint"]


def n(op, key="requests"):
    return by.get(op, {}).get(key, 0)


ev_req, im_req = n("bulk_create_events"), n("bulk_import_profiles")
polls = n("get_bulk_import_profiles_job")
errs = n("get_errors_for_bulk_import_profiles_job")
events = st["received"]
profiles = n("bulk_import_profiles", "items")
jobs = st["jobs"]
ceil = lambda a, b: -(-a // b)
# A request holds at most 1,000 events or 10,000 profiles and 5 MB: the
# byte limit binds first when the items are large.
MB5 = 5 * 1000 * 1000
min_ev = max(ceil(events, 1000), ceil(n("bulk_create_events", "bytes"), MB5))
min_im = max(ceil(profiles, 10000),
             ceil(n("bulk_import_profiles", "bytes"), MB5))
minimum = min_ev + min_im + jobs
other = st["requests"] - ev_req - im_req - polls - errs
# The steady windows bound the time: each endpoint has its own, so the
# slowest one sets it (minutes = requests / 150, scaled).
bound = max(ev_req, im_req, polls) / 150.0 * 60.0 * float(wscale)
print("push bench: %d events, %d profiles (window scale %s)"
      % (events, profiles, wscale))
print("  ledger: %s" % ", ".join("%s %s %d" % (k[0], k[1], v)
                                 for k, v in sorted(ledger.items())))
print("  %-26s %8d   minimum %d (events %d + profiles %d + polls %d)"
      "  ratio %.2f"
      % ("requests", st["requests"], minimum, min_ev, min_im, jobs,
         st["requests"] / minimum if minimum else 0))
print("  %-26s %8d   (%d events per request on average)"
      % ("bulk event requests", ev_req, events / ev_req if ev_req else 0))
print("  %-26s %8d   (%d profiles per request on average)"
      % ("profile import requests", im_req,
         profiles / im_req if im_req else 0))
print("  %-26s %8d   (%d jobs)" % ("job polls", polls, jobs))
print("  %-26s %8d" % ("import-error reads", errs))
print("  %-26s %8d" % ("other requests", other))
print("  %-26s %8d   target 0" % ("429 answers", st["429s"]))
print("  %-26s %8d   (re-sent events Klaviyo dropped)"
      % ("duplicates", st["duplicates"]))
print("  %-26s %8.1f s bound %.1f s (requests / steady rate) ratio %.2f"
      % ("wall time", wall, bound, wall / bound if bound else 0))
print("  %-26s %8s kB" % ("peak RSS (push)", rss.group(1) if rss else "?"))
sent = ledger.get(("event", "sent"), 0)
if st["events"] != sent:
    sys.exit("bench_push: Klaviyo holds %d events, the ledger says %d "
             "sent" % (st["events"], sent))
PY
