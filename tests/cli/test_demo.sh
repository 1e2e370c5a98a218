#!/usr/bin/env bash
# The example producer against workerd -c 4: one "[x, x*x, pid]" line per
# x, every x once with the right square, and the closing count of results.
# Usage: test_demo.sh BUILD_DIR
set -u
build="$1"
url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
queue="test-demo-$(cat /proc/sys/kernel/random/uuid)"
"$build/bin/workerd" -A "$build/lib/libexample_tasks.so" -c 4 -Q "$queue" -b "$url" &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker' EXIT

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
