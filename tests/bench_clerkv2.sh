#!/bin/sh
# make bench, Clerk.io live endpoints (issue 14): the products answer of
# /clerk/v2/ at BENCH_CLERK_SIZE products (200000), fetched whole by curl
#   - over HTTPS and over plain HTTP from `posfeed serve`,
#   - against nginx sending the static clerk-products feed of the same
#     store over HTTPS on the same machine (the anchor, same run),
# in MB/s, best of BENCH_REPEAT (3), with posfeed's CPU seconds next to
# the wall time (the machine's cores are shared); and a modified_after
# answer after 1% of the products changed against the full answer: its
# time should be about 1% of the full one's (it reads the changed rows,
# not the catalog).
#
# `posfeed run` writes the full answers to files (feeds_dir/.clerk-v2/,
# docs/clerk-v2.md), which the servers send; the script prints what
# writing them added to the run. The full answer that anchors the 1%
# answer is rendered live (the files moved away for it), as before.
#
# The 1% change is an UPDATE through sqlite3 on the store: the store's
# triggers mark those products changed exactly as a sync would, without
# copying the shop's data to edit it; a `posfeed run` then stamps them
# (its data files are unchanged, so it skips them), as the sync that
# brought such a change would, and writes the answer files again.
#
#   BENCH_DATA=/work/bench-data BENCH_CLERK_SIZE=200000 tests/bench_clerkv2.sh
# Installs nginx with apt-get when it is missing.
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh
n=${BENCH_CLERK_SIZE:-200000}
repeat=${BENCH_REPEAT:-3}
root=$PWD/bench/clerkv2
BIN=${POSFEED_BIN:-$PWD/posfeed}

command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
    echo "installing nginx-light (bench only)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends nginx-light >/dev/null
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rm -rf "$root"
bench_conf "$root" "$n"
cat >>"$root/posfeed.conf" <<CONF

[feed cp]
template = clerk-products
output = cp.json
access = public
gzip = no

[serve]
token = env:POSFEED_TOKEN
clerk_v2 = yes
clerk_public_key = bench-key
clerk_verify_url = http://127.0.0.1:9/unused
clerk_modified_slack = 0
CONF
echo "clerk v2: importing the $n-product shop"
"$BIN" -c "$root/posfeed.conf" run >/dev/null 2>"$root/run.err"
answers_s() {   # LOG -> seconds the run spent writing the answer files
    sed -n 's/.*clerk v2: full answers written in \([0-9.]*\) s.*/\1/p' "$1"
}
echo "run: answer files written in $(answers_s "$root/run.err") s" \
    "(of $(sed -n 's/.*run done in \([0-9.]*\) s.*/\1/p' "$root/run.err") s)"

# A CA and a certificate for 127.0.0.1, for posfeed and nginx alike.
(
    cd "$root"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key \
        -out ca.pem -subj "/CN=bench CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
        -subj "/CN=127.0.0.1" 2>/dev/null
    echo "subjectAltName=IP:127.0.0.1" >ext.cnf
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
        -CAcreateserial -days 2 -out srv.pem -extfile ext.cnf 2>/dev/null
)
sed 's/^clerk_modified_slack = 0$/&\ntls_cert = srv.pem\ntls_key = srv.key/' \
    "$root/posfeed.conf" >"$root/tls.conf"

