#!/bin/sh
# make bench, gzip twin: what `gzip = yes` adds to a feed build. At each
# size, clerk, google and klaviyo-events are built with gzip = yes and
# gzip = no on the same store (runs interleaved, best of 3 each) and the
# difference in CPU (user + system: on a shared machine wall time mostly
# measures the neighbours) is printed against the build with gzip.
#
#   BENCH_SIZES="10000 200000" make bench     (the default sizes)
#   POSFEED=/other/posfeed tests/bench_gzip.sh (another build, to compare)
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh

FEEDS="clerk google klaviyo-events"
POSFEED=${POSFEED:-./posfeed}
# another build elsewhere still renders this checkout's templates
POSFEED_TEMPLATES=${POSFEED_TEMPLATES:-$PWD/templates}
export POSFEED_TEMPLATES

# best LIST: the smallest of the numbers in LIST
best() { printf '%s\n' $1 | sort -g | head -1; }

printf '%-9s %-15s %5s %9s %9s %9s %9s %11s %11s\n' products feed gzip \
    cpu_s wall_s cpu_no wall_no feed_MB gz_MB
for n in $BENCH_SIZES; do
    dir=bench/gzip-$n
    bench_conf "$dir" "$n"
    cat >>"$dir/posfeed.conf" <<CONF

[feed clerk]
template = clerk
output = clerk.json
gzip = yes
[feed google]
template = google-shopping
output = google.xml
gzip = yes
[feed klaviyo-events]
template = klaviyo-events
output = klaviyo-events.ndjson
gzip = yes
CONF
    sed 's/^gzip = yes$/gzip = no/' "$dir/posfeed.conf" >"$dir/nogzip.conf"
    rm -f "$dir"/store.db* "$dir"/feeds/*
    "$POSFEED" -q -c "$dir/posfeed.conf" sync >/dev/null
    for f in $FEEDS; do
        cy="" wy="" cn="" wn=""
        for i in 1 2 3; do
            time_run "$dir/$f.yes.time" "$POSFEED" -q \
                -c "$dir/posfeed.conf" build --force "$f" >/dev/null
            cy="$cy $(cpu "$dir/$f.yes.time")"
            wy="$wy $(wall "$dir/$f.yes.time")"
            # gzip = no also removes the twin: keep a copy for its size
            gz_b=$(sqlite3 "$dir/store.db" "SELECT gz_bytes FROM feeds
                WHERE name = '$f'")
            time_run "$dir/$f.no.time" "$POSFEED" -q \
                -c "$dir/nogzip.conf" build --force "$f" >/dev/null
            cn="$cn $(cpu "$dir/$f.no.time")"
            wn="$wn $(wall "$dir/$f.no.time")"
        done
        cy=$(best "$cy") wy=$(best "$wy") cn=$(best "$cn") wn=$(best "$wn")
        b=$(sqlite3 "$dir/store.db" "SELECT bytes FROM feeds
            WHERE name = '$f'")
        awk -v n="$n" -v f="$f" -v cy="$cy" -v wy="$wy" -v cn="$cn" \
            -v wn="$wn" -v b="$b" -v g="$gz_b" 'BEGIN {
            printf "%-9s %-15s %5s %9.2f %9.2f %9.2f %9.2f %11.1f %11.1f\n",
                n, f, "yes", cy, wy, cn, wn, b / 1048576, g / 1048576 }'
        d=$(awk -v a="$cy" -v b="$cn" 'BEGIN { print a - b }')
        dw=$(awk -v a="$wy" -v b="$wn" 'BEGIN { print a - b }')
        target 3 "gzip twin cost, $f $n" "$d" "build cpu (s)" "$cy" \
            "<=" 0.10 "(wall $dw of $wy s; twin $gz_b of $b bytes)"
    done
done
echo
echo "gzip twin: CPU (user+sys) of \`posfeed build --force FEED\` with"
echo "        gzip = yes minus gzip = no, best of 3 each, interleaved"
