#!/usr/bin/env bash
# workerd's log reads as a Celery worker's. With -f LOG --pidfile PID -l
# info, against a broker user whose password is unique to this run:
# every line of LOG but the banner matches the regex made from Celery's own
# worker_log_format (Python's re, /usr/bin/python3), whose asctime is the
# local time (TZ is set off UTC here) and whose process is MainProcess or
# ForkPoolWorker-N; "Task add[ID] received" and "Task add[ID] succeeded in
# Ns: 5" at INFO, "raised unexpected: ValueError('...')" at ERROR; the
# banner lists the tasks sorted and the broker URL without the password,
# which appears nowhere. PID holds the master's pid while it runs; a
# second workerd with the same PID refuses (exit 1, naming the pid) and
# leaves it; SIGHUP (a warm restart, same pid) never removes it; SIGTERM
# does. A stale PID is replaced, and the banner shows at the default
# -l warning, without the task list (as Celery's).
# Usage: test_logfile.sh BUILD_DIR SCRIPTS_DIR
set -u
build="$1"
scripts="$2"
py=/usr/bin/python3
port="${CELERIAC_BROKER_PORT:-5672}"
tmp="$(mktemp -d)"
uuid() { cat /proc/sys/kernel/random/uuid; }
user="log-$(uuid)"
pass="pw$(uuid | tr -d -)"
queue="test-logfile-$(uuid)"
url="amqp://$user:$pass@127.0.0.1:$port//"
log="$tmp/workerd.log"
pidfile="$tmp/workerd.pid"
worker=
failed=0

cleanup() {
    [[ -n "$worker" ]] && kill -KILL "$worker" 2>/dev/null && wait "$worker"
    "$scripts/broker" ctl delete_user "$user" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check NAME CONDITION
    if eval "$2"; then
        echo "ok   $1"
    else
        echo "FAIL $1"
        failed=$((failed + 1))
        return 1
    fi
}

count() { # count FILE TEXT: lines of FILE with TEXT (0 without FILE)
    local n
    n="$(grep -cF -- "$2" "$1" 2>/dev/null)"
    echo "${n:-0}"
}

wait_count() { # wait_count FILE TEXT N: until FILE has N lines with TEXT
    for _ in $(seq 600); do
        [[ "$(count "$1" "$2")" -ge "$3" ]] && return 0
        sleep 0.1
    done
    return 1
}

workerd() { # only with &: the subshell becomes workerd, $! its pid
    TZ=CEL-05:30 exec "$build/bin/workerd" \
        -A "$build/lib/libexample_tasks.so" -c 2 -Q "$queue" -b "$url" "$@"
}

"$scripts/broker" ctl add_user "$user" "$pass" >/dev/null &&
    "$scripts/broker" ctl set_permissions -p / "$user" '.*' '.*' '.*' >/dev/null ||
    { echo "FAIL cannot add the broker user"; exit 1; }

workerd -f "$log" --pidfile "$pidfile" -l info 2>"$tmp/stderr" &
worker=$!
wait_count "$log" " ready: " 1
check "workerd is ready, its log in the file" \
    '[[ $(count "$log" " ready: ") == 1 && ! -s "$tmp/stderr" ]]'
check "the pidfile holds the master's pid" \
    '[[ "$(cat "$pidfile")" == "$worker" && $(wc -c <"$pidfile") == $((${#worker} + 1)) ]]'

workerd -f "$log" --pidfile "$pidfile" 2>"$tmp/second" &
second=$!
for _ in $(seq 300); do kill -0 $second 2>/dev/null || break; sleep 0.1; done
kill -KILL $second 2>/dev/null
wait $second
code=$?
check "a second workerd with the same pidfile refuses (exit 1)" '[[ $code == 1 ]]'
check "... naming the pid that holds it" \
    '[[ $(count "$log" "CRITICAL/MainProcess] pidfile $pidfile exists: workerd already runs as pid $worker;") == 1 ]]'
check "... and leaves the pidfile alone" '[[ "$(cat "$pidfile")" == "$worker" ]]'

cel() { "$build/bin/celeriac" call "$@" -b "$url" -Q "$queue" --timeout 60; }
check "add(2, 3) runs" '[[ "$(cel add "[2, 3]")" == 5 ]]'
cel broken_function '[0]' >/dev/null 2>&1
check "broken_function fails" '[[ $? == 1 ]]'
wait_count "$log" "] Task broken_function[" 2

# The lines, read by Python as a Celery log is read: the regex is made from
# Celery's own format string, and checked against a line Python's logging
# writes with it.
read_log='
import datetime, logging, re, sys
from celery.app.defaults import DEFAULT_PROCESS_LOG_FMT as fmt
assert fmt == "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s", fmt
fields = {
    "asctime": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}",
    "levelname": r"DEBUG|INFO|WARNING|ERROR|CRITICAL",
    # the control process of workerd (remote control, events) logs as Control
    "processName": r"MainProcess|ForkPoolWorker-\d+|Control",
    "message": r".*",
}
parts = re.split(r"%\((\w+)\)s", fmt)
regex = "^" + "".join(re.escape(p) if i % 2 == 0 else
                      "(?P<%s>%s)" % (p, fields[p])
                      for i, p in enumerate(parts)) + "$"
line_re = re.compile(regex)
# The prefix written out by hand, as log tools for Celery match it.
prefix_re = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: "
                       r"(INFO|WARNING|ERROR|DEBUG|CRITICAL)/"
                       r"(MainProcess|ForkPoolWorker-\d+|Control)\] ")
