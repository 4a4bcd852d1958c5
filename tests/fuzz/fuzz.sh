#!/bin/sh
# Runs libFuzzer harnesses one after the other (`make fuzz` calls this
# after `make fuzz-build`):
#
#   tests/fuzz/fuzz.sh SECONDS NAME...
#
# Each build/fuzz/fuzz_NAME runs for SECONDS over a scratch copy of its
# corpus (build/fuzz/corpus/NAME, seeded from tests/fuzz/corpus/NAME and
# kept between runs), with tests/fuzz/NAME.dict when there is one. New
# inputs stay in the scratch copy; the repository corpus is never
# written. The first crash, leak, timeout or violated property stops the
# run: the reproducer's path is printed with how to replay and keep it.
# FUZZ_TIMEOUT (default 30) is the seconds one input may take.
set -u
cd "$(dirname "$0")/../.." || exit 2
secs=${1:?usage: fuzz.sh SECONDS NAME...}
shift
timeout=${FUZZ_TIMEOUT:-30}
for name in "$@"; do
    bin=build/fuzz/fuzz_$name
    work=build/fuzz/corpus/$name
    crashes=build/fuzz/crashes/$name
    log=build/fuzz/$name.log
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing (make fuzz-build)" >&2
        exit 2
    fi
    mkdir -p "$work" "$crashes"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
    fi
    dict=
    [ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
    printf 'fuzz %-10s %ss ... ' "$name" "$secs"
    # shellcheck disable=SC2086 # $dict is one word or none
    "$bin" -max_total_time="$secs" -timeout="$timeout" \
        -artifact_prefix="$crashes/" -print_final_stats=1 $dict \
        "$work" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -ne 0 ]; then
        echo "FAILED (exit $rc)"
        grep -E 'ERROR|SUMMARY|runtime error|abort' "$log" | head -10
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "log: $log"
        if [ -n "$repro" ]; then
            echo "reproducer: $repro"
            echo "replay:     $bin $repro"
            echo "keep it:    cp $repro tests/fuzz/corpus/$name/regress-NAME"
        fi
        exit 1
    fi
    echo "ok (${runs:-?} runs)"
done
