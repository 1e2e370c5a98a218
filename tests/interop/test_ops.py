"""Celery's operations tools against workerd, and a mixed cluster: a
Python Celery worker and a workerd side by side, each on a queue of its
own, seen and steered through Celery 5's own client (app.control), its
event Receiver and celery.events.state.State (Flower's model), and its
command line (celery inspect, celery status, celery events --dump).

Every broadcast names its destinations: other tests' workers share the
broker. No timed assertion but generous upper bounds on waits, and one
lower bound that a rate limit must impose.

Usage: /usr/bin/python3 test_ops.py BUILD_DIR [BROKER_URL]"""
import json
import os
import subprocess
import sys
import threading
import time
import uuid

from interop_util import Checks, HERE, broker_url

from celery import Celery
from celery.events.state import State
from kombu import Connection, Exchange, Producer

build = sys.argv[1]
url = broker_url()
tag = str(uuid.uuid4())[:8]
cnode = 'c-%s@localhost' % tag
pynode = 'py-%s@localhost' % tag
cq, pyq = 'ops-c-' + tag, 'ops-py-' + tag
check = Checks()
log = open('/tmp/ops-%s.log' % tag, 'w')

workerd = subprocess.Popen(
    [os.path.join(build, 'bin', 'workerd'), '-A',
     os.path.join(build, 'lib', 'libexample_tasks.so'), '-c', '2', '-Q', cq,
     '-b', url, '-n', cnode, '-l', 'info'], stderr=log)
env = dict(os.environ, CELERIAC_BROKER_URL=url, CELERIAC_TEST_QUEUE=pyq)
pyworker = subprocess.Popen(
    ['/usr/bin/python3', '-m', 'celery', '-A', 'pytasks', '-b', url, 'worker',
     '-c', '1', '-P', 'prefork', '-Q', pyq, '-n', pynode, '--without-gossip',
     '--without-mingle', '-E', '-l', 'warning'], cwd=HERE, env=env,
    stdout=log, stderr=log)

app = Celery('ops', broker=url, backend='rpc://')
app.conf.update(task_serializer='json', result_serializer='json',
                accept_content=['json'], task_default_queue=cq)
both = [cnode, pynode]


def inspect(dest, timeout=2.0):
    return app.control.inspect(destination=dest, timeout=timeout)


def wait_for(what, fn, bound=30.0):
    end = time.time() + bound
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return None


def send(task, args=(), queue=cq, **kw):
    return app.send_task(task, args, queue=queue, **kw)


events, state = [], State()


receivers = []


def receive():
    """One capture for the whole test: each capture round consumes the
    receiver's auto-delete queue anew, and events sent between two rounds
    would be lost with the queue. should_stop ends it."""
    def on(ev):
        if ev.get('hostname') in both:
            events.append(ev)
        state.event(ev)
    with app.connection() as conn:
        recv = app.events.Receiver(conn, handlers={'*': on})
        receivers.append(recv)
        recv.capture(limit=None, timeout=None, wakeup=False)


class Stop:
    def set(self):
        for recv in receivers:
            recv.should_stop = True


stop = Stop()
receiver = threading.Thread(target=receive, daemon=True)
try:
    pong = wait_for('ping', lambda: (lambda r: r if r and len(r) == 2 else
                                     None)(inspect(both, 1).ping()))
    check('inspect ping: both workers answer', pong is not None and
          pong.get(cnode) == {'ok': 'pong'} and pynode in pong)
    receiver.start()

    stats = inspect([cnode]).stats() or {}
    st = stats.get(cnode, {})
    check('stats has what Flower reads', all(k in st for k in (
        'total', 'pid', 'clock', 'uptime', 'pool', 'broker', 'prefetch_count',
        'rusage')) and st['pid'] == workerd.pid)
    check('stats: two processes', len(st.get('pool', {}).get('processes',
                                                              [])) == 2)
    check('stats: no password', 'guest:guest' not in json.dumps(st))
    mixed = inspect(both).stats() or {}
    check('stats reaches both workers', set(mixed) == set(both))

    reg = (inspect([cnode]).registered() or {}).get(cnode, [])
    check('registered lists add', 'add' in reg and 'slow_sum' in reg)
    queues = (inspect([cnode]).active_queues() or {}).get(cnode, [])
    check('active_queues names the queue',
          [q['name'] for q in queues] == [cq])

    check('add runs', send('add', (2, 3)).get(timeout=20) == 5)
    slow = send('slow_sum', (3, 1, 1))
    act = wait_for('active', lambda: (inspect([cnode]).active() or {}).get(
        cnode))
    a = act[0] if act else {}
    check('active shows the running task', a.get('id') == slow.id and
          a.get('name') == 'slow_sum' and a.get('worker_pid', 0) > 0 and
          a.get('args') == '(3, 1, 1)' and 'acknowledged' in a)
    q = (inspect([cnode]).query_task(slow.id) or {}).get(cnode, {})
    check('query_task: active', q.get(slow.id, [None])[0] == 'active')
    check('slow_sum finishes', slow.get(timeout=20) == 2)

