#!/bin/sh
# make bench, part 4: the Lightspeed eCom source against its API emulator
# on loopback (tests/emulators/lse_bench.py does the work; read its
# docstring). The issue's shop: 20k products, 60k variants, 30k orders
# over 12 months, 8k customers. The emulator keeps the real limits (300
# requests / 5 min, 3,000 / h, 12,000 / day) on windows scaled down in
# time by LSE_SCALE (default 0.001: 0.3 s / 3.6 s / 86.4 s), so the full
# sync, about six days of quota, takes about ten minutes here.
#
# Prints, for the full sync and for an incremental one after 1% of the
# variants changed price, 1% stock and 1% of the orders status (plus 30
# new orders): requests per kind against the minimum, 429 answers
# (target 0), wall time against the triple-window bound, the runs the
# sync needed (each later run continues after the day's quota reset)
# and the peak RSS of posfeed sync (from /usr/bin/time -v). Never fails
# on time; fails only when a sync fails.
#
#   LSE_SCALE=0.002 LSE_LATENCY=0.005 make bench
set -eu
cd "$(dirname "$0")/.."
root=$PWD/bench/lse
BIN=${POSFEED_BIN:-$PWD/build/posfeed}
[ -x "$BIN" ] || BIN=$PWD/posfeed
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
    echo "bench needs /usr/bin/time (apt-get install time)"
    exit 2
fi
rm -rf "$root"
mkdir -p "$root"

exec python3 tests/emulators/lse_bench.py --bin "$BIN" --root "$root" \
    --scale "${LSE_SCALE:-0.001}" --latency "${LSE_LATENCY:-0}" \
    --time "$TIME"
