"""The driver of scripts/bench: celeriac against real Celery and against
the broker's own ceiling, on one private broker, in one run.

Every figure is the median of RUNS runs (min and max beside it), after one
warm-up run that is not counted. Prints a table, and writes it with the
raw figures and a plot to docs/.

Usage: /usr/bin/python3 bench/run.py BUILD_DIR [--quick] [--runs K]
           [--only SECTION,...] [-c C,...] [--baseline OTHER_BUILD]...
       (broker: $CELERIAC_BROKER_URL, else the private node on
       $CELERIAC_BROKER_PORT; scripts/bench sets one up)
--only runs some sections (ceiling, throughput, pyproducer, chains,
latency, cpu, footprint), prints their figures and writes nothing.
--baseline runs workerd from another build in the same throughput turns,
against the same producer: a worker change's cost on plain tasks."""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEROP = os.path.join(ROOT, 'tests', 'interop')
PY = '/usr/bin/python3'
STEPS = 10  # add steps per chain


def chain_producer(n, queue):
    """run.py --chain-producer N QUEUE: a Python Celery 5 producer sends N
    chains of STEPS add steps, chain(add.s(i, 0), *[add.s(1)] * 9), as fast
    as it can, then collects each chain's last result (ResultSet.get, as a
    Celery user would) and checks it is i + 9. Prints steps/s from the
    first send to the last result, as JSON, with the producer's own CPU
    seconds in that time (how much of it the producer was the bound). The
    app's default queue is QUEUE: a Celery worker sends each next step
    there (workerd sends it where the step came from, the same queue)."""
    os.environ['CELERIAC_TEST_QUEUE'] = queue
    sys.path.insert(0, INTEROP)
    from celery import chain
    from celery.result import ResultSet
    from pytasks import add
    cpu0 = os.times()
    t0 = time.monotonic()
    last = [chain(add.s(i, 0), *[add.s(1)] * (STEPS - 1)).apply_async()
            for i in range(n)]
    t1 = time.monotonic()
    values = ResultSet(last).get(timeout=600)
    t2 = time.monotonic()
    wrong = sum(1 for i, v in enumerate(values) if v != i + STEPS - 1)
    cpu = os.times()
    print(json.dumps({'chains': n, 'steps': n * STEPS,
                      'steps_per_s': n * STEPS / (t2 - t0),
                      'send_s': t1 - t0, 'wall_s': t2 - t0,
                      'producer_cpu_s': (cpu.user + cpu.system -
                                         cpu0.user - cpu0.system),
                      'wrong': wrong}))
    sys.exit(1 if wrong else 0)


if sys.argv[1:2] == ['--chain-producer']:
    chain_producer(int(sys.argv[2]), sys.argv[3])

p = argparse.ArgumentParser()
p.add_argument('build')
p.add_argument('--quick', action='store_true',
               help='small sizes and one run: a smoke test, not figures')
p.add_argument('--runs', type=int, default=3)
p.add_argument('--out', default=os.path.join(ROOT, 'docs'))
p.add_argument('--report-only', action='store_true',
               help='rewrite the table and plot from OUT/bench-results.json')
SECTIONS = ('ceiling', 'throughput', 'fair', 'payload', 'drain',
            'pyproducer', 'chains', 'latency', 'cpu', 'footprint', 'events')
p.add_argument('--only', type=lambda x: x.split(','),
               help='comma-separated sections to run (%s); prints their '
                    'figures, writes nothing' % ', '.join(SECTIONS))
p.add_argument('-c', '--concurrency', type=lambda x: [int(c) for c in
                                                      x.split(',')],
               help='with --only throughput: these concurrencies only '
                    '(default 1,2,4)')
p.add_argument('--baseline', action='append', default=[],
               metavar='OTHER_BUILD',
               help='also run workerd from OTHER_BUILD in the throughput '
                    'turns (same producer), and give the ratio to it')
args = p.parse_args()
if args.only and set(args.only) - set(SECTIONS):
    p.error('--only: unknown section %s' % ', '.join(set(args.only) -
                                                    set(SECTIONS)))
if args.concurrency and not args.only:
    p.error('-c only with --only: the full report is at -c 1, 2 and 4')
CONCURRENCY = args.concurrency or [1, 2, 4]
BIN = os.path.join(args.build, 'bin')
LIB = os.path.join(args.build, 'lib', 'libexample_tasks.so')
URL = (os.environ.get('CELERIAC_BROKER_URL') or
       'amqp://guest:guest@127.0.0.1:%s//'
       % os.environ.get('CELERIAC_BROKER_PORT', '5672'))
PORT = re.search(r':(\d+)/', URL).group(1)
RUNS = 1 if args.quick else args.runs
N = 2000 if args.quick else 50000
LAT_N = 200 if args.quick else 5000
INFLIGHT_N = 5000 if args.quick else 1000000
CHAINS = 50 if args.quick else 1000  # chains of STEPS steps
CHAIN_C = 2  # the concurrency both workers run chains at
PREFETCH = 1024  # per workerd child; what short tasks want (see PERFORMANCE)
CELERY_PREFETCH = 64  # Celery's best here (../shared/bench/RESULTS.md)
DEFAULT = None  # a worker with no --prefetch-multiplier: what users run
FAIR_LONG_S = 1.0 if args.quick else 3.0  # the mixed load's long task
FAIR_LONG2_S = 10.0  # and a longer one, one run each (not in --quick)
PAYLOADS = {1024: 200 if args.quick else 20000,
            65536: 50 if args.quick else 3000,
            1048576: 10 if args.quick else 200}  # bytes: tasks per run
DRAIN_N = 1000 if args.quick else 20000  # tasks queued before a drain
NODE_MODULES = os.environ.get('CELERY_NODE_MODULES')  # scripts/bench's
ENV = dict(os.environ, CELERIAC_BROKER_URL=URL)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ctl(*a):
    return subprocess.run([os.path.join(ROOT, 'scripts', 'broker'), 'ctl', *a],
                          env=dict(ENV, CELERIAC_BROKER_PORT=PORT),
                          capture_output=True, text=True).stdout


def consumers(queue):
    for line in ctl('list_queues', 'name', 'consumers').splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == queue:
            return int(f[1])
    return 0


def new_queue(what):
    return 'bench-%s-%s' % (what, uuid.uuid4())