#revoke : a task not started never runs; the broadcast reaches both.
    held = send('add', (1, 1), countdown=3)
    sched = wait_for('scheduled', lambda: [
        s for s in (inspect([cnode]).scheduled() or {}).get(cnode, [])
        if s['request']['id'] == held.id], 10)
    check('scheduled shows the eta task', sched and
          sched[0]['request']['name'] == 'add' and sched[0]['eta'])
    r = app.control.revoke(held.id, destination=both, reply=True, timeout=2)
    check('revoke answered by both', len(r or []) == 2 and all(
        'revoked' in list(x.values())[0].get('ok', '') for x in r))
    try:
        held.get(timeout=20)
        check('revoked task: REVOKED', False)
    except Exception as exc:
        check('revoked task: REVOKED (%s)' % type(exc).__name__,
              held.state == 'REVOKED')
    for node in both:
        check('revoked lists it on ' + node.split('-')[0],
              held.id in (inspect([node]).revoked() or {}).get(node, []))

#revoke(terminate = True) : the child running it dies, REVOKED, replaced.
    long = send('slow_sum', (60, 1, 1))
    wait_for('long runs', lambda: (inspect([cnode]).active() or {}).get(cnode))
    r = app.control.revoke(long.id, destination=[cnode], terminate=True,
                           signal='SIGKILL', reply=True, timeout=2)
    check('terminate answered', r and 'terminate' in r[0][cnode].get('ok', ''))
    try:
        long.get(timeout=30)
    except Exception:
        pass
    check('terminated task: REVOKED', long.state == 'REVOKED')
    check('a child replaces it', wait_for('2 children', lambda: len(
        (inspect([cnode]).stats() or {}).get(cnode, {}).get('pool', {}).get(
            'processes', [])) == 2))
    check('add still runs', send('add', (4, 4)).get(timeout=20) == 8)

#revoke(terminate = True) with Celery's default signal, SIGTERM, which alone
#only stops a child warm, after a plain revoke of the same running task.
    def running(res):
        return wait_for('running', lambda: [
            a for a in (inspect([cnode]).active() or {}).get(cnode, [])
            if a['id'] == res.id])

    def outcome(res):
        try:
            res.get(timeout=30)
        except Exception:
            pass
        return res.state
    long = send('slow_sum', (60, 1, 1))
    running(long)
    app.control.revoke(long.id, destination=[cnode], reply=True, timeout=2)
    r = app.control.revoke(long.id, destination=[cnode], terminate=True,
                           reply=True, timeout=2)
    check('terminate (SIGTERM) answered',
          r and long.id in r[0][cnode].get('ok', ''))
    check('revoked, then terminated by SIGTERM: REVOKED',
          outcome(long) == 'REVOKED')

