"""`celeriac inspect` and `celeriac control` against real workers: a Python
Celery worker (prefork, one process) under a node name of its own, asked
and told through celery.pidbox exactly as `celery inspect/control` would:
ping, stats, registered, active_queues, active, revoked, query_task, conf,
clock, report; rate_limit (seen in registered), time_limit, add_consumer
and cancel_consumer (seen in active_queues), revoke (seen in revoked) and
revoke --terminate of a running task, pool_grow/pool_shrink, events on and
off, heartbeat; a destination that does not exist gives no answer and
exit 1 after the timeout, a named node ends the wait early; Celery's own
CLI sees the same node; shutdown stops the worker. Every call names the
test's nodes (-d), so other workers on the broker do not disturb it.

The nodes are a list (WORKERS): a worker that answers the pidbox, workerd
for one, joins by adding an entry; the checks run for every node.

Usage: /usr/bin/python3 test_control.py BUILD_DIR [BROKER_URL]"""
import json
import os
import subprocess
import sys
import time
import uuid

from interop_util import HERE, Checks, broker_url

build = sys.argv[1]
url = broker_url()
celeriac = os.path.join(build, 'bin', 'celeriac')
tag = uuid.uuid4().hex[:8]
queue = 'interop-ctl-' + tag
check = Checks()
os.environ['CELERIAC_BROKER_URL'] = url
os.environ['CELERIAC_TEST_QUEUE'] = queue


def start_python(node):
    return subprocess.Popen(
        ['/usr/bin/python3', '-m', 'celery', '-A', 'pytasks', '-b', url,
         'worker', '-P', 'prefork', '-c', '1', '-Q', queue, '-n', node,
         '--without-gossip', '--without-mingle', '-l', 'warning'],
        cwd=HERE, env=dict(os.environ))


# (node name, how to start it): the nodes every check expects.
WORKERS = [('py-%s@interop' % tag, start_python)]
NODES = [name for name, _ in WORKERS]
DEST = ','.join(NODES)


def run(kind, *args, timeout='1', dest=DEST):
    cmd = [celeriac, kind, *args, '-b', url, '--timeout', timeout]
    if dest:
        cmd += ['-d', dest]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def answers(kind, *args, **kw):
    """The --json answers as {node: answer} (None when the call failed)."""
    code, out, err, _ = run(kind, *args, '--json', **kw)
    if code != 0:
        print('  %s %s: exit %d, %s' % (kind, ' '.join(args), code, err))
        return None
    merged = {}
    for reply in json.loads(out):
        merged.update(reply)
    return merged


def all_nodes(kind, *args, ok=None):
    """The answers when every node answered, with ok(answer) true."""
    got = answers(kind, *args)
    if got is None or sorted(got) != sorted(NODES):
        print('  got %r' % (got,))
        return None
    if ok is not None and not all(ok(got[n]) for n in NODES):
        print('  got %r' % (got,))
        return None
    return got


