#!/usr/bin/env bash
# celeriac map on a real terminal: 2,000 adds run inside a detached tmux
# session of a fixed size, stdout to a file, stderr the terminal. Once it
# is done (a marker file written after it), the screen must show the
# progress bar at 2000/2000, 100% and a rate, and the file the 2,000
# results in input order. Exits 77 (skipped) without tmux.
# Usage: test_map_tty.sh BUILD_DIR
set -u
build="$1"
if ! command -v tmux >/dev/null; then
    echo "tmux is not installed (scripts/deps --test installs it): skipped"
    exit 77
fi
. "$(dirname "$0")/worker.sh"
start_worker test-map-tty 2
tmp="$(mktemp -d)"
sock="celeriac-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null; kill -TERM $worker 2>/dev/null;
      wait $worker; rm -rf "$tmp"' EXIT
failed=0

for i in $(seq 2000); do echo "[$i, 1]"; done >"$tmp/in"
for i in $(seq 2000); do echo $((i + 1)); done >"$tmp/want"
# The session's shell stays after the command, so the screen can be read.
tmux -L "$sock" new-session -d -x 120 -y 20 \
    "'$build/bin/celeriac' map add '$tmp/in' -Q '$queue' -b '$url' \
        --timeout 60 >'$tmp/out'; echo \$? >'$tmp/code.tmp';
     mv '$tmp/code.tmp' '$tmp/code'; exec sleep 600"
for _ in $(seq 1200); do
    [[ -e "$tmp/code" ]] && break
    sleep 0.1
done
screen="$(tmux -L "$sock" capture-pane -p)"
code="$(cat "$tmp/code" 2>/dev/null || echo none)"
echo "screen: $(grep -v '^$' <<<"$screen")"

if [[ "$code" == 0 ]]; then
    echo "ok   map exited 0 within 120 s"
else
    echo "FAIL map's exit code: $code"
    failed=$((failed + 1))
fi
if [[ "$screen" == *"[####################]  2000/2000  100%  "* &&
      "$screen" =~ 100%\ +[0-9]+/s ]]; then
    echo "ok   the bar reached 2000/2000, 100%, with a rate"
else
    echo "FAIL the bar on the screen"
    failed=$((failed + 1))
fi
if cmp -s "$tmp/out" "$tmp/want"; then
    echo "ok   2000 results in input order"
else
    echo "FAIL stdout: $(wc -l <"$tmp/out") lines; first differences:"
    diff "$tmp/want" "$tmp/out" | head -5
    failed=$((failed + 1))
fi

echo "$failed failed"
[[ $failed == 0 ]]
