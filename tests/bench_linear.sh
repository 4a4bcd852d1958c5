#!/bin/sh
# make bench, target 1: every built-in template scales linearly. On the
# synthetic file-source shops of the smallest and the largest size in
# BENCH_SIZES, each template is built alone (best of 3) and its time per
# item compared: per item at the largest size within 1.2x of per item at
# the smallest. klaviyo-events is also compared with the sqlite3 CLI
# reading the same rows (orders, their lines and each line's product URL,
# first image and category names) as one plain join: within 1.5x.
#
# Time is CPU (user + system) of the whole command: wall time on a shared
# machine measures the neighbours. Startup (config, templates, store
# check, publishing) is in it, so small builds carry it per item. The
# feeds have no gzip twin: its cost is target 3's (tests/bench_gzip.sh),
# linear in the bytes, and the sqlite3 anchor compresses nothing either.
#
#   BENCH_SIZES="10000 1000000" BENCH_DATA=/work/bench-data \
#       tests/bench_linear.sh
#   BENCH_KEEP_STORE=1 reuses a store synced by an earlier run
#   BENCH_RUNS=1 builds each feed once at the largest size (default 3;
#   the smallest is always built 3 times)
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh

small=$(printf '%s\n' $BENCH_SIZES | sort -n | head -1)
large=$(printf '%s\n' $BENCH_SIZES | sort -n | tail -1)
sizes=$small
[ "$large" != "$small" ] && sizes="$small $large"
# feed name:template, one per built-in template
feeds="clerk:clerk clerk-products:clerk-products
clerk-categories:clerk-categories clerk-orders:clerk-orders
clerk-customers:clerk-customers clerk-pages:clerk-pages
google:google-shopping meta:meta-catalog
klaviyo-catalog:klaviyo-catalog-json
klaviyo-catalog-xml:klaviyo-catalog-xml
klaviyo-events:klaviyo-events klaviyo-profiles:klaviyo-profiles"

# The rows klaviyo-events reads, as a merchant would join them: each
# order with its properties, its lines, and per line the product's URL,
# first image and visible category names.
anchor_sql="SELECT o.*, (SELECT json_group_object(name, json(value))
  FROM properties pr WHERE pr.entity = 'order' AND pr.entity_id = o.id),
  l.*, p.url,
  (SELECT url FROM images WHERE product_id = p.id ORDER BY position
   LIMIT 1),
  (SELECT group_concat(name, char(31)) FROM (SELECT c.name
   FROM product_categories pc JOIN categories c ON c.id = pc.category_id
   WHERE pc.product_id = p.id AND c.shown = 1 ORDER BY pc.position))
FROM orders o JOIN order_lines l ON l.order_id = o.id
LEFT JOIN products p ON p.id = l.product_id
ORDER BY o.id, l.position;"

# best RUNS CMD...: runs CMD RUNS times under time -v, keeping the run of
# least CPU in $dir/best.time; the worst peak RSS goes in $worst_rss.
best() {
    _runs=$1
    shift
    _bc=""
    worst_rss=0
    for _i in $(seq "$_runs"); do
        "$TIME" -v "$@" 2>"$dir/run.time" >/dev/null
        _c=$(cpu "$dir/run.time")
        _k=$(rss_kb "$dir/run.time")
        [ "$_k" -gt "$worst_rss" ] && worst_rss=$_k
        if [ -z "$_bc" ] || awk -v a="$_c" -v b="$_bc" 'BEGIN { exit !(a < b) }'
        then
            _bc=$_c
            cp "$dir/run.time" "$dir/best.time"
        fi
    done
}

printf '%-9s %-20s %9s %8s %8s %12s %9s\n' products template items \
    "wall s" "cpu s" "cpu us/item" "peak RSS"
