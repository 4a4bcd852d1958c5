#!/bin/sh
# make bench, import: `posfeed sync` of a synthetic file-source shop into a
# fresh store at each size, in store rows written per second, with peak RSS.
#
#   BENCH_SIZES="10000 200000" make bench     (the default sizes)
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh

printf '%-9s %-7s %12s %10s %12s %10s\n' products step rows seconds rate "peak RSS"
for n in $BENCH_SIZES; do
    dir=bench/import-$n
    bench_conf "$dir" "$n"
    rm -f "$dir"/store.db*
    time_run "$dir/sync.time" ./posfeed -q -c "$dir/posfeed.conf" sync >/dev/null
    rows=$(sqlite3 "$dir/store.db" "SELECT (SELECT count(*) FROM locations)
        + (SELECT count(*) FROM categories) + (SELECT count(*) FROM products)
        + (SELECT count(*) FROM variants) + (SELECT count(*) FROM stock)
        + (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)
        + (SELECT count(*) FROM order_lines)
        + (SELECT count(*) FROM product_categories)
        + (SELECT count(*) FROM images) + (SELECT count(*) FROM attributes)")
    s=$(wall "$dir/sync.time")
    awk -v n="$n" -v r="$rows" -v s="$s" -v k="$(rss_mb "$dir/sync.time")" 'BEGIN {
        printf "%-9s %-7s %12d %10.2f %8.0f r/s %7.1f MB\n", n, "import", r, s, r / (s > 0 ? s : 0.01), k }'
done
echo "import: all store rows written per second of \`posfeed sync\` (fresh store)"