start_serve() {     # CONF PORT LOG -> pid
    POSFEED_TOKEN=bench "$BIN" -q -c "$1" serve --listen "127.0.0.1:$2" \
        >"$3.out" 2>"$3.err" &
    echo $!
}
hport=$(free_port)
sport=$(free_port)
nport=$(free_port)
hpid=$(start_serve "$root/posfeed.conf" "$hport" "$root/plain")
spid=$(start_serve "$root/tls.conf" "$sport" "$root/tls")
ndir=$root/nginx
mkdir -p "$ndir/tmp"
nginx_conf "$ndir" "$nport" "alias $root/feeds/;" "$root/srv.pem" "$root/srv.key"
"$NGINX" -c "$ndir/nginx.conf" -p "$ndir" &
npid=$!
trap 'kill $hpid $spid $npid 2>/dev/null || true' EXIT INT TERM
sleep 2
for p in $hpid $spid $npid; do
    kill -0 "$p" 2>/dev/null || {
        cat "$root"/*.err "$ndir/error.log" 2>/dev/null; exit 1; }
done

# posfeed's user+system CPU seconds so far
pcpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
# fetch URL PID -> "seconds bytes cpu" of one whole download
fetch() {
    _c0=$(pcpu "$2")
    _r=$(curl -s -o /dev/null --cacert "$root/ca.pem" -H "Authorization: Bearer bench" \
        -w '%{time_total} %{size_download} %{http_code}' "$1")
    _c1=$(pcpu "$2")
    [ "${_r##* }" = 200 ] || { echo "HTTP ${_r##* } from $1" >&2; exit 1; }
    echo "${_r% *} $(echo "$_c0 $_c1" | awk '{ printf "%.2f", $2 - $1 }')"
}
# best URL PID -> the fastest of $repeat: "seconds bytes cpu"
best() {
    _b=""
    for _i in $(seq "$repeat"); do
        _r=$(fetch "$1" "$2")
        _b=$(printf '%s\n%s\n' "$_b" "$_r" | awk 'NF' | sort -n | head -1)
    done
    echo "$_b"
}
mbs() { echo "$1" | awk '{ printf "%.1f", $2 / 1048576 / $1 }'; }

purl=/clerk/v2/products
hs=$(best "https://127.0.0.1:$sport$purl" "$spid")
pl=$(best "http://127.0.0.1:$hport$purl" "$hpid")
ng=$(best "https://127.0.0.1:$nport/feeds/cp.json" "$npid")
printf '%-36s %9s %10s %8s %8s\n' "clerk v2 products ($n)" seconds MB MB/s "CPU s"
for row in "posfeed V2 over HTTPS|$hs" "posfeed V2 plain HTTP|$pl" \
           "nginx static feed over HTTPS|$ng"; do
    v=${row#*|}
    echo "$v" | awk -v name="${row%%|*}" '{ printf "%-36s %9.2f %10.1f %8.1f %8s\n",
        name, $1, $2 / 1048576, $2 / 1048576 / $1, $3 }'
done
echo "(nginx's CPU is its master's only; its workers do the work)"
target 14a "clerk v2 HTTPS MB/s" "$(mbs "$hs")" "nginx HTTPS static" \
    "$(mbs "$ng")" ">=" 0.8 "CPU $(echo "$hs" | cut -d' ' -f3) s"
target 14b "clerk v2 plain MB/s" "$(mbs "$pl")" "nginx HTTPS static" \
    "$(mbs "$ng")" ">=" 0.8 "CPU $(echo "$pl" | cut -d' ' -f3) s"

# Incremental answers (14c: time proportional to the changed rows, not
# the catalog). Three times a share of the products changes after T (T
# past the servers' start, when they recorded the definitions; an older
# T answers full) and a run stamps it, as a sync would: 0.01%, 0.1%, 1%.
# The first answer after each run is the one that counts (later ones find
# the pages warm). Its time splits into a part per changed row and a
# part that is not: the latter must stay under 1% of the full answer, or
# the answer has a floor that grows with the catalog. The 1% answer
# against the full one is shown too.
change_and_ask() {  # MOD -> "changed seconds bytes cpu" of the first answer
    sleep 1
    _t=$(date +%s)
    sleep 1
    sqlite3 "$root/store.db" "UPDATE products SET name = name || ' (new)'
        WHERE rowid % $1 = 0"
    "$BIN" -c "$root/posfeed.conf" run >/dev/null 2>"$root/run2.err"
    _n=$(sqlite3 "$root/store.db" "SELECT count(*) FROM products WHERE
        changed_at >= $_t")
    _r=$(fetch "http://127.0.0.1:$hport$purl?modified_after=$_t" "$hpid")
    _m=$(curl -sI -H "Authorization: Bearer bench" \
        "http://127.0.0.1:$hport$purl?modified_after=$_t&limit=1" |
        sed -n 's/^X-Posfeed-Sync: *//Ip' | tr -d '\r')
    [ "$_m" = incremental ] || {
        echo "expected an incremental answer, got '$_m'" >&2; exit 1; }
    echo "$_t" >"$root/t"
    echo "$_n $_r"
}
p1=$(change_and_ask 10000)
p2=$(change_and_ask 1000)
p3=$(change_and_ask 100)
echo "run after the 1% change: answer files written in" \
    "$(answers_s "$root/run2.err") s" \
    "(of $(sed -n 's/.*run done in \([0-9.]*\) s.*/\1/p' "$root/run2.err") s)"
inc=$(best "http://127.0.0.1:$hport$purl?modified_after=$(cat "$root/t")" \
    "$hpid")
mv "$root/feeds/.clerk-v2" "$root/feeds/.clerk-v2.away"
full=$(best "http://127.0.0.1:$hport$purl" "$hpid")
mv "$root/feeds/.clerk-v2.away" "$root/feeds/.clerk-v2"
for p in "$p1" "$p2" "$p3"; do
    echo "$p" | awk -v n="$n" '{ printf "modified_after, %d of %d changed, " \
        "first answer: %.3f s, %.1f MB, CPU %s s\n", $1, n, $2,
        $3 / 1048576, $4 }'
done
echo "modified_after, 1%, best of $repeat after it: $(echo "$inc" |
    awk '{ printf "%.3f s, CPU %s s", $1, $3 }')"
echo "full answer rendered live: $(echo "$full" |
    awk '{ printf "%.3f s, %.1f MB, CPU %s s", $1, $2 / 1048576, $3 }')"
# The smallest answer's time bounds the part that is not per changed row
# (whatever it is, it is in there); the rest is per changed row.
fit=$(printf '%s\n%s\n' "$p1" "$p3" | awk '
    NR == 1 { k1 = $1; t1 = $2 } NR == 2 { k3 = $1; t3 = $2 }
    END { printf "%.4f %.6f", t1, (t3 - t1) / (k3 - k1) }')
echo "first answer <= $(echo "$fit" | awk '{ printf "%.1f ms + %.3f ms per \
changed row", $1 * 1000, $2 * 1000 }')"
target 14c "clerk v2 incremental, fixed part s" "${fit% *}" \
    "full answer, seconds" "$(echo "$full" | cut -d' ' -f1)" "<=" 0.01 \
    "per changed row $(echo "$fit" | awk '{ printf "%.3f ms", $2 * 1000 }')"
target 14d "clerk v2 1% changed, seconds" "$(echo "$p3" | cut -d' ' -f2)" \
    "full answer, seconds" "$(echo "$full" | cut -d' ' -f1)" "<=" 0.1 \
    "rows changed: $(echo "$p3" | cut -d' ' -f1)"
