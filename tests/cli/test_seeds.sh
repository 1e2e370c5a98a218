#!/usr/bin/env bash
# The course notes' programs, ported to C (examples/), against workerd -c 2:
# each must print what the Python prints, with the right values.
# Usage: test_seeds.sh BUILD_DIR
set -u
build="$1"
. "$(dirname "$0")/worker.sh"
start_worker test-seeds 2
export CELERIAC_BROKER_URL="$url" CELERIAC_QUEUE="$queue"
failed=0
fail() { echo "FAIL $*"; failed=1; }
has() { grep -qxF -- "$2" <<<"$1" || fail "no line: $2"; }
has_re() { grep -qxE -- "$2" <<<"$1" || fail "no line matching: $2"; }
run() {
    local out code
    out="$(timeout 120 "$build/bin/$@")"
    code=$?
    echo "$out" >&2
    [[ $code == 0 ]] || fail "$1 exited $code"
    printf '%s' "$out"
}
# Python's list of sum_all_values(x) for x in range(from, from + n).
sums() { python3 -c "print([x * (x + 1) // 2 for x in range($1, $1 + $2)])"; }
sorted_list() { tr -d '[] ' <<<"$1" | tr , '\n' | sort -n | paste -sd,; }

# seed 000: map, apply_async + get, 100 in flight, callbacks, late jobs
out="$(run pool_map --quick)"
lists="$(grep -E '^\[' <<<"$out")"
[[ "$(sed -n 1p <<<"$lists")" == "$(sums 100000 100)" ]] || fail "Example 1's list"
[[ "$(sed -n 2p <<<"$lists")" == "$(sums 10000 10)" ]] || fail "Example 2's list"
[[ "$(sed -n 3p <<<"$lists")" == "$(sums 100000 100)" ]] || fail "Example 3's list"
[[ "$(sorted_list "$(sed -n 4p <<<"$lists")")" == "$(sorted_list "$(sums 100000 100)")" ]] ||
    fail "Example 4's callbacks did not collect every value once"
[[ "$(sorted_list "$(sed -n 5p <<<"$lists")")" == "$(sorted_list "$(sums 100000 4)")" ]] ||
    fail "Example 5's late jobs"
[[ "$(grep -c '^Finished:  = ' <<<"$out")" == 5 ]] || fail "Finished lines"
has_re "$out" 'After For loop = [0-9.]+'

# seed 002: apply, apply_async, futures polled with ready(), a failure
out="$(run futures --quick)"
has "$out" "Result is 13"
has "$out" "Result one is 13"
has "$out" "Result two is 5"
has "$out" "Process 4 is running..."
has "$out" "Process 0 was successful. Result is 13"
has "$out" "Process 1 was successful. Result is 3"
has "$out" "Process 2 was successful. Result is 9"
has "$out" "Process 3 was successful. Result is 7"
has "$out" "Process 4 failed!"
has "$out" "Error = <class 'ValueError'> : Called broken function"
[[ "$(tail -n 7 <<<"$out" | head -1)" == "Here are the results." ]] || fail "results block"

# seed 001: primes below 300,000 as one task, then as three
out="$(run primes 300000)"
has "$out" "Process from 0 to 300000 finished: 25997 primes"
has "$out" "Process from 0 to 100000 finished: 9592 primes"
has "$out" "Process from 100000 to 200000 finished: 8392 primes"
has "$out" "Process from 200000 to 300000 finished: 8013 primes"
has_re "$out" 'Elapsed for single [0-9.]+ \(25997 primes below 300000\)'
has_re "$out" 'Elapsed for multiprocess [0-9.]+ \(25997 primes below 300000\)'

# seed 003: sequential, submitted, mapped
out="$(run executor)"
for item in $(seq 10); do
    n="$(grep -cxF "item $item result ${item}0000000" <<<"$out")"
    [[ $n == 2 ]] || fail "item $item printed $n times, want 2"
done
has "$out" "map: [10000000, 20000000, 30000000, 40000000, 50000000, 60000000, 70000000, 80000000, 90000000, 100000000]"
has_re "$out" 'Process pool execution in [0-9.]+ seconds'

# seed 004: as_completed
out="$(run as_completed 12)"
lines="$(grep -E '^Result: f\( ?[0-9]+\) = +[0-9]+ \(from PID: +[0-9]+\)$' <<<"$out")"
[[ "$(wc -l <<<"$lines")" == 12 ]] || fail "as_completed printed $(wc -l <<<"$lines") results"
while read -r x y; do
    [[ $y == $((x * x)) ]] || fail "f($x) = $y"
done < <(sed -E 's/^Result: f\( ?([0-9]+)\) = +([0-9]+).*/\1 \2/' <<<"$lines")

echo "$failed failed"
[[ $failed == 0 ]]