def wait_for(pred, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    return pred()


def is_ok(a):
    return isinstance(a, dict) and 'ok' in a


def test_ping():
    code, out, err, _ = run('inspect', 'ping')
    check('inspect ping: "-> NODE: OK", pong, "%d node(s) online." (%d %r)'
          % (len(NODES), code, err),
          code == 0 and all('-> %s: OK' % n in out for n in NODES)
          and 'pong' in out and ('%d node' % len(NODES)) in out)
    code, out, err, _ = run('inspect', 'ping', '--json', dest=None)
    got = set().union(*json.loads(out)) if code == 0 else set()
    check('a broadcast ping reaches every node', set(NODES) <= got)
    p = subprocess.run(['/usr/bin/python3', '-m', 'celery', '-A', 'pytasks',
                        '-b', url, 'inspect', 'ping', '-d', DEST],
                       cwd=HERE, capture_output=True, text=True, timeout=60)
    check("Celery's own inspect ping sees the same nodes (%d)"
          % p.returncode,
          p.returncode == 0 and all(n in p.stdout for n in NODES))


def test_inspect(pids):
    got = all_nodes('inspect', 'stats')
    check('stats: pid, pool, total, broker (no password)',
          got is not None and all(
              got[n].get('pid') == pids[n] and 'total' in got[n]
              and 'max-concurrency' in got[n].get('pool', {})
              and 'password' not in got[n].get('broker', {})
              for n in NODES))
    got = all_nodes('inspect', 'registered')
    check('registered lists the Python tasks',
          got is not None and all(
              {'add', 'echo', 'py_double'} <= {t.split(' ')[0] for t in got[n]}
              for n in NODES))
    code, out, _, _ = run('inspect', 'registered')
    check('registered, plain: one "* task" line each', '    * add' in out)
    got = all_nodes('inspect', 'active_queues')
    check('active_queues names the task queue',
          got is not None and all(queue in [q['name'] for q in got[n]]
                                  for n in NODES))
    for cmd, pred in (('clock', lambda a: 'clock' in a),
                      ('report', lambda a: 'celery' in a.get('ok', '')),
                      ('conf', lambda a: isinstance(a, dict)),
                      ('scheduled', lambda a: a == []),
                      ('reserved', lambda a: isinstance(a, list)),
                      ('query_task', lambda a: a == {})):
        args = ('no-such-task',) if cmd == 'query_task' else ()
        check('inspect %s' % cmd,
              all_nodes('inspect', cmd, *args, ok=pred) is not None)


def registered_add(want):
    got = answers('inspect', 'registered')
    return got and all(want in got[n] for n in NODES)


def consumed(q, want=True):
    got = answers('inspect', 'active_queues')
    return got and all((q in [x['name'] for x in got[n]]) == want
                       for n in NODES)


def test_control():
    check('rate_limit add 10/s: ok',
          all_nodes('control', 'rate_limit', 'add', '10/s', ok=is_ok))
    check('registered shows add [rate_limit=10/s]',
          wait_for(lambda: registered_add('add [rate_limit=10/s]')))
    code, out, _, _ = run('control', 'rate_limit', 'nosuch', '10/s')
    check('rate_limit of an unknown task: ERROR, exit 1 (%d)' % code,
          code == 1 and ': ERROR' in out and 'unknown task' in out)
    check('time_limit add 30 60: ok',
          all_nodes('control', 'time_limit', 'add', '30', '60', ok=is_ok))
    newq = 'interop-ctl-new-' + tag
    check('add_consumer: ok',
          all_nodes('control', 'add_consumer', newq, ok=is_ok))
    check('active_queues then shows the new queue',
          wait_for(lambda: consumed(newq)))
    check('cancel_consumer: ok',
          all_nodes('control', 'cancel_consumer', newq, ok=is_ok))
    check('active_queues then lacks it',
          wait_for(lambda: consumed(newq, False)))
    tid = str(uuid.uuid4())
    check('revoke ID: ok', all_nodes(
        'control', 'revoke', tid,
        ok=lambda a: a.get('ok') == 'tasks %s flagged as revoked' % tid))
    check('inspect revoked lists it', all_nodes(
        'inspect', 'revoked', ok=lambda a: tid in a))
    for cmd in ('pool_grow', 'pool_shrink'):
        check('%s 1: ok' % cmd, all_nodes('control', cmd, '1', ok=is_ok))
    for cmd in ('enable_events', 'disable_events'):
        check(cmd, all_nodes('control', cmd, ok=is_ok))
    check('heartbeat: answered (null)', all_nodes(
        'control', 'heartbeat', ok=lambda a: a is None))


def test_terminate():
    from pytasks import app
    r = app.send_task('slow_sum', (60, 1, 2), queue=queue)
    running = wait_for(lambda: all_nodes(
        'inspect', 'active', ok=lambda a: r.id in [t['id'] for t in a]))
    check('inspect active shows the running task', running)
    check('revoke --terminate --signal KILL: "terminate: ID"', all_nodes(
        'control', 'revoke', r.id, '--terminate', '--signal', 'KILL',
        ok=lambda a: a.get('ok') == 'terminate: %s' % r.id))
    check('the task is gone from active', wait_for(lambda: all_nodes(
        'inspect', 'active', ok=lambda a: r.id not in [t['id'] for t in a])))


def test_misses():
    code, out, err, took = run('inspect', 'ping', timeout='0.5',
                               dest='nobody-%s@nowhere' % tag)
    check('a node that does not exist: exit 1, "no nodes replied", after '
          'the timeout (%d %r %.2fs)' % (code, err, took),
          code == 1 and 'no nodes replied' in err and took >= 0.5)
    code, out, err, _ = run('inspect', 'ping', '--json', timeout='0.3',
                            dest='nobody-%s@nowhere' % tag)
    check('... with --json: [] and exit 1', code == 1 and out.strip() == '[]')
    code, out, err, took = run('inspect', 'ping', timeout='10')
    check('the named nodes answered: no 10 s wait (%.2fs)' % took,
          code == 0 and took < 5)
    for args in (('inspect', 'nosuch'), ('control', 'rate_limit', 'add'),
                 ('inspect', 'ping', '--terminate'),
                 ('control', 'pool_grow', 'x'), ('inspect', 'ping', '-d', ',')):
        p = subprocess.run([celeriac, *args, '-b', url], capture_output=True,
                           text=True)
        check('misuse %s: exit 2' % ' '.join(args[:3]), p.returncode == 2)
    for kind in ('inspect', 'control'):
        p = subprocess.run([celeriac, kind, '--help'], capture_output=True,
                           text=True)
        check('%s --help' % kind, p.returncode == 0 and 'usage' in p.stdout)


def test_shutdown(procs):
    code, out, err, took = run('control', 'shutdown')
    check('shutdown: sent, exit 0, nothing on stderr, no wait (%d %r)'
          % (code, err), code == 0 and 'shutdown' in out and err == ''
          and took < 5)
    for node, proc in procs.items():
        try:
            proc.wait(timeout=60)
            check('%s exits after shutdown (%d)' % (node, proc.returncode),
                  True)
        except subprocess.TimeoutExpired:
            check('%s exits after shutdown' % node, False)
    code, _, _, _ = run('inspect', 'ping', timeout='0.5')
    check('then nobody answers ping (exit %d)' % code, code == 1)


procs = {name: start(name) for name, start in WORKERS}
try:
    up = wait_for(lambda: run('inspect', 'ping')[0] == 0 and
                  all_nodes('inspect', 'ping'), 60)
    check('every node answers ping within 60 s', up)
    if up:
        test_ping()
        test_inspect({n: p.pid for n, p in procs.items()})
        test_control()
        test_terminate()
        test_misses()
        test_shutdown(procs)
finally:
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
check.finish()
