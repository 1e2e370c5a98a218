#!/usr/bin/env bash
# The example producer against workerd -c 4: one "[x, x*x, pid]" line per
# x, every x once with the right square, and the closing count of results.
# Usage: test_demo.sh BUILD_DIR
set -u
build="$1"
. "$(dirname "$0")/worker.sh"
start_worker test-demo 4

# CELERIAC_QUEUE sets the client's default queue.
out="$(CELERIAC_BROKER_URL="$url" CELERIAC_QUEUE="$queue" timeout 60 "$build/bin/demo" 30)"
code=$?
echo "$out"
failed=0
[[ $code == 0 ]] || { echo "FAIL demo exited $code"; failed=1; }
for x in $(seq 30); do
    if ! grep -qE "^\[$x, $((x * x)), [0-9]+\]$" <<<"$out"; then
        echo "FAIL no line for x=$x"
        failed=1
    fi
done
lines="$(grep -cE '^\[[0-9]+, [0-9]+, [0-9]+\]$' <<<"$out")"
[[ "$lines" == 30 ]] || { echo "FAIL $lines result lines, want 30"; failed=1; }
grep -qE '^30 results from [1-4] processes' <<<"$out" || { echo "FAIL no summary"; failed=1; }
echo "$failed failed"
[[ $failed == 0 ]]