#The terminate command, with SIGINT(which the children otherwise ignore).
    long = send('slow_sum', (60, 1, 1))
    running(long)
    r = app.control.broadcast('terminate', arguments={
        'task_id': long.id, 'signal': 'SIGINT'}, destination=[cnode],
        reply=True, timeout=2)
    check('terminate command answered',
          r and long.id in r[0][cnode].get('ok', ''))
    check('terminate command, SIGINT: REVOKED', outcome(long) == 'REVOKED')
    r = app.control.revoke(str(uuid.uuid4()), destination=[cnode],
                           terminate=True, signal='SIGSTOP', reply=True,
                           timeout=2)
    check('terminate with SIGSTOP refused', r and 'error' in r[0][cnode])
    check('children back after the terminations', wait_for('2', lambda: len(
        (inspect([cnode]).stats() or {}).get(cnode, {}).get('pool', {}).get(
            'processes', [])) == 2))

#pool_grow / pool_shrink change the process count(read back by stats).
    def procs():
        s = (inspect([cnode]).stats() or {}).get(cnode, {})
        return len(s.get('pool', {}).get('processes', []))
    r = app.control.pool_grow(2, destination=[cnode], reply=True)
    check('pool_grow answered ok', r and 'ok' in r[0][cnode])
    check('pool grew to 4', wait_for('4', lambda: procs() == 4))
    app.control.pool_shrink(3, destination=[cnode], reply=True)
    check('pool shrank to 1', wait_for('1', lambda: procs() == 1))
    r = app.control.pool_shrink(1, destination=[cnode], reply=True)
    check('pool cannot shrink to 0', r and 'error' in r[0][cnode])
    app.control.pool_grow(1, destination=[cnode], reply=True)

#add_consumer / cancel_consumer.
    newq = cq + '-new'
    r = app.control.add_consumer(newq, destination=[cnode], reply=True)
    check('add_consumer answered ok', r and 'ok' in r[0][cnode])
    check('a task on the new queue runs',
          send('add', (5, 5), queue=newq).get(timeout=20) == 10)
    r = app.control.cancel_consumer(newq, destination=[cnode], reply=True)
    check('cancel_consumer answered ok', r and 'ok' in r[0][cnode])
    names = [q['name'] for q in (inspect([cnode]).active_queues() or {}).get(
        cnode, [])]
    check('active_queues after cancel', names == [cq])
    r = app.control.add_consumer('amq.refused-' + tag, destination=[cnode],
                                 reply=True)
    check('add_consumer of a queue the broker refuses: error',
          r and 'ACCESS_REFUSED' in r[0][cnode].get('error', ''))
    check('remote control answers after the refused queue',
          (inspect([cnode]).ping() or {}).get(cnode) == {'ok': 'pong'})
    check('tasks run after the refused queue',
          send('add', (6, 6)).get(timeout=20) == 12)

#rate_limit : at most 2 a second, for the whole worker.
    r = app.control.rate_limit('add', '2/s', destination=[cnode], reply=True)
    check('rate_limit answered ok', r and 'ok' in r[0][cnode])
    t0 = time.time()
    rs = [send('add', (i, i)) for i in range(5)]
    check('rate-limited adds all run',
          [x.get(timeout=30) for x in rs] == [2 * i for i in range(5)])
    check('the limit holds: 5 adds at 2/s take 2 s or more',
          time.time() - t0 >= 1.9)
    r = app.control.rate_limit('nope', '2/s', destination=[cnode], reply=True)
    check('rate_limit of an unknown task: error',
          r and 'error' in r[0][cnode])
    app.control.rate_limit('add', '1/m', destination=[cnode], reply=True)
    slow = [send('add', (i, 1)) for i in range(3)]
    check('at 1/m the first add runs', slow[0].get(timeout=20) == 1)
    time.sleep(1)  # the other two are held, a minute apart
    app.control.rate_limit('add', '0', destination=[cnode], reply=True)
    check('lifting the limit runs the held adds at once',
          [x.get(timeout=20) for x in slow[1:]] == [2, 3])

#time_limit for the task's next runs.
    r = app.control.time_limit('slow_sum', soft=None, hard=1,
                               destination=[cnode], reply=True)
    check('time_limit answered ok', r and 'ok' in r[0][cnode])
    try:
        send('slow_sum', (10, 1, 1)).get(timeout=30)
        check('slow_sum past its new hard limit fails', False)
    except Exception as exc:
        check('slow_sum past its new hard limit: %s' % type(exc).__name__,
              'TimeLimit' in type(exc).__name__)

