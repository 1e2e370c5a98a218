#!/usr/bin/env bash
# celeriac status, purge and map against the suite's broker and workerd:
# counts of an idle queue and of one with tasks nobody reads; a missing
# queue reported and never created (the broker's own list says so); purge
# -f empties a queue and says how many went, purge without -f and with no
# terminal refuses (exit 2) and deletes nothing; map gives 200 results in
# input order, also when later tasks finish first, a failing line gives
# null, a line on stderr and exit 1, and --json parses; the progress bar
# stays off when stderr is not a terminal; --help everywhere.
# Usage: test_ops.sh BUILD_DIR SCRIPTS_DIR
set -u
build="$1"
scripts="$2"
. "$(dirname "$0")/worker.sh"
start_worker test-ops 2
cel="$build/bin/celeriac"
tmp="$(mktemp -d)"
trap 'kill -TERM $worker 2>/dev/null; wait $worker; rm -rf "$tmp"' EXIT
failed=0
py=/usr/bin/python3

run() { # run ARGS...: sets $code, $out and $err
    out="$("$cel" "$@" 2>"$tmp/err")"
    code=$?
    err="$(cat "$tmp/err")"
}

check() { # check NAME CONDITION (a bash expression over $code $out $err)
    if eval "$2"; then
        echo "ok   $1"
    else
        echo "FAIL $1: code $code, out '${out:0:400}', err '${err:0:400}'"
        failed=$((failed + 1))
    fi
}

# The broker's own list of queues, for what celeriac must not create.
broker_has_queue() {
    "$scripts/broker" ctl list_queues name | grep -qxF "$1"
}

uuid() { cat /proc/sys/kernel/random/uuid; }
b=(-b "$url")

# The worker's queue: empty, and read by its two children once they run.
for _ in $(seq 150); do
    run status "$queue" "${b[@]}" --json
    [[ "$out" == *'"consumers":2'* ]] && break
    sleep 0.2
done
check "status of an idle queue (json)" \
    '[[ $code == 0 && $out == "[{\"queue\":\"$queue\",\"messages\":0,\"consumers\":2}]" ]]'
run status "$queue" "${b[@]}"
check "status of an idle queue (table)" \
    '[[ $code == 0 && $out == *QUEUE*MESSAGES*CONSUMERS* && $out =~ $queue\ +0\ +2 ]]'

# Five tasks to a queue nobody reads: map waits --timeout for the first.
idle="ops-unread-$(uuid)"
printf '[1,1]\n[2,2]\n\n[3,3]\n[4,4]\n[5,5]\n' >"$tmp/five"
run map add "$tmp/five" -Q "$idle" --timeout 0.5 "${b[@]}"
check "map with no worker times out (exit 3)" \
    '[[ $code == 3 && $out == "" && $err == *"line 1: timed out"* ]]'
run status "$idle" "$queue" "${b[@]}"
check "status counts the five waiting tasks" \
    '[[ $code == 0 && $out =~ $idle\ +5\ +0 && $out =~ $queue\ +0\ +2 ]]'
widths="$(awk '{ print length($0) }' <<<"$out" | sort -u | wc -l)"
check "status's table is aligned" '[[ $widths == 1 ]]'

# A missing queue: reported, exit 1, and still missing afterwards.
missing="ops-missing-$(uuid)"
run status "$missing" "$idle" "${b[@]}"
check "status of a missing queue" \
    '[[ $code == 1 && $out =~ $missing\ +missing && $out =~ $idle\ +5 &&
        $err == *"no queue named $missing"* ]]'
run status "$missing" "${b[@]}" --json
check "status of a missing queue (json)" \
    '[[ $code == 1 && $out == "[{\"queue\":\"$missing\",\"error\":\"no such queue\"}]" ]]'
run purge "$missing" -f "${b[@]}"
check "purge of a missing queue" \
    '[[ $code == 1 && $err == *"no queue named $missing"* ]]'
created=none
broker_has_queue "$idle" || created="not even $idle"
broker_has_queue "$missing" && created="$missing"
check "status and purge created no queue" '[[ $created == none ]]'

# No -f and no terminal (setsid: no controlling terminal): refused.
out="$(setsid -w "$cel" purge "$idle" "${b[@]}" </dev/null 2>"$tmp/err")"
code=$?
err="$(cat "$tmp/err")"
check "purge without -f and no terminal refuses" \
    '[[ $code == 2 && $err == *"use -f"* ]]'
run status "$idle" "${b[@]}"
check "the refused purge deleted nothing" '[[ $code == 0 && $out =~ $idle\ +5 ]]'
run purge "$idle" -f "${b[@]}"
check "purge -f" '[[ $code == 0 && $out == "purged 5 messages from $idle" ]]'
run status "$idle" "${b[@]}" --json
check "the queue is empty after purge -f" \
    '[[ $code == 0 && $out == *"\"messages\":0,"* ]]'
run purge "$idle" --force "${b[@]}" --json
check "purge --json" '[[ $code == 0 && $out == "{\"queue\":\"$idle\",\"purged\":0}" ]]'

