"""What the interop tests share: the broker URL and a check() that counts
failures instead of stopping at the first."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def broker_url():
    """The URL from argv[2], else CELERIAC_BROKER_URL, else the private
    node on CELERIAC_BROKER_PORT."""
    if len(sys.argv) > 2:
        return sys.argv[2]
    return (os.environ.get('CELERIAC_BROKER_URL') or
            'amqp://guest:guest@127.0.0.1:%s//'
            % os.environ.get('CELERIAC_BROKER_PORT', '5672'))


class Checks:
    def __init__(self):
        self.failures = 0

    def __call__(self, what, cond):
        print(('ok   ' if cond else 'FAIL ') + what, flush=True)
        self.failures += 0 if cond else 1

    def finish(self):
        print('%d failed' % self.failures)
        sys.exit(1 if self.failures else 0)


def start_workerd(build, url, queue, concurrency=2):
    """workerd with the example tasks, consuming queue."""
    return subprocess.Popen([os.path.join(build, 'bin', 'workerd'),
                             '-A', os.path.join(build, 'lib',
                                                'libexample_tasks.so'),
                             '-c', str(concurrency), '-Q', queue, '-b', url])


def start_python_worker(url, queue, concurrency=2):
    """A Python Celery worker serving pytasks (the example tasks' Python
    twins) on queue."""
    env = dict(os.environ, CELERIAC_BROKER_URL=url, CELERIAC_TEST_QUEUE=queue)
    return subprocess.Popen(
        ['/usr/bin/python3', '-m', 'celery', '-A', 'pytasks', '-b', url,
         'worker', '-c', str(concurrency), '-P', 'prefork', '-Q', queue,
         '--without-gossip', '--without-mingle', '--without-heartbeat',
         '-l', 'warning'], cwd=HERE, env=env)