def run_json(cmd, env=ENV, timeout=1800):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError('%s failed: %s %s' % (cmd[0], out.stdout,
                                                 out.stderr[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def prefetch_opt(prefetch):
    return [] if prefetch is None else ['--prefetch-multiplier',
                                        str(prefetch)]


class Worker:
    """workerd or a Celery worker on a fresh queue, ready when started.
    build: workerd and its tasks from another build directory."""

    def __init__(self, kind, c, prefetch, build=None, queue=None, extra=()):
        self.queue = queue or new_queue(kind)
        self.kind = kind
        self.logf = None
        if kind == 'celeriac':
            bin_ = os.path.join(build, 'bin') if build else BIN
            lib = (os.path.join(build, 'lib', 'libexample_tasks.so') if build
                   else LIB)
            # One log per worker: several run at once (baselines, cpu).
            self.logf = open('/tmp/%s.log' % self.queue, 'w+')
            self.proc = subprocess.Popen(
                [os.path.join(bin_, 'workerd'), '-A', lib, '-c', str(c), '-Q',
                 self.queue, '-b', URL] + prefetch_opt(prefetch) +
                list(extra), stderr=self.logf)
            self.wait(lambda: ' ready: ' in open(self.logf.name).read())
            time.sleep(1)  # as for Celery below: start from a quiet broker
        else:
            self.proc = subprocess.Popen(
                [PY, '-m', 'celery', '-A', 'pytasks', '-b', URL, 'worker',
                 '-c', str(c), '-P', 'prefork', '-Q', self.queue] +
                prefetch_opt(prefetch) + list(extra) + ['--without-gossip',
                 '--without-mingle', '--without-heartbeat', '-l', 'warning'],
                cwd=INTEROP, env=dict(ENV, CELERIAC_TEST_QUEUE=self.queue),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.wait(lambda: consumers(self.queue) > 0)
            time.sleep(1)  # its pool processes settle

    def wait(self, ready):
        for _ in range(600):
            if ready():
                return
            if self.proc.poll() is not None:
                raise RuntimeError('%s worker exited' % self.kind)
            time.sleep(0.1)
        raise RuntimeError('%s worker not ready' % self.kind)

    def rss_kib(self):
        """(parent VmRSS, [children VmRSS], parent VmHWM, [children VmHWM])"""
        def status(pid, key):
            try:
                for line in open('/proc/%d/status' % pid):
                    if line.startswith(key + ':'):
                        return int(line.split()[1])
            except OSError:
                pass
            return 0
        kids = [int(x) for x in subprocess.run(
            ['pgrep', '-P', str(self.proc.pid)], capture_output=True,
            text=True).stdout.split()]
        return (status(self.proc.pid, 'VmRSS'),
                [status(k, 'VmRSS') for k in kids],
                status(self.proc.pid, 'VmHWM'),
                [status(k, 'VmHWM') for k in kids])

    def stop(self):
        alive = self.proc.poll() is None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        ctl('delete_queue', self.queue)
        if self.logf:
            self.logf.close()
            if alive:
                os.remove(self.logf.name)
            else:
                log('workerd exited early; its log: %s' % self.logf.name)


def measure(fn, key):
    """Warm up once, then RUNS runs: (median, min, max, all results)."""
    fn()
    return summary([fn() for _ in range(RUNS)], key)


def check(r):
    if r.get('wrong') or r.get('missing'):
        raise RuntimeError('wrong or missing results: %r' % r)
    return r


results = {}


def summary(runs, key):
    vals = [r[key] for r in runs]
    return {'median': statistics.median(vals), 'min': min(vals),
            'max': max(vals), 'runs': runs}


def throughput(c):
    """celeriac (persistent and transient tasks), Celery and the raw loop
    at -c c, their runs interleaved so that the machine's drift (a VM:
    other guests share its cores) falls on all alike; each pair of
    celeriac and Celery runs gives a ratio. The raw loop runs in two
    layouts: c consumer processes (workerd's), and one consumer handing
    messages to c processes over pipes (Celery's); each is the most a
    worker of that layout could reach at that concurrency."""
    w = {'celeriac': Worker('celeriac', c, PREFETCH),
         'celery': Worker('celery', c, CELERY_PREFETCH),
         'celeriac_default': Worker('celeriac', c, DEFAULT),
         'celery_default': Worker('celery', c, DEFAULT)}
    for i, build in enumerate(args.baseline):
        w['baseline%d' % i] = Worker('celeriac', c, PREFETCH, build)
    tool = [os.path.join(BIN, 'bench_tasks'), 'throughput', str(N)]
    raw = [os.path.join(BIN, 'bench_raw'), str(N)]
    cmds = {'celeriac_c%d' % c: tool + [w['celeriac'].queue],
            'celeriac_default_c%d' % c: tool + [w['celeriac_default'].queue]}
    for i in range(len(args.baseline)):  # right after it, seconds apart
        cmds['baseline%d_c%d' % (i, c)] = tool + [w['baseline%d' % i].queue]
    cmds.update({'celeriac_transient_c%d' % c: tool + [w['celeriac'].queue,
                                                       'transient'],
                 'celery_c%d' % c: tool + [w['celery'].queue],
                 'celery_default_c%d' % c: tool + [w['celery_default'].queue],
                 'raw_c%d' % c: raw + [str(c), 'persistent'],
                 'dispatch_c%d' % c: raw + [str(c), 'persistent',
                                            'dispatch']})
    try:
        for cmd in cmds.values():
            check(run_json(cmd))  # warm-up
        runs = {k: [] for k in cmds}
        for _ in range(RUNS):
            for k, cmd in cmds.items():
                runs[k].append(check(run_json(cmd)))
    finally:
        for x in w.values():
            x.stop()
    for k in cmds:
        results[k] = summary(runs[k], 'tasks_per_s')
    pairs = zip(runs['celeriac_c%d' % c], runs['celery_c%d' % c])
    results['ratio_c%d' % c] = statistics.median(
        a['tasks_per_s'] / b['tasks_per_s'] for a, b in pairs)
    pairs = zip(runs['celeriac_default_c%d' % c], runs['celery_default_c%d' % c])
    results['default_ratio_c%d' % c] = statistics.median(
        a['tasks_per_s'] / b['tasks_per_s'] for a, b in pairs)
    pairs = zip(runs['raw_c%d' % c], runs['celery_c%d' % c])
    results['raw_ratio_c%d' % c] = statistics.median(
        a['tasks_per_s'] / b['tasks_per_s'] for a, b in pairs)
    for i in range(len(args.baseline)):
        pairs = zip(runs['celeriac_c%d' % c], runs['baseline%d_c%d' % (i, c)])
        results['baseline%d_ratio_c%d' % (i, c)] = statistics.median(
            a['tasks_per_s'] / b['tasks_per_s'] for a, b in pairs)


def events_cost(c=2):
    """Task events (-E) on against off, at default settings and -c c,
    for workerd (a task.multi batch per wait, as Celery's prefork) and
    for Celery; runs interleaved. The cost is 1 - on/off of the paired
    runs' medians."""
    kinds = {'celeriac_events_off': ('celeriac', ()),
             'celeriac_events_on': ('celeriac', ('-E',)),
             'celery_events_off': ('celery', ()),
             'celery_events_on': ('celery', ('-E',))}
    tool = [os.path.join(BIN, 'bench_tasks'), 'throughput', str(N)]
    w = {}
    try:  # a worker that fails to start stops those started before it
        for k, (kind, extra) in kinds.items():
            w[k] = Worker(kind, c, DEFAULT, extra=extra)
        cmds = {k: tool + [x.queue] for k, x in w.items()}
        for cmd in cmds.values():
            check(run_json(cmd))  # warm-up
        runs = {k: [] for k in cmds}
        for _ in range(RUNS):
            for k, cmd in cmds.items():
                runs[k].append(check(run_json(cmd)))
    finally:
        for x in w.values():
            x.stop()
    for k in cmds:
        results['%s_c%d' % (k, c)] = summary(runs[k], 'tasks_per_s')
    for kind in ('celeriac', 'celery'):
        pairs = zip(runs[kind + '_events_on'], runs[kind + '_events_off'])
        results['%s_events_cost_c%d' % (kind, c)] = 1 - statistics.median(
            a['tasks_per_s'] / b['tasks_per_s'] for a, b in pairs)


def events_lines():
    r = results
    rows = ['| -c 2, defaults | events off | events on (-E) | cost |',
            '|---|---|---|---|']
    for kind, name in (('celeriac', 'celeriac'), ('celery', 'Celery')):
        rows.append('| %s | %s | %s | %.0f%% |' % (
            name, fmt(r['%s_events_off_c2' % kind]),
            fmt(r['%s_events_on_c2' % kind]),
            100 * r['%s_events_cost_c2' % kind]))
    return rows + ['']


def fair():
    """The mixed load at default settings: one long task, then at once 12
    short ones, on an idle worker (celeriac and Celery in turns, at -c 2
    and -c 4); the slowest short task's latency. Then once each with a
    10 s long task at -c 2."""
    for c in (2, 4):
        w = {'celeriac': Worker('celeriac', c, DEFAULT),
             'celery': Worker('celery', c, DEFAULT)}
        tool = [os.path.join(BIN, 'bench_tasks'), 'fair']
        try:
            runs = {k: [] for k in w}
            for _ in range(RUNS):
                for k, x in w.items():
                    runs[k].append(run_json(tool + [x.queue,
                                                    str(FAIR_LONG_S)]))
            if c == 2 and not args.quick:
                for k, x in w.items():
                    results['fair10_%s_c2' % k] = run_json(
                        tool + [x.queue, str(FAIR_LONG2_S)])
        finally:
            for x in w.values():
                x.stop()
        for k in w:
            results['fair_%s_c%d' % (k, c)] = summary(runs[k], 'slowest_ms')


def payload():
    """Large arguments: echo of a string of 1 KiB, 64 KiB and 1 MiB (the
    result is as large), celeriac and Celery at default settings and the
    raw loop moving the same bytes, at -c 2, in turns."""
    w = {'celeriac': Worker('celeriac', 2, DEFAULT),
         'celery': Worker('celery', 2, DEFAULT)}
    try:
        for size, n in PAYLOADS.items():
            tool = [os.path.join(BIN, 'bench_tasks'), 'throughput', str(n)]
            cmds = {k: tool + [x.queue, 'persistent', str(size)]
                    for k, x in w.items()}
            cmds['raw'] = [os.path.join(BIN, 'bench_raw'), str(n), '2']
            env = dict(ENV, CEL_BENCH_PAYLOAD=str(size))
            runs = {k: [] for k in cmds}
            for _ in range(RUNS):
                for k, cmd in cmds.items():
                    r = check(run_json(cmd, env=env))
                    r.setdefault('mb_per_s', r['tasks_per_s'] * (
                        r.get('task_bytes', size) +
                        r.get('result_bytes', size)) / 1e6)
                    runs[k].append(r)
            for k in cmds:
                m = summary(runs[k], 'tasks_per_s')
                m['mb_per_s'] = statistics.median(x['mb_per_s']
                                                  for x in runs[k])
                results['payload_%s_%d' % (k, size)] = m
    finally:
        for x in w.values():
            x.stop()


class NodeWorker:
    """c celery-node worker processes (it has no concurrency option of its
    own) on queue, each logging a line per task to its own file."""

    def __init__(self, c, queue):
        self.queue = queue
        self.logs = ['/tmp/%s-%d.log' % (queue, i) for i in range(c)]
        env = dict(ENV, NODE_PATH=NODE_MODULES)
        self.procs = [subprocess.Popen(
            ['node', os.path.join(ROOT, 'bench', 'celery_node_worker.js'), URL,
             queue], stdout=open(log, 'w'), stderr=subprocess.STDOUT, env=env)
            for log in self.logs]

    def done_at(self, n, timeout=600):
        """The wall time of the last task's log line, once n tasks logged
        that they succeeded."""
        end = time.time() + timeout
        while time.time() < end:
            lines = sum(open(x).read().count(' succeeded in ')
                        for x in self.logs)
            if lines >= n:
                time.sleep(0.5)  # the last lines' writes are in
                return max(os.path.getmtime(x) for x in self.logs)
            time.sleep(0.2)
        raise RuntimeError('celery-node ran only part of the tasks')

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        ctl('delete_queue', self.queue)
        for x in self.logs:
            os.remove(x)


OBSERVER = """
Q = rabbit_misc:r(<<"/">>, queue, <<"%s">>),
{ok, A} = rabbit_amqqueue:lookup(Q),
Info = fun() -> [{messages_ready, R}, {messages, M}] =
    rabbit_amqqueue:info(A, [messages_ready, messages]), {R, M} end,
Now = fun() -> erlang:system_time(microsecond) end,
End = Now() + 900000000,
First = fun F() -> {R, _} = Info(), T = Now(),
    if R < %d -> T; T > End -> 0; true -> timer:sleep(1), F() end end,
T1 = First(),
Last = fun L() -> {_, M} = Info(), T = Now(),
    if M == 0 -> T; T > End -> 0; true -> timer:sleep(1), L() end end,
T2 = Last(),
{T1, T2}.
"""


def drain_once(kind, c):
    """Queues DRAIN_N tasks (ignore_result), then starts the worker; the
    broker itself (an eval on the node, polling the queue every
    millisecond) times the first delivery and the moment the queue holds
    no message, ready or unacked: the last ack."""
    queue = new_queue('drain-%s' % kind)
    check(run_json([os.path.join(BIN, 'bench_tasks'), 'fill', str(DRAIN_N),
                    queue]))
    obs = subprocess.Popen(
        [os.path.join(ROOT, 'scripts', 'broker'), 'ctl', 'eval',
         OBSERVER % (queue, DRAIN_N)], env=dict(ENV, CELERIAC_BROKER_PORT=PORT),
        stdout=subprocess.PIPE, text=True)
    time.sleep(1)  # the eval is running before the worker starts
    w = (NodeWorker(c, queue) if kind == 'celery-node' else
         Worker(kind, c, DEFAULT, queue=queue))
    try:
        out, _ = obs.communicate(timeout=1000)
        t1, t2 = (int(x) for x in re.findall(r'\d+', out)[-2:])
        if not t1 or not t2:
            raise RuntimeError('the drain of %s did not end' % kind)
        r = {'tasks_per_s': DRAIN_N * 1e6 / (t2 - t1)}
        if kind == 'celery-node':  # it acks on receipt, before running
            r['run_per_s'] = DRAIN_N / (w.done_at(DRAIN_N) - t1 / 1e6)
        return r
    finally:
        w.stop()


def drain():
    """Draining DRAIN_N tasks queued in advance by the same C producer,
    results ignored: celeriac and Celery at their defaults, -c 1 and 2,
    and the celery-node worker (npm) in 1 and 2 processes, in turns."""
    peers = [('celeriac', 1), ('celeriac', 2), ('celery', 1), ('celery', 2)]
    if NODE_MODULES:
        peers += [('celery-node', 1), ('celery-node', 2)]
    else:
        log('drain: celery-node is not installed (scripts/bench installs '
            'it): left out')
    runs = {p: [] for p in peers}
    for _ in range(RUNS):
        for p in peers:
            runs[p].append(drain_once(*p))
    for (kind, c), rs in runs.items():
        m = summary(rs, 'tasks_per_s')
        if kind == 'celery-node':
            m['run_per_s'] = statistics.median(x['run_per_s'] for x in rs)
        results['drain_%s_%d' % (kind.replace('-', '_'), c)] = m


def chains(c):
    """Chain throughput: the same Python Celery producer (a Celery
    deployment's case) sends CHAINS chains of STEPS add steps to workerd
    and to a Celery worker at -c c, in turns as for throughput; steps/s
    from the first send to the last chain's result, every value checked.
    Each step is a task message consumed and the next one published by
    the worker, and a result read by the producer."""
    w = {'celeriac': Worker('celeriac', c, PREFETCH),
         'celery': Worker('celery', c, CELERY_PREFETCH)}
    cmds = {k: [PY, os.path.abspath(__file__), '--chain-producer',
                str(CHAINS), x.queue] for k, x in w.items()}
    try:
        for cmd in cmds.values():
            check(run_json(cmd))  # warm-up
        runs = {k: [] for k in cmds}
        for _ in range(RUNS):
            for k, cmd in cmds.items():
                runs[k].append(check(run_json(cmd)))
    finally:
        for x in w.values():
            x.stop()
    for k in cmds:
        results['chains_%s_c%d' % (k, c)] = summary(runs[k], 'steps_per_s')
    pairs = zip(runs['celeriac'], runs['celery'])
    results['chains_ratio_c%d' % c] = statistics.median(
        a['steps_per_s'] / b['steps_per_s'] for a, b in pairs)


def python_producer(c):
    w = Worker('celeriac', c, PREFETCH)
    try:
        cmd = [PY, os.path.join(ROOT, 'bench', 'celery_producer.py'), str(N),
               w.queue]
        return measure(lambda: check(run_json(cmd)), 'tasks_per_s')
    finally:
        w.stop()


def latency():
    """celeriac and Celery round trips, runs in turns as for throughput,
    with the raw rabbitmq-c round trip (the floor under both) in the same
    turns."""
    w = {'celeriac': Worker('celeriac', 2, 1), 'celery': Worker('celery', 2, 4)}
    cmds = {k: [os.path.join(BIN, 'bench_tasks'), 'latency', str(LAT_N),
                x.queue] for k, x in w.items()}
    cmds['raw'] = [os.path.join(BIN, 'bench_raw'), 'ping', str(LAT_N)]
    try:
        for cmd in cmds.values():
            run_json(cmd)  # warm-up
        runs = {k: [] for k in cmds}
        for _ in range(RUNS):
            for k, cmd in cmds.items():
                runs[k].append(run_json(cmd))
    finally:
        for x in w.values():
            x.stop()
    for k in cmds:
        r = summary(runs[k], 'p50_ms')
        for q in ('p99_ms', 'max_ms'):
            r[q] = statistics.median(x[q] for x in r['runs'])
        results['latency_' + k] = r


def cpu():
    """Inline, -c 1 and -c 2 runs interleaved, so that drift in the
    machine's speed (it is a VM: other guests share its cores) falls on all
    alike; two more runs than elsewhere, for the same reason. inline2 splits
    the work between two processes with no queue: the most -c 2 could
    reach on these cores."""
    tool = os.path.join(BIN, 'bench_tasks')
    workers = {c: Worker('celeriac', c, 1) for c in (1, 2)}
    out = {'inline': [], 'inline2': [], 'c1': [], 'c2': []}
    try:
        for c in (1, 2):
            run_json([tool, 'cpu', workers[c].queue])  # warm up
        for _ in range(RUNS + 2):
            out['inline'].append(run_json([tool, 'inline']))
            out['inline2'].append(run_json([tool, 'inline2']))
            for c in (1, 2):
                out['c%d' % c].append(run_json([tool, 'cpu',
                                                workers[c].queue]))
    finally:
        for w in workers.values():
            w.stop()
    summary = {}
    for job in ('sum_all_values_s', 'count_primes_s'):
        base = statistics.median(r[job] for r in out['inline'])
        summary[job] = {'inline': base}
        for k in ('c1', 'c2', 'inline2'):
            t = [r[job] for r in out[k]]
            summary[job][k] = {'median': statistics.median(t),
                               'min': min(t), 'max': max(t),
                               'speedup': base / statistics.median(t)}
    summary['runs'] = out
    return summary


def footprint():
    w = Worker('celeriac', 2, PREFETCH)
    try:
        time.sleep(1)
        idle = w.rss_kib()
        run_json([os.path.join(BIN, 'bench_tasks'), 'throughput', str(N),
                  w.queue])
        busy = w.rss_kib()
    finally:
        w.stop()
    inflight = []
    for _ in range(RUNS):
        out = subprocess.run([os.path.join(BIN, 'bench_inflight'),
                              str(INFLIGHT_N)], env=ENV, capture_output=True,
                             text=True, timeout=3600)
        m = re.search(r'bytes per pending result: ([0-9.]+) \(heap\), '
                      r'([0-9.]+) \(RSS\)', out.stdout)
        peak = re.search(r'producer peak RSS: ([0-9.]+) MiB', out.stdout)
        if out.returncode != 0 or not m or not peak:
            raise RuntimeError('bench_inflight: %s %s' % (out.stdout,
                                                          out.stderr))
        inflight.append({'heap_bytes': float(m.group(1)),
                         'rss_bytes': float(m.group(2)),
                         'peak_rss_mib': float(peak.group(1))})
    return {'idle': {'parent_kib': idle[0], 'children_kib': idle[1]},
            'load': {'parent_hwm_kib': busy[2], 'children_hwm_kib': busy[3],
                     'children_kib': busy[1]},
            'inflight_n': INFLIGHT_N, 'inflight': inflight}


def fmt(m, unit=''):
    return '%s%s (%s – %s)' % (f(m['median']), unit, f(m['min']),
                               f(m['max']))


def f(x):
    return '{:,.0f}'.format(x) if x >= 100 else '{:.2f}'.format(x)


def machine():
    cpu = 'unknown'
    for line in open('/proc/cpuinfo'):
        if line.startswith('model name'):
            cpu = line.split(':', 1)[1].strip()
            break
    rabbit = ctl('version').strip() or '?'
    celery = subprocess.run([PY, '-c', 'import celery; print(celery.__version__)'],
                            capture_output=True, text=True).stdout.strip()
    return {'cores': os.cpu_count(), 'cpu': cpu, 'kernel': platform.release(),
            'rabbitmq': rabbit, 'celery': celery,
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}


def section(name, fn):
    """Runs one section. Its figures go to stdout and, in a full run, into
    OUT/bench-results.json at once, so that a later failure keeps them; a
    section that fails is recorded as failed and the run goes on."""
    before = set(results)
    t0 = time.time()
    try:
        fn()
    except Exception as e:  # a failed section must not lose the others
        log('== %s FAILED: %s' % (name, e))
        results.setdefault('failed', {})[name] = str(e)[-2000:]
    figures = {k: results[k] for k in set(results) - before}
    print(json.dumps({'section': name, 'seconds': round(time.time() - t0),
                      'figures': {k: brief(v) for k, v in figures.items()}}),
          flush=True)
    if not (args.quick or args.only):
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, 'bench-results.json'), 'w') as fh:
            json.dump(results, fh, indent=1)


def brief(v):
    """A figure without its runs, for the section's line on stdout."""
    return ({k: x for k, x in v.items() if k != 'runs'}
            if isinstance(v, dict) else v)


def ceiling():
    raw = [os.path.join(BIN, 'bench_raw'),
           str(max(N, 50000) if not args.quick else N), '1']
    results['ceiling'] = measure(lambda: run_json(raw + ['persistent']),
                                 'tasks_per_s')
    results['ceiling_transient'] = measure(
        lambda: run_json(raw + ['transient']), 'tasks_per_s')


def main():
    t0 = time.time()
    results['machine'] = machine()
    results['config'] = {'n': N, 'runs': RUNS, 'latency_n': LAT_N,
                         'workerd_prefetch': PREFETCH,
                         'celery_prefetch': CELERY_PREFETCH,
                         'chains': CHAINS, 'chain_steps': STEPS,
                         'chain_concurrency': CHAIN_C,
                         'fair_long_s': FAIR_LONG_S,
                         'payloads': PAYLOADS, 'drain_n': DRAIN_N,
                         'baselines': args.baseline}
    run = set(args.only or SECTIONS)
    plan = [('ceiling', ceiling)]
    plan += [('throughput', lambda c=c: throughput(c)) for c in CONCURRENCY]
    plan += [('fair', fair), ('payload', payload), ('drain', drain),
             ('pyproducer', lambda: results.__setitem__(
                 'pyproducer_workerd_c2', python_producer(2))),
             ('chains', lambda: chains(CHAIN_C)), ('latency', latency),
             ('cpu', lambda: results.__setitem__('cpu', cpu())),
             ('footprint', lambda: results.__setitem__('footprint',
                                                       footprint())),
             ('events', events_cost)]
    for name, fn in plan:
        if name in run:
            log('== %s' % name)
            section(name, fn)
    results['elapsed_s'] = time.time() - t0
    if args.only:
        report_only_sections()
    else:
        report()
    if results.get('failed'):
        log('failed sections: %s' % ', '.join(results['failed']))
        sys.exit(1)


def report_only_sections():
    """--only: each median and ratio of the sections run, and all the raw
    figures (cpu and footprint's too) as JSON on the last line; docs/ is
    left as it is."""
    r = results
    lines = ['| figure | median (min – max) |', '|---|---|']
    for k, v in r.items():
        if isinstance(v, dict) and 'median' in v:
            lines.append('| %s | %s |' % (k, fmt(v)))
        elif 'ratio' in k and isinstance(v, float):
            lines.append('| %s | %.2fx |' % (k, v))
    for i, build in enumerate(args.baseline):
        lines.append('')
        lines.append('baseline%d: workerd from %s; baseline%d_ratio_cN is '
                     'this build\'s tasks/s over its' % (i, build, i))
    lines.append('')
    lines.append('The run took %.0f s.' % r['elapsed_s'])
    print('\n'.join(lines))
    print(json.dumps(r))


def ratio(c):
    """celeriac's tasks/s over Celery's at -c c: the median of the ratios
    of interleaved runs (older results: the ratio of the medians)."""
    r = results
    return r.get('ratio_c%d' % c, r['celeriac_c%d' % c]['median'] /
                 r['celery_c%d' % c]['median'])


def goal_throughput():
    r = results
    ratios = [ratio(c) for c in (1, 2, 4)]
    got = ', '.join('-c %d: %.1fx' % (c, x) for c, x in zip((1, 2, 4), ratios))
    if all('raw_ratio_c%d' % c in r for c in (1, 2, 4)):
        got += ' (raw loop with c consumers: %s)' % ', '.join(
            '%.1fx' % r['raw_ratio_c%d' % c] for c in (1, 2, 4))
    return [('Throughput at equal concurrency >= 10x Celery\'s', got,
             min(ratios) >= 10)]


def goal_ceiling():
    r = results
    best = max(r['celeriac_c%d' % c]['median'] for c in (1, 2, 4))
    best_t = max(r['celeriac_transient_c%d' % c]['median'] for c in (1, 2, 4))
    frac = best / r['ceiling']['median']
    return [('Above 20,000 tasks/s end to end (persistent tasks)',
             '%s tasks/s (raw loop: %s)' % (f(best), f(r['ceiling']['median'])),
             best > 20000),
            ('... with transient tasks (opts.delivery_mode = 1)',
             '%s tasks/s' % f(best_t), best_t > 20000),
            ('At least 50% of the raw ceiling (same messages)',
             '%.0f%% of %s tasks/s' % (100 * frac, f(r['ceiling']['median'])),
             frac >= 0.5)]


def goal_defaults():
    """Fast without tuning: defaults against the tuned rows, and against
    Celery's defaults."""
    r = results
    fr = {c: r['celeriac_default_c%d' % c]['median'] /
          r['celeriac_c%d' % c]['median'] for c in (1, 2, 4)}
    dr = {c: r['default_ratio_c%d' % c] for c in (1, 2, 4)}
    return [('Defaults reach >= 90% of tuned throughput (-c 1, 2, 4)',
             ', '.join('-c %d: %.0f%%' % (c, 100 * x) for c, x in fr.items()),
             min(fr.values()) >= 0.9),
            ('Defaults >= 10x Celery\'s defaults (-c 1, 2)',
             ', '.join('-c %d: %.1fx' % (c, x) for c, x in dr.items()),
             dr[1] >= 10 and dr[2] >= 10)]


def goal_fair():
    r = results
    worst = {c: r['fair_celeriac_c%d' % c]['max'] for c in (2, 4)}
    got = ', '.join('-c %d: %.0f ms' % (c, x) for c, x in worst.items())
    ok = max(worst.values()) <= 100
    ten = r.get('fair10_celeriac_c2')
    if ten:
        got += '; with a %g s task: %.0f ms' % (ten['long_s'],
                                                ten['slowest_ms'])
        ok = ok and ten['slowest_ms'] <= 100
    return [('Fair: the slowest short task behind a long one within 100 ms '
             '(worst run)', got, ok)]


def goal_latency():
    r = results
    lat = r['latency_celeriac']['median'] / r['latency_celery']['median']
    got = '%.3f ms vs %.3f ms (%.2f)' % (r['latency_celeriac']['median'],
                                         r['latency_celery']['median'], lat)
    if 'latency_raw' in r:
        got += ' (raw round trip: %.3f ms, %.2f)' % (
            r['latency_raw']['median'],
            r['latency_raw']['median'] / r['latency_celery']['median'])
    return [('p50 latency at most 1/4 of Celery\'s', got, lat <= 0.25)]


def goal_cpu():
    r = results
    sp = [r['cpu'][j]['c2']['speedup'] for j in ('sum_all_values_s',
                                                 'count_primes_s')]
    got = ', '.join('%.2fx' % x for x in sp)
    two = [r['cpu'][j].get('inline2') for j in ('sum_all_values_s',
                                                 'count_primes_s')]
    if all(two):
        got += ' (two processes with no queue: %s)' % ', '.join(
            '%.2fx' % x['speedup'] for x in two)
    return [('CPU-bound speedup at -c 2 >= 1.8x', got, min(sp) >= 1.8)]


def goal_footprint():
    fp = results['footprint']['idle']
    child = max(fp['children_kib']) if fp['children_kib'] else 0
    return [('Idle child under 4 MiB RSS, parent under 4 MiB',
             'child %.1f MiB, parent %.1f MiB' % (child / 1024,
                                                  fp['parent_kib'] / 1024),
             child < 4096 and fp['parent_kib'] < 4096)]


def goals():
    """(goal, measured, met) for each goal whose figures are here; one
    whose section failed is reported as not met."""
    out = []
    for fn in (goal_throughput, goal_ceiling, goal_defaults, goal_fair,
               goal_latency, goal_cpu, goal_footprint):
        try:
            out += fn()
        except (KeyError, TypeError, ZeroDivisionError) as e:
            out.append((fn.__doc__.split(':')[0].strip() if fn.__doc__ else
                        fn.__name__, 'no figures (%s)' % e, False))
    return out


def throughput_lines():
    r = results
    lines = ['## Trivial tasks end to end (`add`), tasks/s', '',
             'celeriac and Celery run in turns at each concurrency, so the '
             'ratio is the median of the ratios of runs made side by side. '
             'The tuned rows run workerd with `--prefetch-multiplier %d` and '
             'Celery with %d; the default rows run both as a user would, '
             'with no option. The raw rabbitmq-c loop runs in the same '
             'turns, in two layouts: c consumer processes (as workerd\'s '
             'children are), and one consumer handing the messages to c '
             'processes over pipes (as Celery\'s master does). Each is the '
             'most a worker of that layout could reach at that '
             'concurrency.' % (PREFETCH, CELERY_PREFETCH), '',
             '| concurrency | celeriac, default | celeriac, tuned '
             '(persistent) | celeriac, tuned (transient) '
             '| Celery, default | Celery, tuned | ratio, tuned '
             '| ratio, default | raw loop, c consumers | raw ÷ Celery '
             '| raw loop, 1 consumer → c processes |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for c in (1, 2, 4):
        a, t, b = (r['celeriac_c%d' % c], r['celeriac_transient_c%d' % c],
                   r['celery_c%d' % c])
        da, db = r.get('celeriac_default_c%d' % c), r.get(
            'celery_default_c%d' % c)
        raw, hand = r.get('raw_c%d' % c), r.get('dispatch_c%d' % c)
        lines.append('| -c %d | %s | %s | %s | %s | %s | %.1fx | %s | %s | %s '
                     '| %s |' % (
                         c, fmt(da) if da else '–', fmt(a), fmt(t),
                         fmt(db) if db else '–', fmt(b), ratio(c),
                         '%.1fx' % r['default_ratio_c%d' % c] if da else '–',
                         fmt(raw) if raw else '–',
                         '%.1fx' % r['raw_ratio_c%d' % c] if raw else '–',
                         fmt(hand) if hand else '–'))
    return lines + ['']


def other_lines():
    r = results
    return ['| other | tasks/s |', '|---|---|',
            '| Python Celery producer → workerd -c 2 (the drop-in case) | %s |'
            % fmt(r['pyproducer_workerd_c2']),
            '| ceiling: raw rabbitmq-c loop, task- and result-shaped '
            'messages, persistent | %s |' % fmt(r['ceiling']),
            '| ceiling, transient | %s |' % fmt(r['ceiling_transient']), '']


def fair_lines():
    r = results
    long_s = r['config'].get('fair_long_s', FAIR_LONG_S)
    lines = ['## Mixed load at default settings: slowest short task, ms', '',
             'An idle worker gets one `slow_sum(%g s)` and at once 12 `add`: '
             'the latency of the slowest `add`, from its send to its result '
             '(median of the runs, min – max). Both workers run with no '
             'option.' % long_s, '',
             '| concurrency | celeriac | Celery |', '|---|---|---|']
    for c in (2, 4):
        lines.append('| -c %d | %s | %s |' % (
            c, fmt(r['fair_celeriac_c%d' % c]), fmt(r['fair_celery_c%d' % c])))
    ten = [r.get('fair10_%s_c2' % k) for k in ('celeriac', 'celery')]
    if all(ten):
        lines.append('| -c 2, a %g s long task (one run) | %.1f | %.1f |' % (
            ten[0]['long_s'], ten[0]['slowest_ms'], ten[1]['slowest_ms']))
    return lines + ['']


def payload_lines():
    r = results
    lines = ['## Large arguments: `echo` of a string, workers at -c 2 with '
             'defaults', '',
             'The result is as large as the argument; MB/s counts both '
             'bodies. The raw loop moves messages of the same size.', '',
             '| payload | celeriac tasks/s | MB/s | Celery tasks/s | MB/s '
             '| raw loop tasks/s | MB/s |', '|---|---|---|---|---|---|---|']
    for size in sorted(int(x) for x in r['config'].get('payloads', PAYLOADS)):
        row = [r['payload_%s_%d' % (k, size)] for k in ('celeriac', 'celery',
                                                       'raw')]
        lines.append('| %s | %s |' % (
            '%d KiB' % (size // 1024) if size < 1 << 20 else
            '%d MiB' % (size >> 20),
            ' | '.join('%s | %s' % (fmt(x), f(x['mb_per_s'])) for x in row)))
    return lines + ['']


def drain_lines():
    r = results
    n = r['config'].get('drain_n', DRAIN_N)
    lines = ['## Draining a queue: celeriac, Celery and celery-node', '',
             '%s `add` tasks are queued in advance by the same C producer '
             '(results ignored), then the worker starts; tasks/s from the '
             'first delivery to the last ack, timed by the broker itself. '
             'Both Celery-protocol workers run with their defaults. '
             'celery-node (npm, JavaScript, the most used non-Python '
             'worker) has no concurrency option, so "2" is two processes; '
             'it sets no prefetch limit and acks each message on receipt, '
             'before running it, so its last ack says little: the column '
             'beside it runs to its last task\'s log line. It also stores '
             'each result in a queue of its own (it has no rpc backend).'
             % '{:,}'.format(n), '',
             '| worker | 1 | 2 | to the last task run, 1 | 2 |',
             '|---|---|---|---|---|']
    for kind, name in (('celeriac', 'celeriac (workerd -c N)'),
                       ('celery', 'Celery 5 (-c N)'),
                       ('celery_node', 'celery-node (N processes)')):
        a, b = r.get('drain_%s_1' % kind), r.get('drain_%s_2' % kind)
        if a is None or b is None:
            lines.append('| %s | not run | | | |' % name)
            continue
        lines.append('| %s | %s | %s | %s | %s |' % (
            name, fmt(a), fmt(b),
            f(a['run_per_s']) if 'run_per_s' in a else '–',
            f(b['run_per_s']) if 'run_per_s' in b else '–'))
    return lines + ['']


def latency_lines():
    r = results
    lines = ['## Round trip latency (%s sequential `add`, workers at -c 2)'
             % '{:,}'.format(LAT_N), '',
             '| | p50 ms | p99 ms | max ms |', '|---|---|---|---|']
    for k, name in (('latency_celeriac', 'celeriac'),
                    ('latency_celery', 'Celery'),
                    ('latency_raw', 'raw rabbitmq-c round trip, no task '
                                    'logic (the floor)')):
        x = r[k] if k != 'latency_raw' else r.get(k)
        if x is None:
            continue
        lines.append('| %s | %s | %.3f | %.3f |' % (name, fmt(x), x['p99_ms'],
                                                    x['max_ms']))
    return lines + ['']


def cpu_lines():
    cp = results['cpu']
    lines = ['## CPU-bound scaling (wall seconds)', '',
             'The last column splits the work between two processes with '
             'no queue at all: the speedup these two cores allow.', '',
             '| work | inline, one process | -c 1 | -c 2 | speedup at -c 2 '
             '| inline, two processes | their speedup |',
             '|---|---|---|---|---|---|---|']
    for job, name in (('sum_all_values_s', '16 × sum_all_values(10⁸ + i)'),
                      ('count_primes_s', 'count_primes(0, 3,000,000) in 12 '
                                         'chunks')):
        j = cp[job]
        two = j.get('inline2')
        lines.append('| %s | %.3f | %s | %s | %.2fx | %s | %s |' % (
            name, j['inline'], fmt(j['c1']), fmt(j['c2']), j['c2']['speedup'],
            fmt(two) if two else '–', '%.2fx' % two['speedup'] if two else '–'))
    return lines + ['']


def footprint_lines():
    fp = results['footprint']
    inf = fp['inflight']
    return ['## Footprint', '',
            '| | RSS |', '|---|---|',
            '| workerd parent, idle | %.1f MiB |' % (fp['idle']['parent_kib']
                                                     / 1024),
            '| each child, idle | %s MiB |' % ', '.join(
                '%.1f' % (k / 1024) for k in fp['idle']['children_kib']),
            '| workerd parent, peak | %.1f MiB |' % (
                fp['load']['parent_hwm_kib'] / 1024),
            '| each child, peak under load | %s MiB |' % ', '.join(
                '%.1f' % (k / 1024) for k in fp['load']['children_hwm_kib']),
            '| producer, bytes per pending result at %s in flight | %.1f '
            '(heap), %.1f (RSS) |' % ('{:,}'.format(fp['inflight_n']),
                                      statistics.median(x['heap_bytes']
                                                        for x in inf),
                                      statistics.median(x['rss_bytes']
                                                        for x in inf)),
            '| producer peak RSS with them | %.1f MiB |' % statistics.median(
                x['peak_rss_mib'] for x in inf), '']


def goal_lines():
    lines = ['## Goals', '', '| goal | measured | met |', '|---|---|---|']
    for goal, got, ok in goals():
        lines.append('| %s | %s | %s |' % (goal, got, 'yes' if ok else '**no**'))
    return lines


def part(fn):
    """A part of the report, or a line that says its figures are missing
    (their section failed, or ran in none of the runs recorded)."""
    try:
        return fn()
    except (KeyError, TypeError) as e:
        return ['(%s: no figures: %s)' % (fn.__name__,
                                          results.get('failed') or e), '']


def report():
    r = results
    m = r['machine']
    lines = ['# Benchmark results', '',
             'Generated by `scripts/bench` on %s: %d cores (%s), Linux %s, '
             'RabbitMQ %s, Celery %s. Each figure is the median of %d runs '
             '(min – max), after a warm-up run; N = %s tasks. Tuned rows run '
             'workerd with `--prefetch-multiplier %d`, Celery with %d; '
             'default rows run both with no option.' % (
                 m['date'], m['cores'], m['cpu'], m['kernel'], m['rabbitmq'],
                 m['celery'], RUNS, '{:,}'.format(N), PREFETCH,
                 CELERY_PREFETCH), '']
    if r.get('failed'):
        lines += ['**Failed sections**: %s. Their figures are missing '
                  'below; the reasons are in bench-results.json.'
                  % ', '.join(sorted(r['failed'])), '']
    for fn in (throughput_lines, other_lines, fair_lines, payload_lines,
               drain_lines, chain_report, latency_lines, cpu_lines, footprint_lines,
               events_lines, goal_lines):
        lines += part(fn)
    lines += ['', '![tasks/s against concurrency](bench-throughput.png)', '',
              'The whole run took %.0f s. Raw figures: '
              '[bench-results.json](bench-results.json).' % r['elapsed_s']]
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.quick:
        return
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'BENCHMARKS.md'), 'w') as fh:
        fh.write(text)
    with open(os.path.join(args.out, 'bench-results.json'), 'w') as fh:
        json.dump(r, fh, indent=1)
    try:
        plot()
    except (KeyError, subprocess.CalledProcessError) as e:
        log('no plot: %s' % e)


def chain_report():
    """The chains section of the report (none in results from before it)."""
    r = results
    cfg = r['config']
    c = cfg.get('chain_concurrency', CHAIN_C)
    a, b = r.get('chains_celeriac_c%d' % c), r.get('chains_celery_c%d' % c)
    if not a or not b:
        return []
    return ['## Chains (%d steps × %s), steps/s' % (
                cfg['chain_steps'], '{:,}'.format(cfg['chains'])), '',
            'One Python Celery producer sends `chain(add.s(i, 0), '
            '*[add.s(1)] * %d)` for each i as fast as it can, then collects '
            'every chain\'s result and checks it is i + %d; steps/s from the '
            'first send to the last result. workerd and the Celery worker '
            'run at -c %d in turns.' % (cfg['chain_steps'] - 1,
                                        cfg['chain_steps'] - 1, c), '',
            '| workerd | Celery worker | ratio |', '|---|---|---|',
            '| %s | %s | %.1fx |' % (fmt(a), fmt(b),
                                     r['chains_ratio_c%d' % c]), '']


def plot():
    data = os.path.join(args.out, 'bench-throughput.dat')
    with open(data, 'w') as fh:
        for c in (1, 2, 4):
            r = results
            fh.write('%d %f %f %f %f\n' % (
                c, r['celeriac_c%d' % c]['median'],
                r['celeriac_transient_c%d' % c]['median'],
                r['celery_c%d' % c]['median'],
                r.get('raw_c%d' % c, r['ceiling'])['median']))
    script = '''set terminal pngcairo size 800,520 noenhanced
set output "{out}"
set title "Trivial tasks end to end on {cores} cores: tasks/s"
set xlabel "worker concurrency (-c)"
set ylabel "tasks/s"
set key below
set grid
set xtics ("1" 1, "2" 2, "4" 4)
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
plot "{data}" using 1:2 with linespoints lw 2 title "celeriac (persistent)", \\
     "{data}" using 1:3 with linespoints lw 2 title "celeriac (transient)", \\
     "{data}" using 1:4 with linespoints lw 2 title "Celery 5 worker", \\
     "{data}" using 1:5 with lines dt 2 lw 2 title "ceiling: raw rabbitmq-c loop, c consumers"
'''.format(out=os.path.join(args.out, 'bench-throughput.png'), data=data,
           cores=results['machine']['cores'])
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    os.remove(data)


if args.report_only:
    results.update(json.load(open(os.path.join(args.out,
                                               'bench-results.json'))))
    RUNS = results['config']['runs']
    N = results['config']['n']
    LAT_N = results['config']['latency_n']
    report()
else:
    main()
