#!/usr/bin/env bash
# celeriac call against workerd: output and exit codes 0 (success),
# 1 (task failure, broker error), 2 (misuse), 3 (timeout).
# Usage: test_cli.sh BUILD_DIR
set -u
build="$1"
. "$(dirname "$0")/worker.sh"
start_worker test-cli 2
failed=0

expect() { # expect CODE STDOUT_OR_- STDERR_SUBSTRING_OR_- ARGS...
    local want_code="$1" want_out="$2" want_err="$3"
    shift 3
    local out err code
    out="$("$build/bin/celeriac" "$@" 2>/tmp/cli.err.$$)"
    code=$?
    err="$(cat /tmp/cli.err.$$)"
    rm -f /tmp/cli.err.$$
    if [[ "$code" != "$want_code" ]] ||
       [[ "$want_out" != "-" && "$out" != "$want_out" ]] ||
       [[ "$want_err" != "-" && "$err" != *"$want_err"* ]]; then
        echo "FAIL celeriac ${*:1:3}: code $code (want $want_code), out '$out', err '$err'"
        failed=$((failed + 1))
    else
        echo "ok   celeriac ${*:1:3}"
    fi
}

q=(-Q "$queue" -b "$url")
expect 0 5 - call add '[2, 3]' "${q[@]}"
expect 0 42 - call "${q[@]}" add '[]' '{"x": 40, "y": 2}'
expect 0 '[1,"é",null]' - call echo '[[1, "\u00e9", null]]' "${q[@]}"
expect 1 - 'ValueError: Called broken function' call broken_function '[0]' "${q[@]}"
expect 1 - 'NotRegistered: nope' call nope "${q[@]}"
expect 1 - "TypeError: add() missing 1 required positional argument: 'y'" call add '[1]' "${q[@]}"
expect 3 - 'timed out' call slow_sum '[2, 1, 1]' --timeout 0.2 "${q[@]}"
expect 2 - 'usage' call
expect 2 - 'must be a JSON array' call add '{"x": 1}' "${q[@]}"
expect 2 - 'not JSON' call add '[1' "${q[@]}"
expect 2 - 'usage' frobnicate
expect 2 - '--timeout' call add '[1,2]' --timeout soon "${q[@]}"
expect 1 - 'cannot connect' call add '[1, 2]' -b 'amqp://guest:s3cret@127.0.0.1:1//'
# The password never shows in what celeriac prints.
out="$("$build/bin/celeriac" call add '[1, 2]' -b 'amqp://guest:s3cret@127.0.0.1:1//' 2>&1)"
if [[ "$out" == *s3cret* ]]; then echo "FAIL password printed: $out"; failed=$((failed + 1)); fi

# workerd's own command line.
"$build/bin/workerd" --help | grep -q -- "--concurrency" && echo "ok   workerd --help" ||
    { echo "FAIL workerd --help"; failed=$((failed + 1)); }
"$build/bin/workerd" --version | grep -q "workerd (celeriac)" && echo "ok   workerd --version" ||
    { echo "FAIL workerd --version"; failed=$((failed + 1)); }
"$build/bin/workerd" -c 2 >/dev/null 2>&1
[[ $? == 2 ]] && echo "ok   workerd without -A exits 2" ||
    { echo "FAIL workerd without -A"; failed=$((failed + 1)); }
"$build/bin/workerd" -A /nonexistent.so -b "$url" >/dev/null 2>&1
[[ $? == 1 ]] && echo "ok   workerd with a missing module exits 1" ||
    { echo "FAIL workerd with a missing module"; failed=$((failed + 1)); }

echo "$failed failed"
[[ $failed == 0 ]]
