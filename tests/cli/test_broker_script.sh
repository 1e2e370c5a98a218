#!/usr/bin/env bash
# scripts/broker on the suite's running node: start reuses it and prints
# the URL last, status and url agree, and bad ports are refused.
# Usage: test_broker_script.sh SCRIPTS_BROKER
set -u
broker="$1"
port="${CELERIAC_BROKER_PORT:-5672}"
want="amqp://guest:guest@127.0.0.1:$port//"
failed=0
check() { # check WHAT CONDITION...
    local what="$1"
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failed=$((failed + 1)); fi
}
t0=$(date +%s)
last="$("$broker" start 2>/dev/null | tail -1)"
check "start on a running node prints its URL last" [ "$last" = "$want" ]
check "start reuses the running node (fast)" [ $(($(date +%s) - t0)) -lt 20 ]
check "status says running" "$broker" status
check "url prints the URL" [ "$("$broker" url)" = "$want" ]
CELERIAC_BROKER_PORT=80 "$broker" start >/dev/null 2>&1
check "a privileged port is refused with exit 2" [ $? = 2 ]
CELERIAC_BROKER_PORT=nope "$broker" status >/dev/null 2>&1
check "a non-numeric port is refused" [ $? = 2 ]
"$broker" frobnicate >/dev/null 2>&1
check "an unknown command is misuse" [ $? = 2 ]
echo "$failed failed"
[[ $failed == 0 ]]