record = logging.LogRecord("celery", logging.INFO, "t.py", 1, "x", None, None)
record.processName = "ForkPoolWorker-1"
celery_line = logging.Formatter(fmt).format(record)
assert line_re.match(celery_line) and prefix_re.match(celery_line), celery_line

log_path, password = sys.argv[1], sys.argv[2]
text = open(log_path, encoding="utf-8").read()
assert password not in text, "the password is in the log"
lines = text.splitlines()
rows, other = [], []
for i, line in enumerate(lines):
    m = line_re.match(line)
    if m:
        assert prefix_re.match(line), line
        rows.append(m)
    else:
        other.append(i)
# One block of lines outside the format: the banner.
assert other and other == list(range(other[0], other[-1] + 1)), other
banner = lines[other[0]:other[-1] + 1]
assert banner[1].startswith(" -------------- celeriac@") and " celeriac v" in banner[1], banner[:2]
assert "- ** ---------- [config]" in banner, banner
transport = [l for l in banner if ".> transport:   " in l]
assert len(transport) == 1 and transport[0].endswith(
    ".> transport:   amqp://%s:***@127.0.0.1:%s//" % (sys.argv[3], sys.argv[4])), transport
assert "- *** --- * --- .> concurrency: 2 (prefork)" in banner, banner
assert any(l.startswith(" -------------- [queues]") for l in banner), banner
assert any(l.startswith("                .> " + sys.argv[5]) for l in banner), banner
tasks = [l[4:] for l in banner[banner.index("[tasks]") + 1:] if l.startswith("  . ")]
assert "add" in tasks and "broken_function" in tasks and tasks == sorted(tasks), tasks

now = datetime.datetime.now()
names = set()
for m in rows:
    t = datetime.datetime.strptime(m["asctime"], "%Y-%m-%d %H:%M:%S,%f")
    assert abs((now - t).total_seconds()) < 600, (m["asctime"], now)
    names.add(m["processName"])
assert {"MainProcess", "ForkPoolWorker-1", "ForkPoolWorker-2"} <= names, names

def find(pattern, level):
    found = [m for m in rows if re.fullmatch(pattern, m["message"])]
    assert len(found) == 1, (pattern, [m.string for m in found])
    assert found[0]["levelname"] == level, found[0].string
    assert found[0]["processName"].startswith("ForkPoolWorker-"), found[0].string
    return found[0]

uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
got = find(r"Task add\[(%s)\] received" % uuid, "INFO")
ok = find(r"Task add\[(%s)\] succeeded in ([0-9.e+-]+)s: 5" % uuid, "INFO")
assert re.fullmatch(r"Task add\[(.*)\] succeeded in ([^s]*)s: 5", ok["message"])[1] == \
    re.fullmatch(r"Task add\[(.*)\] received", got["message"])[1]
runtime = re.fullmatch(r".* succeeded in ([^s]*)s: 5", ok["message"])[1]
assert 0 <= float(runtime) < 30 and repr(float(runtime)) == runtime, runtime
find(r"Task broken_function\[%s\] raised unexpected: "
     r"ValueError\(.Called broken function.\)" % uuid, "ERROR")
'
out="$(TZ=CEL-05:30 $py -c "$read_log" "$log" "$pass" "$user" "$port" "$queue" 2>&1)"
check "Python reads every line as Celery's, and the banner" '[[ -z "$out" ]]' ||
    echo "     $out"

# SIGHUP: a warm restart runs workerd again with the same pid; the pidfile
# stays all along.
kill -HUP "$worker"
kept=1
for _ in $(seq 600); do
    [[ "$(cat "$pidfile" 2>/dev/null)" == "$worker" ]] || kept=0
    [[ "$(count "$log" " ready: ")" -ge 2 ]] && break
    sleep 0.05
done
check "after SIGHUP workerd is ready again" '[[ $(count "$log" " ready: ") == 2 ]]'
check "... and its pidfile was never removed" '[[ $kept == 1 && "$(cat "$pidfile")" == "$worker" ]]'

kill -TERM "$worker"
wait "$worker"
code=$?
worker=
check "SIGTERM: exit 0" '[[ $code == 0 ]]'
check "... and the pidfile is gone" '[[ ! -e "$pidfile" ]]'

# A stale pidfile (its process gone) is replaced; under the default
# -l warning the banner still shows, without the task list.
sleep 0 &
dead=$!
wait $dead
echo "$dead" >"$pidfile"
log2="$tmp/warning.log"
workerd -f "$log2" --pidfile "$pidfile" 2>"$tmp/stderr" &
worker=$!
wait_count "$log2" " ready: " 1
check "a stale pidfile is replaced" \
    '[[ "$(cat "$pidfile")" == "$worker" && $(count "$log2" "WARNING/MainProcess] Stale pidfile $pidfile replaced") == 1 ]]'
check "the banner shows under -l warning, without [tasks]" \
    '[[ $(count "$log2" " -------------- celeriac@") == 1 && $(count "$log2" ".> transport:   amqp://$user:***@") == 1 && $(count "$log2" "[tasks]") == 0 ]]'
check "... and no INFO line" '[[ $(count "$log2" ": INFO/") == 0 ]]'
check "the password is nowhere" \
    '[[ $(cat "$log" "$log2" "$tmp/stderr" "$tmp/second" 2>/dev/null | grep -cF "$pass") == 0 ]]'
kill -TERM "$worker"
wait "$worker"
worker=
check "the pidfile is gone again" '[[ ! -e "$pidfile" ]]'

echo "$failed failed"
[[ $failed == 0 ]]
