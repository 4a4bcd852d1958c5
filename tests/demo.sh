#!/bin/sh
# make demo: import the bundled demo shop and publish its feeds.
set -eu
cd "$(dirname "$0")/.."
conf=examples/demo/posfeed.conf
./posfeed -c "$conf" check
./posfeed -c "$conf" run
echo
echo "Published feeds are in $(cd feeds && pwd):"
find feeds -type f ! -name "*.gz" ! -name ".gitkeep" | sort | sed "s/^/  /"
echo
echo "Inspect them with: ./posfeed -c $conf status"
