#!/bin/sh
# make bench, part 2: wrk against `posfeed serve` and against nginx serving
# the same files on loopback, in the same run: conditional GETs answered
# 304, and full GETs of a 50 MB gzip feed. Prints requests/s and MB/s of
# each and posfeed / nginx, plus posfeed's RSS before and after the load.
# Installs wrk and nginx with apt-get when they are missing.
#
#   BENCH_SECONDS=5 BENCH_CONNS=32 make bench
set -eu
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-32}
root=$PWD/bench/serve
mkdir -p "$root"

need=""
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
if [ -n "$need" ]; then
    echo "installing$need (bench only)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $need >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A small shop whose public feed gets a 50 MB gzip twin: the twin is what
# the full-transfer test fetches, recorded in the store like a real one.
rm -rf "$root/shop"
mkdir -p "$root/shop"
python3 tests/gen_shop.py --products 200 --out "$root/shop/data" >/dev/null
cat >"$root/shop/posfeed.conf" <<CONF
[shop]
name = Bench serve
timezone = Europe/Amsterdam
currency = EUR
url = https://bench.example
store = store.db
feeds_dir = feeds

[source]
type = file
path = data

[feed pub]
template = clerk
output = pub.json
access = public

[serve]
listen = 127.0.0.1:8080
token = env:POSFEED_TOKEN
max_connections = 1024
per_ip_limit = 512
timeout = 30
CONF
./posfeed -q -c "$root/shop/posfeed.conf" run >/dev/null
feeds=$root/shop/feeds
head -c 52428800 /dev/urandom | gzip -1 >"$feeds/pub.json.gz.new"
mv "$feeds/pub.json.gz.new" "$feeds/pub.json.gz"
touch -r "$feeds/pub.json" "$feeds/pub.json.gz"
gz_bytes=$(stat -c %s "$feeds/pub.json.gz")
gz_sha=$(sha256sum "$feeds/pub.json.gz" | cut -d' ' -f1)
sha=$(sqlite3 "$root/shop/store.db" "SELECT sha256 FROM feeds WHERE name='pub'")
sqlite3 "$root/shop/store.db" "UPDATE feeds SET gz_bytes=$gz_bytes, gz_sha256='$gz_sha' WHERE name='pub'"

pport=$(free_port)
POSFEED_TOKEN=bench ./posfeed -q -c "$root/shop/posfeed.conf" serve \
    --listen "127.0.0.1:$pport" >"$root/posfeed.out" 2>"$root/posfeed.err" &
ppid=$!

nport=$(free_port)
ndir=$root/nginx
mkdir -p "$ndir"
workers=$(nproc); [ "$workers" -gt 4 ] && workers=4
cat >"$ndir/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $ndir/nginx.pid;
error_log $ndir/error.log;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $ndir/tmp;
    proxy_temp_path $ndir/tmp;
    fastcgi_temp_path $ndir/tmp;
    uwsgi_temp_path $ndir/tmp;
    scgi_temp_path $ndir/tmp;
    types { application/json json; }
    server {
        listen 127.0.0.1:$nport;
        location /feeds/ {
            alias $feeds/;
            gzip_static on;
            gzip_vary on;
            etag on;
            add_header Cache-Control "public, no-cache";
        }
    }
}
CONF
mkdir -p "$ndir/tmp"
"$NGINX" -c "$ndir/nginx.conf" -p "$ndir" &
npid=$!
trap 'kill $ppid $npid 2>/dev/null || true' EXIT INT TERM
sleep 1
kill -0 $ppid 2>/dev/null || { cat "$root/posfeed.err"; exit 1; }
kill -0 $npid 2>/dev/null || { cat "$ndir/error.log"; exit 1; }

purl=http://127.0.0.1:$pport/feeds/pub.json
nurl=http://127.0.0.1:$nport/feeds/pub.json
netag=$(curl -sI "$nurl" | sed -n 's/^[Ee][Tt]ag: *//p' | tr -d '\r')

rss() { sed -n 's/^VmRSS: *//p' /proc/$ppid/status; }

# run NAME URL ETAG ENCODING CONNS -> "req/s MB/s errors"
run() {
    out=$root/wrk-$1.txt
    set -- "$2" "$3" "$4" "$5"
    if [ -n "$2" ]; then
        wrk -t2 -c"$4" -d"${secs}s" -H "If-None-Match: $2" \
            -H "Accept-Encoding: $3" "$1" >"$out"
    else
        wrk -t2 -c"$4" -d"${secs}s" -H "Accept-Encoding: $3" "$1" >"$out"
    fi
    awk '
        /Requests\/sec/ { rps = $2 }
        /Transfer\/sec/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+/, "", v);
                          m = (u == "GB") ? 1024 : (u == "MB") ? 1 : (u == "KB") ? 1/1024 : 1/1048576;
                          mbs = v * m }
        /Non-2xx or 3xx/ { err += $NF }
        /Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END { printf "%.0f %.1f %d\n", rps, mbs, err }' "$out"
}

rss0=$(rss)
printf '%-22s %12s %10s %8s\n' test "requests/s" "MB/s" errors
p304=$(run p304 "$purl" "\"$sha\"" identity "$conns")
n304=$(run n304 "$nurl" "$netag" identity "$conns")
pgz=$(run pgz "$purl" "" gzip 8)
ngz=$(run ngz "$nurl" "" gzip 8)
rss1=$(rss)
for row in "posfeed 304:$p304" "nginx 304:$n304" "posfeed 50MB gzip:$pgz" \
           "nginx 50MB gzip:$ngz"; do
    name=${row%%:*}
    set -- ${row#*:}
    printf '%-22s %12s %10s %8s\n' "$name" "$1" "$2" "$3"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
set -- $p304; p304r=$1
set -- $n304; n304r=$1
set -- $pgz; pgzm=$2
set -- $ngz; ngzm=$2
echo "posfeed / nginx: 304 requests/s $(ratio "$p304r" "$n304r")x" \
     "(target >= 0.5), 50 MB gzip MB/s $(ratio "$pgzm" "$ngzm")x" \
     "(target >= 0.8)"
echo "posfeed RSS: $rss0 before load, $rss1 after"
