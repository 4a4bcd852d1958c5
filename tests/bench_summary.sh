#!/bin/sh
# make bench, last: every target line the parts printed (bench_lib.sh's
# target), together, so a run ends with what was met and what was not;
# then the scale table (target 6) as Markdown, the one README shows.
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh
echo
echo "targets (value vs anchor measured in the same run):"
if [ -s "$BENCH_TARGETS" ]; then
    cat "$BENCH_TARGETS"
else
    echo "  none measured"
fi

[ -s "$BENCH_SCALE" ] || exit 0
echo
echo "scale (wall s / user+sys s, output or store MB, peak RSS MB):"
echo
sort -t "$(printf '\t')" -k2,2 -k1,1n -s "$BENCH_SCALE" | awk -F '\t' '
BEGIN {
    print "| what | products | items or rows | wall s | CPU s | MB | peak RSS MB |"
    print "|---|--:|--:|--:|--:|--:|--:|"
}
{
    printf "| %s | %d | %s | %.2f | %.2f | %.1f | %.1f |\n", $2, $1, $3,
        $4, $5, $6 / 1048576, $7 / 1024
}'
