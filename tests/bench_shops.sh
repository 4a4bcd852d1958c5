#!/bin/sh
# make bench, shops (issue 15): how many shops one machine keeps fresh.
#
#   1. Shops per hour: BENCH_SHOPS (100) shops of BENCH_SHOP_PRODUCTS
#      (1000) products each, every one with its own fresh store and feeds
#      (clerk and google), under one `posfeed serve` with [serve] shops,
#      workers = cores, jitter = 0. All are made due at once (a POST
#      /SHOP/sync for each, back to back, admin token) and the time until
#      the pool has run them all (posfeed_pool_* in /metrics) is the
#      drain time: shops/hour = N / drain * 3600.
#      Anchor, same run, same data, fresh stores too: the same N shops as
#      a plain sequential loop of `posfeed run`, which is what cron does
#      with one shop after another.
#      The pool's own cost, apart from what parallel runs gain or lose on
#      this machine: the same drain with workers = 1, against the
#      sequential loop (1.00x would be no cost at all).
#   2. Server RSS with BENCH_SHOPS_RSS (500) shops loaded and idle,
#      against one shop loaded, in the same run; and the RSS of the
#      server in 1. after its drain.
#
#   BENCH_SHOPS=100 BENCH_SHOPS_RSS=500 tests/bench_shops.sh
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh
BIN=${POSFEED_BIN:-$PWD/posfeed}
n=${BENCH_SHOPS:-100}
n_rss=${BENCH_SHOPS_RSS:-500}
products=${BENCH_SHOP_PRODUCTS:-1000}
cores=$(nproc)
root=$PWD/bench/shops
export POSFEED_TOKEN=bench-admin-token
rm -rf "$root"
mkdir -p "$root"
data=$(bench_shop "$products")
case $data in /*) ;; *) data=$PWD/$data ;; esac

shop_conf() {       # FILE STATE_DIR
    mkdir -p "$2"
    cat >"$1" <<CONF
[shop]
name = Bench shop
timezone = Europe/Amsterdam
currency = EUR
url = https://bench.example
store = $2/store.db
feeds_dir = $2/feeds

[source]
type = file
path = $data

[sync]
schedule = on-demand
include_variant_stock = yes
include_customers = yes
collect_emails = yes
orders_lookback = all

[feed clerk]
template = clerk
output = clerk.json

[feed google]
template = google-shopping
output = google.xml
CONF
}

shops_dir() {       # DIR COUNT [WORKERS]: DIR/shops/shop-N.conf, state
                    # in DIR/state
    mkdir -p "$1/shops"
    _i=1
    while [ "$_i" -le "$2" ]; do
        shop_conf "$1/shops/shop-$_i.conf" "$1/state/shop-$_i"
        _i=$((_i + 1))
    done
    cat >"$1/server.conf" <<CONF
[serve]
shops = shops
workers = ${3:-$cores}
jitter = 0
run_timeout = 1h
token = env:POSFEED_TOKEN
CONF
}

now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }'; }
vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Starts serve on DIR/server.conf; sets srv_pid and srv_url.
start_server() {
    rm -f "$1/serve.out"
    "$BIN" -c "$1/server.conf" serve --listen 127.0.0.1:0 \
        >"$1/serve.out" 2>"$1/serve.log" &
    srv_pid=$!
    srv_log=$1/serve.log
    _t=0
    while ! grep -q '^listening on' "$1/serve.out" 2>/dev/null; do
        _t=$((_t + 1))
        if [ "$_t" -gt 600 ] || ! kill -0 "$srv_pid" 2>/dev/null; then
            echo "bench_shops: serve did not start:"
            tail -5 "$1/serve.log"
            exit 1
        fi
        sleep 0.1
    done
    srv_url=$(sed -n 's/^listening on //p' "$1/serve.out" | head -1)
}

stop_server() {
    kill -TERM "$srv_pid"
    wait "$srv_pid" || true
}

# pool_left: runs not yet ended, counted in the server's log (each run's
# end is one line). Not from /metrics: scraping a hundred shops ten
# times a second costs CPU the runs would have had, and the bench would
# measure itself. The ok count is read from /metrics once, at the end.
pool_left() {
    _ended=$(grep -cE ': run [0-9]+ (finished ok|failed|timed out)' \
             "$srv_log" || true)
    echo $((n - _ended))
}

echo "shops: $n shops of $products products, workers = $cores"

# -- 1. anchor: one after another ------------------------------------------
shops_dir "$root/seq" "$n"
t0=$(now_s)
i=1
while [ "$i" -le "$n" ]; do
    "$BIN" -q -c "$root/seq/shops/shop-$i.conf" run >/dev/null
    i=$((i + 1))
done
seq_s=$(since "$t0")

# -- 1. the pool --------------------------------------------------------
# pool_drain DIR WORKERS: triggers every shop at once and waits until the
# pool has run them all; sets pool_s (seconds) and drained_kb (RSS then).
pool_drain() {
    shops_dir "$1" "$n" "$2"
    start_server "$1"
    urls=""
    i=1
    while [ "$i" -le "$n" ]; do
        urls="$urls -o /dev/null $srv_url/shop-$i/sync"
        i=$((i + 1))
    done
    t0=$(now_s)
    # One curl: one connection for all the POSTs, so triggering costs
    # milliseconds, not N process starts.
    # shellcheck disable=SC2086
    curl -s -w "%{http_code}\\n" -X POST \
        -H "Authorization: Bearer $POSFEED_TOKEN" $urls >"$1/codes"
    bad=$(grep -cv '^202$' "$1/codes" || true)
    [ "$bad" -eq 0 ] || { echo "bench_shops: $bad syncs refused"; exit 1; }
    while [ "$(pool_left)" -gt 0 ]; do
        sleep 0.1
    done
    pool_s=$(since "$t0")
    ok_n=$(curl -s "$srv_url/metrics" |
           awk '/^posfeed_pool_runs_total\{.*result="ok"/ { s += $2 }
                END { print s + 0 }')
    drained_kb=$(vmrss_kb "$srv_pid")
    stop_server
    [ "$ok_n" -eq "$n" ] ||
        { echo "bench_shops: only $ok_n of $n runs ok"; exit 1; }
}
pool_drain "$root/pool1" 1
pool1_s=$pool_s
pool_drain "$root/pool" "$cores"

awk -v n="$n" -v p="$pool_s" -v s="$seq_s" -v c="$cores" \
    -v p1="$pool1_s" 'BEGIN {
    printf "  pool, serve --shops (workers %d): %7.2f s -> %7.0f shops/hour\n",
        c, p, n / p * 3600
    printf "  pool, serve --shops (workers 1): %7.2f s -> %7.0f shops/hour\n",
        p1, n / p1 * 3600
    printf "  sequential posfeed run:          %7.2f s -> %7.0f shops/hour\n",
        s, n / s * 3600
    printf "  ratio pool / sequential: %.2fx\n", s / p
    printf "  ratio pool (workers 1) / sequential: %.2fx (the pool'"'"'s own cost; 1.00x: none)\n",
        s / p1
}'

# -- 2. server RSS, idle, with many shops and with one ---------------------
rss_loaded() {      # DIR COUNT -> VmRSS kB after the shops are loaded
    shops_dir "$1" "$2"
    start_server "$1"
    # Every shop's status once, so whatever is made on first use is.
    curl -s -o /dev/null -H "Authorization: Bearer $POSFEED_TOKEN" \
        "$srv_url/status.json"
    sleep 1
    vmrss_kb "$srv_pid"
    stop_server
}
one_kb=$(rss_loaded "$root/rss1" 1)
many_kb=$(rss_loaded "$root/rss$n_rss" "$n_rss")
awk -v one="$one_kb" -v many="$many_kb" -v m="$n_rss" -v d="$drained_kb" \
    -v n="$n" 'BEGIN {
    printf "  server RSS: 1 shop loaded %.1f MB, %d shops %.1f MB (%.1f kB per shop); after %d runs %.1f MB\n",
        one / 1024, m, many / 1024, (many - one) / (m - 1), n, d / 1024
}'
