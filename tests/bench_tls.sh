#!/bin/sh
# make bench, HTTPS (issue 14): the static clerk-products feed of the
# BENCH_TLS_PRODUCTS (200000) shop, fetched whole over HTTPS from `posfeed
# serve` and from nginx with the same certificate and key, on loopback in
# the same run. curl --cacert downloads to /dev/null: one connection at a
# time, and BENCH_TLS_PARALLEL (4) at once. Prints MB/s (best of
# BENCH_REPEAT, 3), the CPU seconds each server spent, and a target line
# per case (goal: posfeed >= 0.8x nginx).
#
# Why it matters: over TLS neither server can use sendfile(); posfeed's
# MHD reads the feed file into its connection buffer and encrypts from
# there, nginx does the same with its own buffers, so this compares the
# two read-encrypt-write loops. Both get as many workers as posfeed has
# MHD threads (serve_listen.c listen_start: nproc, at most 4).
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh
n=${BENCH_TLS_PRODUCTS:-200000}
repeat=${BENCH_REPEAT:-3}
par=${BENCH_TLS_PARALLEL:-4}
root=$PWD/bench/tls
BIN=${POSFEED_BIN:-$PWD/posfeed}
[ -x "$NGINX" ] || { echo "bench_tls: nginx is needed (apt-get install" \
                          "nginx-light)"; exit 2; }

free_port() {
    python3 -c 'import socket; s=socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rm -rf "$root"
mkdir -p "$root/pki" "$root/nginx/tmp"
# A test CA and a certificate for localhost (EC P-256, as certbot's
# default ECDSA key type).
(
    cd "$root/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout key.pem -out cert.csr -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf
    openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key \
        -CAcreateserial -days 2 -extfile ext.cnf -out cert.pem 2>/dev/null
)
pki=$root/pki

pport=$(free_port)
nport=$(free_port)
bench_conf "$root/shop" "$n"
cat >>"$root/shop/posfeed.conf" <<CONF

[feed products]
template = clerk-products
output = products.json
access = public

[serve]
listen = 127.0.0.1:$pport
max_connections = 64
per_ip_limit = 64
tls_cert = $pki/cert.pem
tls_key = $pki/key.pem
CONF
"$BIN" -q -c "$root/shop/posfeed.conf" run >/dev/null
feeds=$root/shop/feeds
bytes=$(stat -c %s "$feeds/products.json")

POSFEED_NOW= "$BIN" -q -c "$root/shop/posfeed.conf" serve \
    >"$root/posfeed.out" 2>"$root/posfeed.err" &
ppid=$!

ndir=$root/nginx
nginx_conf "$ndir" "$nport" "alias $feeds/;" "$pki/cert.pem" "$pki/key.pem"
"$NGINX" -c "$ndir/nginx.conf" -p "$ndir" &
npid=$!
trap 'kill $ppid $npid 2>/dev/null || true' EXIT INT TERM
sleep 1
kill -0 $ppid 2>/dev/null || { cat "$root/posfeed.err"; exit 1; }
kill -0 $npid 2>/dev/null || { cat "$ndir/error.log"; exit 1; }

purl=https://localhost:$pport/feeds/products.json
nurl=https://localhost:$nport/feeds/products.json

# CPU seconds (user+system) of a process and its children threads, or of
# nginx's master and workers.
cpu_of() {
    for _p in "$@"; do cat "/proc/$_p/stat"; done 2>/dev/null |
        awk '{ s += $14 + $15 } END { printf "%.2f", s / 100 }'
}
nginx_pids() { echo "$npid $(pgrep -P "$npid" | tr '\n' ' ')"; }

# fetch URL K -> seconds for K parallel whole downloads, each checked
# for its length. Called as $(fetch ...): the subshell's `wait` waits for
# its curls only, not for the servers.
fetch() {
    _t0=$(date +%s.%N)
    _i=0
    while [ "$_i" -lt "$2" ]; do
        curl -sS --cacert "$pki/ca.pem" -o /dev/null \
            -w '%{size_download}\n' "$1" >"$root/size-$_i" &
        _i=$((_i + 1))
    done
    wait
    _t1=$(date +%s.%N)
    _i=0
    while [ "$_i" -lt "$2" ]; do
        [ "$(cat "$root/size-$_i")" = "$bytes" ] || {
            echo "bench_tls: short download ($(cat "$root/size-$_i") of" \
                 "$bytes bytes)"; exit 1; }
        _i=$((_i + 1))
    done
    awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }'
}

# best URL K PIDS... -> "MB/s cpu_s" of the fastest of $repeat rounds
best() {
    _u=$1; _k=$2; shift 2
    _best=""
    for _r in $(seq "$repeat"); do
        _c0=$(cpu_of "$@")
        _s=$(fetch "$_u" "$_k")
        _c1=$(cpu_of "$@")
        _line=$(awk -v b="$bytes" -v k="$_k" -v s="$_s" -v c0="$_c0" \
                    -v c1="$_c1" 'BEGIN { printf "%.1f %.2f %.2f",
                    b * k / s / 1048576, c1 - c0, s }')
        _best=$(printf '%s\n%s\n' "$_best" "$_line" | sed '/^$/d' |
                sort -k1,1 -g -r | head -1)
    done
    echo "$_best"
}

echo "HTTPS static feed: clerk-products of $n products, $bytes bytes"
printf '%-34s %8s %8s %8s\n' case "MB/s" "wall s" "CPU s"
for k in 1 "$par"; do
    p=$(best "$purl" "$k" "$ppid")
    nn=$(best "$nurl" "$k" $(nginx_pids))
    set -- $p; pv=$1; printf '%-34s %8s %8s %8s\n' \
        "posfeed https, $k conn" "$1" "$3" "$2"
    set -- $nn; nv=$1; printf '%-34s %8s %8s %8s\n' \
        "nginx https, $k conn" "$1" "$3" "$2"
    target 14 "HTTPS static feed, $k conn (MB/s)" "$pv" "nginx MB/s" "$nv" \
        ">=" 0.8
done
echo "(CPU: the server's user+system seconds in that round; the curl" \
     "clients share the same $(nproc) cores)"
