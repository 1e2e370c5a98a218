"""The C side calling a real Python Celery worker: `celeriac call` (the
producer library) against `celery worker` serving the same task names,
through Celery's own declarations (so a mismatch would fail with
PRECONDITION_FAILED) and its rpc:// replies.

Usage: /usr/bin/python3 test_c_to_celery.py BUILD_DIR [BROKER_URL]"""
import json
import os
import subprocess
import sys
import uuid

from interop_util import Checks, broker_url, start_python_worker

build = sys.argv[1]
url = broker_url()
queue = 'interop-c-' + str(uuid.uuid4())
worker = start_python_worker(url, queue, 2)
celeriac = os.path.join(build, 'bin', 'celeriac')
check = Checks()


def call(*args):
    p = subprocess.run([celeriac, 'call', *args, '-Q', queue, '-b', url,
                        '--timeout', '60'], capture_output=True, text=True)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


try:
    code, out, err = call('add', '[2, 3]')
    check('celeriac call add [2, 3] prints 5 (%d %r %r)' % (code, out, err),
          code == 0 and out == '5')
    code, out, err = call('add', '[]', '{"x": 40, "y": 2}')
    check('kwargs reach the Python task', code == 0 and out == '42')
    for method in ('zlib', 'gzip', 'bzip2'):
        code, out, err = call('add', '[2, 3]', '--compression', method)
        check('a body compressed with %s by C is read by Celery (%d %r %r)'
              % (method, code, out, err), code == 0 and out == '5')
    code, out, err = call('fun', '[6]')
    v = json.loads(out) if code == 0 else None
    check('fun(6) runs in a Python process',
          v is not None and v[:2] == [6, 36] and v[2] != os.getpid())
    value = {'u': 'h\u00e9llo \u2603', 'n': [1, 2.5, None, True]}
    code, out, err = call('echo', json.dumps([value]))
    check('echo round trip', code == 0 and json.loads(out) == value)
    code, out, err = call('broken_function', '[0]')
    check('a Python ValueError reaches C as a FAILURE (%r)' % err,
          code == 1 and err == 'ValueError: Called broken function')
    code, out, err = call('slow_sum', '[0.2, 1, 2]')
    check('slow_sum', code == 0 and out == '3')
finally:
    worker.terminate()
    worker.wait(timeout=60)

check.finish()
