#!/usr/bin/env bash
# bench_inflight with 5,000 tasks and workers collecting them: it must put
# them all in flight, print the bytes per pending result and the peak RSS,
# collect every result right, and exit 0.
# Usage: test_bench_inflight.sh BUILD_DIR
set -u
build="$1"
export CELERIAC_BROKER_URL="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
out="$(mktemp)"
trap 'rm -f "$out"; [[ -n "${worker:-}" ]] && { kill -TERM $worker; wait $worker; }' EXIT
timeout 100 "$build/bin/bench_inflight" 5000 --collect >"$out" &
bench=$!
for _ in $(seq 200); do
    [[ $(wc -l <"$out") -ge 3 ]] && break
    sleep 0.1
done
queue="$(head -1 "$out" | cut -d' ' -f2)"
"$build/bin/workerd" -A "$build/lib/libexample_tasks.so" -c 2 -Q "$queue" -b "$CELERIAC_BROKER_URL" &
worker=$!
wait $bench
code=$?
cat "$out"
failed=0
[[ $code == 0 ]] || { echo "FAIL bench_inflight exited $code"; failed=1; }
grep -qE '^5000 tasks in flight, sent in' "$out" || { echo "FAIL not all in flight"; failed=1; }
grep -qE '^bytes per pending result: [0-9.]+ \(heap\)' "$out" || { echo "FAIL no bytes figure"; failed=1; }
grep -qE '^producer peak RSS: [0-9.]+ MiB' "$out" || { echo "FAIL no RSS figure"; failed=1; }
grep -qE '^collected 5000 results in' "$out" || { echo "FAIL not collected"; failed=1; }
grep -qE ', 0 wrong$' "$out" || { echo "FAIL wrong results"; failed=1; }
echo "$failed failed"
[[ $failed == 0 ]]
