#!/bin/sh
# Runs every unit test binary, every fuzz corpus replay and the end-to-end
# suite once per build directory given (plain, then ASan+UBSan), and ends
# with one summary line: "N passed, N failed". Exits non-zero on any
# failure.
set -u
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
logdir=build/test-logs
mkdir -p "$logdir"

count() { # $1: log file; reads cmocka and unittest summaries
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    echo "$p $f"
}

for b in "$@"; do
    flavour=plain
    [ "$b" = build/asan ] && flavour="asan+ubsan"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    for t in "$b"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        log="$logdir/$flavour-$name.log"
        "$t" >"$log" 2>&1
        rc=$?
        res=$(count "$log")
        p=${res% *}
        f=${res#* }
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1   # crashed or sanitizer report: counts as a failure
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -ne 0 ]; then
            echo "FAIL [$flavour] $name (see $log):"
            grep -E 'FAILED|ERROR|error|Sanitizer|runtime error' "$log" | head -20
        else
            echo "ok   [$flavour] $name: $p passed"
        fi
    done
    # Fuzz corpora: every file of tests/fuzz/corpus/NAME through its
    # harness once (tests/fuzz/replay.c); one test per harness.
    for r in "$b"/tests/replay_*; do
        [ -x "$r" ] || continue
        name=${r##*/replay_}
        log="$logdir/$flavour-replay_$name.log"
        if "$r" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
            passed=$((passed + 1))
            echo "ok   [$flavour] fuzz corpus $name: $(tail -1 "$log")"
        else
            failed=$((failed + 1))
            echo "FAIL [$flavour] fuzz corpus $name (see $log):"
            grep -E 'replay:|ERROR|Sanitizer|runtime error' "$log" | tail -8
        fi
    done
    # End to end: the real CLI on fixture shops.
    log="$logdir/$flavour-e2e.log"
    POSFEED_BIN="$PWD/$b/posfeed" python3 -m unittest discover -s tests/e2e \
        -p 'test_*.py' -v >"$log" 2>&1
    rc=$?
    ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -1)
    ran=${ran:-0}
    bad=$(grep -cE '(FAIL|ERROR)$' "$log")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    passed=$((passed + ran - bad))
    failed=$((failed + bad))
    if [ "$bad" -ne 0 ]; then
        echo "FAIL [$flavour] e2e (see $log):"
        grep -E '(FAIL|ERROR)' "$log" | head -30
        grep -A15 -E '^(FAIL|ERROR):' "$log" | head -80
    else
        echo "ok   [$flavour] e2e: $ran passed"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
