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
expect 1 - 'Connection refused (host 127.0.0.1, port 1)' call add '[1, 2]' -b 'amqp://guest:s3cret@127.0.0.1:1//'
# The password never shows in what celeriac prints.
out="$("$build/bin/celeriac" call add '[1, 2]' -b 'amqp://guest:s3cret@127.0.0.1:1//' 2>&1)"
if [[ "$out" == *s3cret* ]]; then echo "FAIL password printed: $out"; failed=$((failed + 1)); fi

# A server that accepts TCP and then says nothing, or answers in another
# protocol: celeriac says what happened, within its --timeout, and never
# blames the credentials. The listener quits by itself after 60 s.
listener_py='
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(0.5)
print(s.getsockname()[1], flush=True)
held, end = [], time.time() + 60
while time.time() < end:
    try:
        c, _ = s.accept()
    except OSError:
        continue
    if sys.argv[1] == "http":
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    held.append(c)
'
expect_not_amqp() { # expect_not_amqp MODE STDERR_SUBSTRING
    local portfile=/tmp/cli.port.$$ lpid port err code start elapsed
    python3 -c "$listener_py" "$1" >"$portfile" &
    lpid=$!
    for _ in $(seq 100); do [[ -s "$portfile" ]] && break; sleep 0.1; done
    port="$(cat "$portfile")"
    rm -f "$portfile"
    start=$(date +%s%N)
    err="$("$build/bin/celeriac" call --timeout 3 add '[1,2]' \
        -b "amqp://guest:s3cret@127.0.0.1:$port//" 2>&1 >/dev/null)"
    code=$?
    elapsed=$((($(date +%s%N) - start) / 1000000))
    kill "$lpid" 2>/dev/null
    wait "$lpid" 2>/dev/null
    echo "     ($1 listener: exit $code in $elapsed ms: $err)"
    if [[ "$code" == 0 || "$elapsed" -ge 10000 || "$err" == *"wrong user"* ||
          "$err" == *s3cret* || "$err" != *"$2"* ]]; then
        echo "FAIL celeriac against a $1 listener"
        failed=$((failed + 1))
    else
        echo "ok   celeriac against a $1 listener"
    fi
}
expect_not_amqp silent 'did not answer the AMQP handshake within 3.0 s'
expect_not_amqp http 'is not an AMQP 0-9-1 broker'

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
expect 3 - 'had no consumer when first used' call add '[1, 2]' \
    -Q "nobody-reads-$queue" -b "$url" --timeout 0.5
lib="$build/lib/libexample_tasks.so"
out="$("$build/bin/workerd" -A "$lib" -A "$lib" -b "$url" 2>&1)"
[[ $? == 1 && "$out" == *'registered twice'*'task "fun"'* ]] &&
    echo "ok   a task name registered twice is named" ||
    { echo "FAIL duplicate task name: $out"; failed=$((failed + 1)); }
# A module named with no slash is the file in the current folder.
out="$(cd "$build/lib" && timeout 5 "$build/bin/workerd" -A libexample_tasks.so \
    -c 1 -Q "$queue-bare" -b "$url" -l info 2>&1)"
[[ "$out" == *'loaded libexample_tasks.so: '*' tasks'* ]] &&
    echo "ok   -A libexample_tasks.so loads from the current folder" ||
    { echo "FAIL -A with a bare name: ${out:0:300}"; failed=$((failed + 1)); }

echo "$failed failed"
[[ $failed == 0 ]]
