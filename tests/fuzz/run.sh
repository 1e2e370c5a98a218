#!/usr/bin/env bash
# run.sh FUZZER CORPUS_DIR: runs a libFuzzer target for
# $CELERIAC_FUZZ_SECONDS (default 30) on a copy of the seed corpus, so the
# seeds stay as they are. Any crash, leak or sanitizer report fails it.
set -uo pipefail
fuzzer="$1"
seeds="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds/." "$work/corpus/"
"$fuzzer" -max_total_time="${CELERIAC_FUZZ_SECONDS:-30}" -max_len=65536 \
    -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/corpus" >"$work/log" 2>&1
code=$?
# The summary, and on failure the report and the input that caused it.
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log"
if [[ $code != 0 ]]; then
    tail -n 60 "$work/log"
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [[ -e "$f" ]] && { echo "input $f:"; od -c "$f" | head -20; }
    done
fi
exit $code