for n in $sizes; do
    dir=bench/linear-$n
    runs=3
    [ "$n" = "$small" ] || runs=${BENCH_RUNS:-3}
    if [ "${BENCH_KEEP_STORE:-}" = "" ] || [ ! -f "$dir/.synced" ]; then
        rm -rf "$dir"
        bench_conf "$dir" "$n"
        ./posfeed -q -c "$dir/posfeed.conf" sync >/dev/null
        echo "$n" >"$dir/.synced"
    fi
    bench_conf "$dir" "$n"
    for fe in $feeds; do
        f=${fe%%:*}
        printf '\n[feed %s]\ntemplate = %s\noutput = %s.out\ngzip = no\n' \
            "$f" "${fe#*:}" "$f" >>"$dir/posfeed.conf"
    done
    for fe in $feeds; do
        f=${fe%%:*}
        best "$runs" ./posfeed -q -c "$dir/posfeed.conf" build --force "$f"
        i=$(sqlite3 "$dir/store.db" "SELECT items FROM feeds
            WHERE name = '$f'")
        c=$(cpu "$dir/best.time")
        echo "$f $i $c" >>"$dir/per-item.new"
        awk -v n="$n" -v f="$f" -v i="$i" -v w="$(wall "$dir/best.time")" \
            -v c="$c" -v k="$worst_rss" 'BEGIN {
            printf "%-9s %-20s %9d %8.2f %8.2f %12s %6.1f MB\n", n, f, i,
                w, c, (i > 0 ? sprintf("%.2f", c / i * 1e6) : "-"), k / 1024 }'
    done
    mv "$dir/per-item.new" "$dir/per-item"
    # the anchor for klaviyo-events: sqlite3 reading the same rows
    best "$runs" sqlite3 "$dir/store.db" "$anchor_sql"
    echo "$(cpu "$dir/best.time")" >"$dir/anchor"
    awk -v n="$n" -v w="$(wall "$dir/best.time")" \
        -v c="$(cpu "$dir/best.time")" -v k="$worst_rss" 'BEGIN {
        printf "%-9s %-20s %9s %8.2f %8.2f %12s %6.1f MB\n", n,
            "sqlite3 events join", "-", w, c, "-", k / 1024 }'
done

echo
for fe in $feeds; do
    f=${fe%%:*}
    set -- $(awk -v f="$f" '$1 == f { print $2, $3 }' \
        "bench/linear-$small/per-item")
    i0=$1 c0=$2
    set -- $(awk -v f="$f" '$1 == f { print $2, $3 }' \
        "bench/linear-$large/per-item")
    i1=$1 c1=$2
    if [ "$i0" -eq 0 ] || [ "$i1" -eq 0 ]; then
        echo "target 1 $f: no items in the bench shop (not measured)"
        continue
    fi
    [ "$large" = "$small" ] && continue
    # A collection that does not grow with the catalog (the generator
    # makes the same ~200 categories at every size) has no per-item
    # trend: its time is the build's fixed start-up.
    if [ "$i1" -lt $((i0 * 2)) ]; then
        echo "target 1 $f: $i0 items at $small, $i1 at $large" \
            "(does not grow with the shop; not measured)"
        continue
    fi
    target 1 "$f s/item, $large vs $small" \
        "$(awk -v c="$c1" -v i="$i1" 'BEGIN { printf "%.4g", c / i }')" \
        "s/item at $small" \
        "$(awk -v c="$c0" -v i="$i0" 'BEGIN { printf "%.4g", c / i }')" \
        "<=" 1.2
done
for n in $sizes; do
    target 1 "klaviyo-events / sqlite3, $n" \
        "$(awk '$1 == "klaviyo-events" { print $3 }' \
            "bench/linear-$n/per-item")" \
        "sqlite3 join (s)" "$(cat "bench/linear-$n/anchor")" "<=" 1.5
done
echo
echo "cpu = user + system seconds of the best of 3 builds of one feed"
echo "(of BENCH_RUNS=${BENCH_RUNS:-3} at $large)"
echo "(startup included, gzip twin off); peak RSS = the worst of the 3"
