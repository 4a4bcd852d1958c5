#!/bin/sh
# Runs every unit test binary, every fuzz corpus replay and the end-to-end
# suite once per build directory given (plain, then ASan+UBSan), and ends
# with one summary line: "N passed, N failed, N skipped", after the name
# of every skipped test and why. Exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
skipped=0
logdir=build/test-logs
mkdir -p "$logdir"
skiplist="$logdir/skipped"
: >"$skiplist"

count() { # $1: log file; reads cmocka summaries: "passed failed skipped"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below.*/\1/p' \
        "$1" | awk '{s+=$1} END {print s+0}')
    echo "$p $f $s"
}

# The tests a log says were skipped, one "[flavour] what: why" line each,
# appended to $skiplist. $1: flavour, $2: what ran, $3: log.
cmocka_skips() {
    grep '^\[  SKIPPED \] ' "$3" | grep -v 'test(s), listed below:' |
        sed 's/^\[  SKIPPED \] //' | sort -u |
        sed "s/^/[$1] $2 /; s/\$/: skip()/" >>"$skiplist"
}
# unittest -v prints "name (module.Class.name) ... skipped 'why'", with
# the docstring's first line, or warnings the test printed, between the
# name and the result; so the name is the last test line seen.
unittest_skips() {
    awk -v fl="$1" '
        /^[A-Za-z_][A-Za-z0-9_]* \([A-Za-z0-9_.]*\)/ {
            test = $0; sub(/\) .*/, ")", test)
        }
        / \.\.\. skipped \047/ || /^skipped \047/ {
            why = $0; sub(/.*skipped \047/, "", why); sub(/\047$/, "", why)
            print "[" fl "] e2e " test ": " why
        }' "$2" >>"$skiplist"
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
        p=${res%% *}
        res=${res#* }
        f=${res% *}
        s=${res#* }
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1   # crashed or sanitizer report: counts as a failure
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + s))
        [ "$s" -eq 0 ] || cmocka_skips "$flavour" "$name" "$log"
        if [ "$f" -ne 0 ]; then
            echo "FAIL [$flavour] $name (see $log):"
            grep -E 'FAILED|ERROR|error|Sanitizer|runtime error' "$log" | head -20
        else
            msg="$p passed"
            [ "$s" -eq 0 ] || msg="$msg, $s skipped"
            echo "ok   [$flavour] $name: $msg"
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
    # unittest's last line: "OK (skipped=N)" or "FAILED (..., skipped=N)".
    skip=$(grep -E '^(OK|FAILED) \(' "$log" | tail -1 |
        sed -n 's/.*skipped=\([0-9]*\).*/\1/p')
    skip=${skip:-0}
    [ "$skip" -eq 0 ] || unittest_skips "$flavour" "$log"
    passed=$((passed + ran - bad - skip))
    failed=$((failed + bad))
    skipped=$((skipped + skip))
    if [ "$bad" -ne 0 ]; then
        echo "FAIL [$flavour] e2e (see $log):"
        grep -E '(FAIL|ERROR)' "$log" | head -30
        grep -A15 -E '^(FAIL|ERROR):' "$log" | head -80
        # A server that died (abort, sanitizer) logged why; the tests
        # print its log's end after "posfeed serve exited".
        grep -A12 -E 'posfeed serve exited|Fatal error in GNU' "$log" |
            head -40
    else
        msg="$((ran - skip)) passed"
        [ "$skip" -eq 0 ] || msg="$msg, $skip skipped"
        echo "ok   [$flavour] e2e: $msg"
    fi
done
if [ "$skipped" -ne 0 ]; then
    echo "skipped (see $skiplist):"
    sed 's/^/  /' "$skiplist"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
