# bench_lib.sh - sourced by the tests/bench_*.sh scripts (POSIX sh).
#
# Shared by every part of `make bench`:
#   bench_shop N        -> $BENCH_DATA/shop-N/data, generated once by
#                          tests/gen_shop.py (marked complete by .complete)
#   bench_conf DIR N    writes DIR/posfeed.conf for the file shop of N
#                          products, store and feeds in DIR (no [feed])
#   time_run OUT CMD... runs CMD under /usr/bin/time -v into OUT
#   wall OUT, cpu OUT   elapsed and user+system seconds from OUT
#   rss_kb OUT, rss_mb OUT  peak RSS in KiB / MiB from OUT
#   target N NAME VALUE ANCHOR_NAME ANCHOR_VALUE OP GOAL [NOTE]
#                       prints one target line and appends it to
#                       $BENCH_TARGETS, which tests/bench_summary.sh prints
#                       at the end. The ratio is VALUE / ANCHOR_VALUE; OP
#                       is "<=" or ">=" and says which side of GOAL meets
#                       the target.
#
#   scale N WHAT ITEMS SECONDS CPU BYTES RSS_KIB
#                       records one row of the scale table (issue 13,
#                       target 6) in $BENCH_SCALE; bench_summary.sh prints
#                       the table README shows
#
# Environment: BENCH_SIZES ("10000 200000"), BENCH_RUNS (3: best of), BENCH_DATA (bench/data),
# BENCH_TARGETS (bench/targets.txt). Work folders are the caller's own,
# under bench/, so parts never share a store.

BENCH_SIZES=${BENCH_SIZES:-"10000 200000"}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_DATA=${BENCH_DATA:-bench/data}
BENCH_TARGETS=${BENCH_TARGETS:-bench/targets.txt}
BENCH_SCALE=${BENCH_SCALE:-bench/scale.tsv}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench needs /usr/bin/time (apt-get install time)"; exit 2; }
mkdir -p "$BENCH_DATA" "$(dirname "$BENCH_TARGETS")"

bench_shop() {
    _d=$BENCH_DATA/shop-$1
    if [ ! -f "$_d/data/.complete" ]; then
        rm -rf "$_d"
        python3 tests/gen_shop.py --products "$1" --out "$_d/data" >/dev/null
        touch "$_d/data/.complete"
    fi
    echo "$_d/data"
}

bench_conf() {
    mkdir -p "$1"
    _data=$(bench_shop "$2")
    case $_data in /*) ;; *) _data=$PWD/$_data ;; esac
    cat >"$1/posfeed.conf" <<CONF
[shop]
name = Bench $2
timezone = Europe/Amsterdam
currency = EUR
url = https://bench.example
store = store.db
feeds_dir = feeds

[source]
type = file
path = $_data

[sync]
include_variant_stock = yes
include_customers = yes
collect_emails = yes
orders_lookback = all
CONF
}

time_run() {
    _out=$1
    shift
    "$TIME" -v "$@" 2>"$_out"
}

# field FILE NAME: a value from `time -v` output
_field() { sed -n "s/^[[:space:]]*$2: //p" "$1" | tail -1; }
wall() {
    _field "$1" 'Elapsed (wall clock) time (h:mm:ss or m:ss)' |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'
}
cpu() {
    awk -F': ' '/User time|System time/ { s += $2 } END { print s + 0 }' "$1"
}
rss_kb() { _field "$1" 'Maximum resident set size (kbytes)'; }
rss_mb() { _field "$1" 'Maximum resident set size (kbytes)' | awk '{ printf "%.1f", $1 / 1024 }'; }

target() {
    _line=$(awk -v n="$1" -v name="$2" -v v="$3" -v an="$4" -v av="$5" \
                -v op="$6" -v g="$7" -v note="${8:-}" 'BEGIN {
        r = (av > 0) ? v / av : 0
        met = (op == "<=") ? (r <= g) : (r >= g)
        printf "target %-2s %-34s %10.4g vs %-24s %10.4g = %6.2fx (goal %s %s) %s%s\n",
            n, name, v, an, av, r, op, g, met ? "met" : "NOT MET",
            note != "" ? "  " note : "" }')
    echo "$_line"
    echo "$_line" >>"$BENCH_TARGETS"
}

scale() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_SCALE"
}

# The nginx anchor's configuration, written to DIR/nginx.conf: the same
# workers (nproc, at most 4) and settings for every bench, serving
# LOCATION (an nginx location block's body, e.g. "alias /x/feeds/;") at
# /feeds/ on 127.0.0.1:PORT, over TLS with CERT and KEY when given.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
nginx_workers=$(nproc); [ "$nginx_workers" -gt 4 ] && nginx_workers=4
nginx_conf() {      # DIR PORT LOCATION [CERT KEY]
    _nd=$1 _listen="127.0.0.1:$2" _tls=""
    if [ -n "${4:-}" ]; then
        _listen="$_listen ssl"
        _tls="ssl_certificate $4; ssl_certificate_key $5;
        ssl_protocols TLSv1.2 TLSv1.3;"
    fi
    mkdir -p "$_nd/tmp"
    cat >"$_nd/nginx.conf" <<CONF
worker_processes $nginx_workers;
daemon off;
pid $_nd/nginx.pid;
error_log $_nd/error.log;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $_nd/tmp;
    proxy_temp_path $_nd/tmp;
    fastcgi_temp_path $_nd/tmp;
    uwsgi_temp_path $_nd/tmp;
    scgi_temp_path $_nd/tmp;
    types { application/json json; }
    server {
        listen $_listen;
        $_tls
        location /feeds/ { $3 }
    }
}
CONF
}