#Events : enable_events on both, then one State holds both workers, and
#celery events-- dump shows the C worker's tasks.
    dump = subprocess.Popen(['/usr/bin/python3', '-m', 'celery', '-b', url,
                             'events', '--dump'], cwd='/tmp',
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    time.sleep(2)  # its receiver binds its queue before the tasks
    r = app.control.enable_events(destination=both, reply=True)
    check('enable_events answered by both', len(r or []) == 2)
    ok = send('add', (20, 22))
    pyok = send('add', (1, 2), queue=pyq)
    bad = send('broken_function', (0,))
    check('events test tasks ran', ok.get(timeout=20) == 42 and
          pyok.get(timeout=20) == 3)
    try:
        bad.get(timeout=20)
    except Exception:
        pass
    cut = send('slow_sum', (10, 1, 1), time_limit=1)
    try:
        cut.get(timeout=30)
    except Exception:
        pass
    app.control.heartbeat(destination=both)
    seen = wait_for('events', lambda: ok.id in state.tasks and
                    state.tasks[ok.id].state == 'SUCCESS' and
                    pyok.id in state.tasks and bad.id in state.tasks and
                    state.tasks[bad.id].state == 'FAILURE', 20)
    check('State: the C task SUCCESS with its name and runtime', seen and
          state.tasks[ok.id].name == 'add' and
          state.tasks[ok.id].runtime is not None and
          state.tasks[ok.id].result == '42')
    check('State: the C failure', seen and 'ValueError' in (
        state.tasks[bad.id].exception or ''))
    cut_seen = wait_for('lost', lambda: cut.id in state.tasks and
                        state.tasks[cut.id].state == 'FAILURE', 20)
    check('State: a task killed at its hard limit FAILURE', cut_seen and
          'TimeLimitExceeded' in (state.tasks[cut.id].exception or ''))
    alive = {w.hostname: w.alive for w in state.workers.values()}
    check('State: both workers alive', alive.get(cnode) and alive.get(pynode))
    types = {e['type'] for e in events if e['hostname'] == cnode}
    check('workerd sent received/started/succeeded/failed and heartbeats',
          {'task-received', 'task-started', 'task-succeeded', 'task-failed',
           'worker-heartbeat'} <= types)
    app.control.disable_events(destination=both, reply=True)
    dump.terminate()
    out = dump.communicate(timeout=30)[0]
    check('celery events --dump shows the C task', ok.id in out and
          cnode in out and 'task succeeded' in out)

#Celery's command line.
    out = subprocess.run(['/usr/bin/python3', '-m', 'celery', '-b', url,
                          'inspect', 'ping', '-d', cnode], cwd='/tmp',
                         capture_output=True, text=True, timeout=30).stdout
    check('celery inspect ping -d', cnode in out and 'pong' in out)
    out = subprocess.run(['/usr/bin/python3', '-m', 'celery', '-b', url,
                          'status'], cwd='/tmp', capture_output=True,
                         text=True, timeout=30).stdout
    check('celery status lists the C worker', cnode in out)

#celeriac's own inspect and control speak the same protocol.
    def cli(*args):
        return subprocess.run(
            [os.path.join(build, 'bin', 'celeriac'), *args, '-d', cnode, '-b',
             url, '--json'], capture_output=True, text=True, timeout=60)
    p = cli('inspect', 'stats')
    ans = json.loads(p.stdout or '[]') if p.returncode == 0 else []
    check('celeriac inspect stats: pid and processes', ans and
          ans[0][cnode]['pid'] == workerd.pid and
          len(ans[0][cnode]['pool']['processes']) == 2)
    p = cli('control', 'time_limit', 'slow_sum', '0', '0')
    check('celeriac control time_limit', p.returncode == 0 and '"ok"' in
          p.stdout)

#Hostile control messages : answered or logged, and the worker serves.
    with Connection(url) as conn:
        prod = Producer(conn.channel())
        pidbox = Exchange('celery.pidbox', 'fanout', durable=False)
        reply_to = {'exchange': 'reply.celery.pidbox',
                    'routing_key': str(uuid.uuid4())}
        prod.publish(b'{not json', exchange=pidbox, routing_key='',
                     content_type='application/json',
                     content_encoding='utf-8')
        prod.publish({'method': 'pool_grow', 'arguments': {'n': 'x'},
                      'destination': [cnode], 'reply_to': reply_to,
                      'ticket': str(uuid.uuid4())}, exchange=pidbox,
                     routing_key='', serializer='json')
        prod.publish({'method': 'ping', 'arguments': [1, 2],
                      'destination': [cnode]}, exchange=pidbox,
                     routing_key='', serializer='json')
        prod.publish({'method': 'ping', 'arguments': {},
                      'destination': ['x' * 200] * 5000}, exchange=pidbox,
                     routing_key='', serializer='json')
        prod.publish({'method': 'ping', 'arguments': {},
                      'destination': [cnode], 'ticket': '1',
                      'reply_to': {'exchange': 'amq.fanout',
                                   'routing_key': 'x'}}, exchange=pidbox,
                     routing_key='', serializer='json')
    r = app.control.broadcast('frobnicate', destination=[cnode], reply=True,
                              timeout=2)
    check('an unknown command: an error answer',
          r and 'error' in r[0][cnode])
    pong = inspect([cnode]).ping() or {}
    check('after hostile messages, ping', pong.get(cnode) == {'ok': 'pong'})
    check('after hostile messages, add runs',
          send('add', (7, 7)).get(timeout=20) == 14)

#A second workerd of the same name : the mailbox is the first's, so it
#warns; without heartbeats its control process sleeps(no spinning); once
#the first is gone it takes the mailbox over and answers.
    twin = subprocess.Popen(
        [os.path.join(build, 'bin', 'workerd'), '-A',
         os.path.join(build, 'lib', 'libexample_tasks.so'), '-c', '1', '-Q',
         cq + '-twin', '-b', url, '-n', cnode, '--without-heartbeat', '-l',
         'info'], stderr=log)

    def control_cpu(pid):
        for kid in open('/proc/%d/task/%d/children' % (pid, pid)).read(
                ).split():
            if open('/proc/%s/comm' % kid).read().strip() == \
                    'workerd-control':
                f = open('/proc/%s/stat' % kid).read().rsplit(')', 1)[1]
                return int(f.split()[11]) + int(f.split()[12])
        return None
    wait_for('twin control', lambda: control_cpu(twin.pid) is not None, 20)
    time.sleep(1)
    before = control_cpu(twin.pid)
    time.sleep(3)
    spent = control_cpu(twin.pid) - before
    check('--without-heartbeat: the control process sleeps (%d ticks in 3 s)'
          % spent, spent < 100)

#shutdown : a warm shutdown, no answer; both go.
    app.control.shutdown(destination=both)
    try:
        workerd.wait(timeout=30)
        pyworker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    check('shutdown stops workerd (exit 0)', workerd.poll() == 0)
    check('shutdown stops the Python worker', pyworker.poll() is not None)
    offline = wait_for('offline', lambda: any(
        e['type'] == 'worker-offline' and e['hostname'] == cnode
        for e in events), 10)
    check('worker-offline from workerd', offline)
    pong = wait_for('twin answers', lambda: (inspect([cnode], 1).ping() or {})
                    .get(cnode), 30)
    check('the second of the name takes the mailbox over', pong == {
        'ok': 'pong'})
    twin.terminate()
    check('the second stops on SIGTERM', twin.wait(timeout=30) == 0)
    log.flush()
    text = open(log.name).read()
    check('it said another worker held the mailbox',
          'holds its remote-control mailbox' in text)
    check('a reply_to of another exchange: logged, not answered',
          'not answering to reply_to exchange amq.fanout' in text)
    check('no hostile message broke the control connection',
          'remote control and events:' not in text)
finally:
    if 'twin' in globals() and twin.poll() is None:
        twin.kill()
        twin.wait()
    stop.set()
    for p in (workerd, pyworker):
        if p.poll() is None:
            p.kill()
            p.wait()
    log.close()
check.finish()
