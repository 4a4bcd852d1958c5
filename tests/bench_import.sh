#!/bin/sh
# make bench, import (issue 13, target 4): `posfeed sync` of a synthetic
# file-source shop into a fresh store at each size, in store rows written
# per second and peak RSS, against an anchor run right after it.
#
# The anchor: the sqlite3 shell's `.import` of exactly the same rows into a
# database with exactly the same schema. Outside any timing, the rows of
# the 11 entity tables posfeed just wrote (locations, categories,
# products, variants, stock, customers, orders, order_lines,
# product_categories, images, attributes) are exported to one CSV file
# per table by Python (csv module, no header), and the schema is copied
# with `sqlite3 store.db .schema` (tables, indexes, triggers). The timed
# part is one sqlite3 process that opens a fresh database with posfeed's
# pragmas (journal_mode WAL, synchronous NORMAL), creates that schema and
# runs `.import --csv` of each file into its table (the shell wraps each
# .import in one transaction; sqlite3 leaves foreign keys off, posfeed
# checks them). So the anchor does the storage work (B-tree inserts, the
# same indexes, WAL writes, checkpoint) and none of posfeed's (NDJSON
# parsing, validation, reference checks, upserts against stored rows,
# the snapshot bookkeeping).
#
# Each side runs BENCH_RUNS times (default 3), the best wall time and its
# CPU (user+sys) are kept; RSS is the largest peak of the runs.
#
# Targets printed per size:
#   target 4 "import rows/s N"  posfeed rows/s vs .import rows/s, >= 0.8
#   target 4 "import RSS N vs <first size>"  peak RSS at N vs at the first
#       (smallest) size of BENCH_SIZES, <= 1.2: memory flat with the data.
#
#   BENCH_DATA=/work/bench-data BENCH_SIZES="10000 200000 1000000" \
#       sh tests/bench_import.sh
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh

TABLES="locations categories products variants stock customers orders
order_lines product_categories images attributes"

# export_csv DB DIR: one headerless CSV per table of TABLES, in DIR.
export_csv() {
    python3 - "$1" "$2" $TABLES <<'PY'
import csv, sqlite3, sys
db, out, tables = sys.argv[1], sys.argv[2], sys.argv[3:]
con = sqlite3.connect(db)
for t in tables:
    with open("%s/%s.csv" % (out, t), "w", newline="") as f:
        w = csv.writer(f)
        for row in con.execute("SELECT * FROM " + t):
            w.writerow(["" if v is None else v for v in row])
con.close()
PY
}

# anchor_script DB DIR: the sqlite3 shell input of the anchor.
anchor_script() {
    echo "PRAGMA journal_mode = WAL;"
    echo "PRAGMA synchronous = NORMAL;"
    sqlite3 "$1" .schema | grep -v '^CREATE TABLE sqlite_'
    for t in $TABLES; do
        echo ".import --csv $2/$t.csv $t"
    done
}

# best_of N OUTPREFIX CMD...: runs CMD N times under time -v into
# OUTPREFIX.K; leaves the fastest in OUTPREFIX and the largest RSS in
# OUTPREFIX.rss (KiB). Each run starts from no store (BEST_RM).
best_of() {
    _n=$1 _o=$2
    shift 2
    _best= _rss=0 _k=1
    while [ "$_k" -le "$_n" ]; do
        rm -f $BEST_RM
        time_run "$_o.$_k" "$@" >/dev/null
        _w=$(wall "$_o.$_k")
        _r=$(rss_kb "$_o.$_k")
        [ "$_r" -gt "$_rss" ] && _rss=$_r
        if [ -z "$_best" ] || awk -v a="$_w" -v b="$_best" \
            'BEGIN { exit !(a < b) }'; then
            _best=$_w
            cp "$_o.$_k" "$_o"
        fi
        _k=$((_k + 1))
    done
    echo "$_rss" >"$_o.rss"
}

printf '%-9s %-8s %10s %8s %8s %12s %9s\n' products step rows wall cpu \
    rate "peak RSS"
base_rss= base_n=
for n in $BENCH_SIZES; do
    dir=bench/import-$n
    bench_conf "$dir" "$n"
    BEST_RM="$dir/store.db $dir/store.db-wal $dir/store.db-shm"
    best_of "$BENCH_RUNS" "$dir/sync.time" \
        ./posfeed -q -c "$dir/posfeed.conf" sync
    rows=0
    for t in $TABLES; do
        rows=$((rows + $(sqlite3 "$dir/store.db" "SELECT count(*) FROM $t")))
    done

    rm -rf "$dir/csv" && mkdir -p "$dir/csv"
    export_csv "$dir/store.db" "$dir/csv"
    anchor_script "$dir/store.db" "$dir/csv" >"$dir/anchor.sql"
    BEST_RM="$dir/anchor.db $dir/anchor.db-wal $dir/anchor.db-shm"
    best_of "$BENCH_RUNS" "$dir/anchor.time" \
        sh -c "sqlite3 '$dir/anchor.db' <'$dir/anchor.sql'"
    arows=0
    for t in $TABLES; do
        arows=$((arows + $(sqlite3 "$dir/anchor.db" \
            "SELECT count(*) FROM $t")))
    done
    [ "$arows" -eq "$rows" ] ||
        echo "bench_import: the anchor holds $arows rows, posfeed $rows" >&2

    for side in sync anchor; do
        awk -v n="$n" -v st="$side" -v r="$rows" \
            -v s="$(wall "$dir/$side.time")" -v c="$(cpu "$dir/$side.time")" \
            -v k="$(cat "$dir/$side.time.rss")" 'BEGIN {
            printf "%-9s %-8s %10d %8.2f %8.2f %8.0f r/s %6.1f MB\n",
                n, st == "sync" ? "posfeed" : ".import", r, s, c,
                r / (s > 0 ? s : 0.01), k / 1024 }'
    done
    prate=$(awk -v r="$rows" -v s="$(wall "$dir/sync.time")" \
        'BEGIN { print r / (s > 0 ? s : 0.01) }')
    arate=$(awk -v r="$rows" -v s="$(wall "$dir/anchor.time")" \
        'BEGIN { print r / (s > 0 ? s : 0.01) }')
    target 4 "import rows/s $n" "$prate" "sqlite3 .import rows/s" \
        "$arate" ">=" 0.8 "cpu $(cpu "$dir/sync.time") s vs $(cpu \
"$dir/anchor.time") s"
    rss=$(cat "$dir/sync.time.rss")
    if [ -z "$base_rss" ]; then
        base_rss=$rss base_n=$n
    fi
    target 4 "import RSS $n vs $base_n" "$rss" "RSS at $base_n (KiB)" \
        "$base_rss" "<=" 1.2
    scale "$n" import "$rows" "$(wall "$dir/sync.time")" \
        "$(cpu "$dir/sync.time")" "$(stat -c %s "$dir/store.db")" "$rss"
    rm -rf "$dir/csv" "$dir"/anchor.db*
done
echo "import: rows of the 11 entity tables written per second of" \
    "\`posfeed sync\` (fresh store) vs sqlite3 .import of the same rows"