# map against the worker: 200 lines, results in input order; a window
# smaller than the input makes the ring go round several times.
for i in $(seq 200); do echo "[$i, $((i * 1000))]"; done >"$tmp/in200"
for i in $(seq 200); do echo $((i * 1001)); done >"$tmp/want200"
for window in 1000 7; do
    run map add "$tmp/in200" -Q "$queue" --window $window --timeout 30 "${b[@]}"
    check "map of 200 adds (--window $window)" \
        '[[ $code == 0 && $out == "$(cat "$tmp/want200")" && $err == "" ]]'
done
# The first tasks sleep longest, so the later ones finish first.
printf '[0.6, 1, 0]\n[0.4, 2, 0]\n[0, 3, 0]\n[0, 4, 0]\n[0, 5, 0]\n' >"$tmp/slow"
run map slow_sum "$tmp/slow" -Q "$queue" --timeout 30 "${b[@]}"
check "map prints in input order when later tasks finish first" \
    '[[ $code == 0 && $out == $'"'"'1\n2\n3\n4\n5'"'"' ]]'
run map add -Q "$queue" --timeout 30 "${b[@]}" <"$tmp/five"
check "map reads stdin when FILE is absent" \
    '[[ $code == 0 && $out == $'"'"'2\n4\n6\n8\n10'"'"' ]]'

# Failing lines: wrong arguments (the task raises TypeError), not JSON, a
# task that raises ValueError; the others still run. Line 2 is blank.
printf '[1, 2]\n\n[1]\noops\n{"x": 40, "y": 2}\n7\n' >"$tmp/mixed"
run map add "$tmp/mixed" -Q "$queue" --timeout 30 "${b[@]}"
check "map with failing lines: null in place, exit 1" \
    '[[ $code == 1 && $out == $'"'"'3\nnull\nnull\n42\nnull'"'"' &&
        $err == *"line 3: TypeError: add() missing 1 required positional argument"* &&
        $err == *"line 4: not JSON: "* && $err == *"line 6: TypeError"* ]]'
run map broken_function - -Q "$queue" --timeout 30 "${b[@]}" <<<'[0]'
check "map of a task that raises" \
    '[[ $code == 1 && $out == null && $err == *"line 1: ValueError: Called broken function"* ]]'
run map add "$tmp/mixed" -Q "$queue" --timeout 30 --json "${b[@]}"
json_check='
import json, sys
rows = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert [r["line"] for r in rows] == [1, 3, 4, 5, 6], rows
assert rows[0]["state"] == "SUCCESS" and rows[0]["result"] == 3, rows[0]
assert rows[3]["state"] == "SUCCESS" and rows[3]["result"] == 42, rows[3]
for r in rows[0], rows[1], rows[3], rows[4]:
    assert isinstance(r["id"], str) and len(r["id"]) == 36, r
for r in rows[1], rows[4]:
    assert r["state"] == "FAILURE" and r["exc_type"] == "TypeError", r
    assert "positional argument" in r["exc_message"], r
assert set(rows[1]) == {"line", "id", "state", "exc_type", "exc_message"}
assert set(rows[0]) == {"line", "id", "state", "result"}
assert rows[2]["state"] == "ERROR" and rows[2]["id"] is None, rows[2]
assert rows[2]["error"].startswith("not JSON"), rows[2]
'
json_out="$(echo "$out" | $py -c "$json_check" 2>&1)"
check "map --json" '[[ $code == 1 && -z $json_out ]]' ||
    echo "     $json_out"

# The bar: off when stderr is not a terminal, on with --progress, and
# never redrawn more than ten times a second; with a pipe (no total) it
# shows a count and a rate but no percentage.
check "no progress bar when stderr is not a terminal" \
    '[[ $err != *ETA* && $err != *$'"'"'\r'"'"'* ]]'
start=$(date +%s%N)
run map add "$tmp/in200" -Q "$queue" --progress --timeout 30 "${b[@]}"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
draws="$(tr -cd '\r' <"$tmp/err" | wc -c)"
check "--progress draws the bar" \
    '[[ $code == 0 && $err == *"[####################]  200/200  100%"*/s*"ETA 0:00"* &&
        $draws -le $((elapsed_ms / 100 + 2)) ]]'
out="$(cat "$tmp/in200" | "$cel" map add -Q "$queue" --progress "${b[@]}" 2>"$tmp/err")"
code=$?
err="$(cat "$tmp/err")"
check "--progress on a pipe: a count and a rate" \
    '[[ $code == 0 && $err == *"200 done  "*/s* && $err != *%* ]]'

# Misuse and --help.
run map "${b[@]}"
check "map without TASK" '[[ $code == 2 && $err == *"usage: celeriac map"* ]]'
run map add "$tmp/in200" --window 0 "${b[@]}"
check "map --window 0" '[[ $code == 2 && $err == *--window* ]]'
run map add "$tmp/no-such-file" "${b[@]}"
check "map of a missing FILE" '[[ $code == 2 && $err == *no-such-file* ]]'
run status --frobnicate
check "status with an unknown option" '[[ $code == 2 && $err == *usage* ]]'
for cmd in call map purge status; do
    run "$cmd" --help
    check "$cmd --help" \
        '[[ $code == 0 && $out == "usage: celeriac $cmd"* && $out == *Exit:* && -z $err ]]'
done
run --help
check "celeriac --help lists the commands" \
    '[[ $code == 0 && $out == *call*map*purge*status* && $out == *Exit:* ]]'

echo "$failed failed"
[[ $failed == 0 ]]
