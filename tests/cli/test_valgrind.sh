#!/usr/bin/env bash
# workerd (master and child) and the CLI producer under valgrind on a short
# workload: values, a failure, an unknown task, an eta task. Every process
# must end with no memory errors and nothing definitely or indirectly lost.
# Usage: test_valgrind.sh BUILD_DIR
set -u
build="$1"
url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
queue="test-valgrind-$(cat /proc/sys/kernel/random/uuid)"
logs="$(mktemp -d)"
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-fds=no --error-exitcode=99)
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null; rm -rf "$logs"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=1; }

"${vg[@]}" --trace-children=yes --log-file="$logs/workerd.%p.log" \
    "$build/bin/workerd" -A "$build/lib/libexample_tasks.so" -c 1 -Q "$queue" \
    -b "$url" 2>"$logs/workerd.stderr" &
worker=$!
for _ in $(seq 300); do
    grep -q " ready: " "$logs/workerd.stderr" && break
    sleep 0.1
done
call() { "${vg[@]}" --log-file="$logs/cli.%p.log" "$build/bin/celeriac" call "$@" -b "$url" -Q "$queue" --timeout 60; }
for i in 1 2 3; do
    [[ "$(call add "[$i, 1]")" == $((i + 1)) ]] || fail "add($i, 1)"
done
call broken_function '[0]' 2>/dev/null; [[ $? == 1 ]] || fail "broken_function should exit 1"
call nope '[]' 2>/dev/null; [[ $? == 1 ]] || fail "an unknown task should exit 1"
[[ "$(call flaky '[1, 3]')" == 1 ]] || fail "flaky(1, 3)"
kill -TERM $worker
wait $worker
code=$?
[[ $code == 0 ]] || fail "workerd under valgrind exited $code"
for f in "$logs"/*.log; do
    if [[ -s "$f" ]]; then
        fail "valgrind reported in $(basename "$f"):"
        head -40 "$f"
    fi
done
n="$(ls "$logs"/workerd.*.log | wc -l)"
[[ $n -ge 2 ]] || fail "expected logs of the master and a child, got $n"
echo "$failed failed"
[[ $failed == 0 ]]
