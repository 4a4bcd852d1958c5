#!/bin/sh
# make demo: import the bundled demo shop and publish its feeds.
set -eu
cd "$(dirname "$0")/.."
conf=examples/demo/posfeed.conf
# The demo's serve token (docs/serving.md starts the server with it):
# made once, readable by its owner only.
tok=examples/demo/token
if [ ! -s "$tok" ]; then
    rm -f "$tok.new"
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$tok.new" &&
        echo >>"$tok.new") && mv -f "$tok.new" "$tok"
fi
./posfeed -c "$conf" check
./posfeed -c "$conf" run
echo
echo "Published feeds are in $(cd feeds && pwd):"
find feeds -type f ! -name "*.gz" ! -name ".gitkeep" | sort | sed "s/^/  /"
echo
echo "Inspect them with: ./posfeed -c $conf status"
echo "Serve them (docs/serving.md) with the token in $tok:"
echo "  POSFEED_TOKEN=\$(cat $tok) ./posfeed -c $conf serve"
