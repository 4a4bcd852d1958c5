#!/bin/sh
# make bench, last: every target line the parts printed (bench_lib.sh's
# target), together, so a run ends with what was met and what was not.
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
