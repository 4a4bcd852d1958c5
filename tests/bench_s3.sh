#!/bin/sh
# make bench, object storage (issue 15): the clerk feed of the
# BENCH_S3_PRODUCTS (200000) shop and its gzip twin uploaded to a local
# s3rver ([publish], publish_s3.c) by `posfeed build`, and the same two
# files uploaded to the same s3rver by `curl --aws-sigv4 -T FILE`, one
# after the other as posfeed does, in the same run. Both sign the real
# payload hash (x-amz-content-sha256), computed beforehand for curl as
# posfeed has it from the local publish. Prints MB/s (best of
# BENCH_RUNS) and a target line (goal: posfeed >= 0.8x curl).
#
# posfeed's figure is its own upload time (the "upload: ... in T s" line:
# the PUTs only, not the build before them), so both sides measure the
# same work: read the file, sign, send, wait for the answer. The objects
# are deleted before each of those builds, so each one uploads.
#
# Then the unchanged run: two more builds with the clock pinned
# (POSFEED_NOW: the clerk template writes the build time), the second of
# which finds both objects in the bucket. Its upload time and the
# requests s3rver logged for it (HEADs, PUTs) are printed beside the
# upload's.
set -eu
cd "$(dirname "$0")/.."
. tests/bench_lib.sh
n=${BENCH_S3_PRODUCTS:-200000}
root=$PWD/bench/s3
BIN=${POSFEED_BIN:-$PWD/posfeed}
S3RVER=$PWD/tests/node/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || { echo "bench_s3: s3rver is needed (npm ci in" \
                           "tests/node)"; exit 2; }

rm -rf "$root"
mkdir -p "$root/s3"
# FORCE_COLOR: s3rver's request log cuts a fixed number of characters of
# colour codes from each line, so without them it cuts the method off.
FORCE_COLOR=1 "$S3RVER" -d "$root/s3" -a 127.0.0.1 -p 0 \
    --allow-mismatched-signatures --no-vhost-buckets \
    --configure-bucket bench >"$root/s3rver.out" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null || true' EXIT INT TERM
# Find the port it bound.
port=
for _ in $(seq 50); do
    port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$spid," \
        'index($0, p) { sub(/.*:/, "", $4); print $4; exit }')
    [ -n "$port" ] && break
    sleep 0.2
done
[ -n "$port" ] || { echo "bench_s3: s3rver did not start"; \
                    cat "$root/s3rver.out"; exit 1; }
url=http://127.0.0.1:$port

printf 'bench-secret\n' >"$root/secret"
bench_conf "$root/shop" "$n"
cat >>"$root/shop/posfeed.conf" <<CONF

[feed clerk]
template = clerk

[publish]
url = s3://bench/posfeed
endpoint = $url
access_key = env:BENCH_S3_ACCESS
secret_key_file = $root/secret
private_feeds = yes
retries = 0
CONF
export BENCH_S3_ACCESS=S3RVER
"$BIN" -q -c "$root/shop/posfeed.conf" sync >/dev/null
feeds=$root/shop/feeds

# A signed request without a body by curl: s3 METHOD KEY.
empty=$(printf '' | sha256sum | cut -d' ' -f1)
s3() {
    m=$1 k=$2
    curl -sS -f -o /dev/null -X "$m" --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "S3RVER:bench-secret" -H "x-amz-content-sha256: $empty" \
        "$url/bench/$k"
}
upload_time() {
    sed -n 's/^upload: .* in \([0-9.]*\) s.*/\1/p'
}
best_p=
for _ in $(seq "$BENCH_RUNS"); do
    for k in clerk.json clerk.json.gz; do s3 DELETE "posfeed/$k"; done
    t=$("$BIN" -q -c "$root/shop/posfeed.conf" build | upload_time)
    [ -n "$t" ] || { echo "bench_s3: posfeed did not upload"; exit 1; }
    best_p=$(echo "$t ${best_p:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
done

# The unchanged run: what s3rver logged while it ran (one "info: METHOD
# PATH STATUS ..." line per answer).
POSFEED_NOW=2026-11-20T12:00:00Z "$BIN" -q -c "$root/shop/posfeed.conf" \
    build >/dev/null
mark=$(wc -l <"$root/s3rver.out")
out=$(POSFEED_NOW=2026-11-20T12:00:00Z "$BIN" -q \
    -c "$root/shop/posfeed.conf" build)
t_same=$(echo "$out" | upload_time)
echo "$out" | grep -q '^upload: 0 objects.*, 2 unchanged' ||
    { echo "bench_s3: the unchanged run uploaded: $out"; exit 1; }
sleep 0.5       # s3rver's log is written after the answer
reqs=$(tail -n "+$((mark + 1))" "$root/s3rver.out" |
    sed 's/\x1b\[[0-9;]*m//g' | awk '$1 == "info:" && $3 ~ /^\// { n[$2]++ }
    END { printf "%d HEAD, %d PUT", n["HEAD"], n["PUT"] }')
files="$feeds/clerk.json $feeds/clerk.json.gz"
bytes=$(stat -c %s $files | awk '{ s += $1 } END { print s }')

# curl: the same files, the same signing, the hash computed beforehand.
for f in $files; do sha256sum "$f" | cut -d' ' -f1 >"$f.sha"; done
best_c=
for _ in $(seq "$BENCH_RUNS"); do
    t0=$(date +%s.%N)
    for f in $files; do
        curl -sS -f -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" \
            --user "S3RVER:bench-secret" \
            -H "x-amz-content-sha256: $(cat "$f.sha")" \
            -H "Content-Type: application/json" \
            -T "$f" "$url/bench/curl/$(basename "$f")"
    done
    t1=$(date +%s.%N)
    t=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
    best_c=$(echo "$t ${best_c:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
done

mbs() { echo "$bytes $1" | awk '{ printf "%.1f", $1 / 1048576 / $2 }'; }
echo "s3 upload, $n products, clerk feed + twin ($(echo "$bytes" |
    awk '{ printf "%.1f", $1 / 1048576 }') MB):"
echo "  posfeed  $(mbs "$best_p") MB/s ($best_p s)"
echo "  posfeed, unchanged second run  $t_same s ($reqs)"
echo "  curl     $(mbs "$best_c") MB/s ($best_c s)"
target 15s3 "S3 upload MB/s" "$(mbs "$best_p")" "curl --aws-sigv4 MB/s" \
    "$(mbs "$best_c")" ">=" 0.8
