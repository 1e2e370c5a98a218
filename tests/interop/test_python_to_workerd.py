"""A Python Celery 5 producer (rpc:// backend, json) calling tasks that
workerd runs: values, kwargs, a ValueError raised at get(), NotRegistered
for an unknown name, the typed fun(x) of the course notes, and messages
sent with compression (zlib, gzip, bzip2; a zip bomb; an unknown one).

Usage: /usr/bin/python3 test_python_to_workerd.py BUILD_DIR [BROKER_URL]"""
import os
import sys
import uuid

from interop_util import Checks, broker_url, start_workerd

from celery import Celery
from celery.exceptions import NotRegistered, TimeoutError

build = sys.argv[1]
url = broker_url()
queue = 'interop-py-' + str(uuid.uuid4())
worker = start_workerd(build, url, queue, 2)
check = Checks()


try:
    app = Celery('interop', broker=url, backend='rpc://')
    app.conf.update(task_serializer='json', result_serializer='json',
                    accept_content=['json'], task_default_queue=queue)

    @app.task(name='fun')
    def fun(x):
        raise AssertionError('runs on workerd, not here')

    check("send_task('add', (2, 3)) == 5",
          app.send_task('add', (2, 3)).get(timeout=20) == 5)
    check("add with kwargs",
          app.send_task('add', (), {'x': 2**62, 'y': 5}).get(timeout=20)
          == 2**62 + 5)
    r = fun.delay(7)
    v = r.get(timeout=20)
    check("fun.delay(7) == [7, 49, pid]",
          v[:2] == [7, 49] and isinstance(v[2], int) and v[2] != os.getpid())
    check("ready() and successful() after get()",
          r.ready() and r.successful() and r.state == 'SUCCESS')
    results = [fun.delay(x) for x in range(1, 21)]
    check("20 fun.delay() results in order",
          [res.get(timeout=20)[:2] for res in results]
          == [[x, x * x] for x in range(1, 21)])
    value = {'u': 'h\u00e9llo \u2603', 'n': [1, 2.5, None, True], 'big': 2**63 - 1}
    check("echo keeps unicode, nesting, floats and big ints",
          app.send_task('echo', (value,)).get(timeout=20) == value)

    r = app.send_task('broken_function', (0,))
    try:
        r.get(timeout=20)
        check("broken_function raises ValueError", False)
    except ValueError as e:
        check("broken_function raises ValueError('Called broken function')",
              str(e) == 'Called broken function')
    check("failed() and state FAILURE", r.failed() and r.state == 'FAILURE')
    try:
        app.send_task('add', ('x',)).get(timeout=20)
        check("bad arguments raise TypeError", False)
    except TypeError as e:
        check("bad arguments raise TypeError: " + str(e),
              'missing 1 required positional argument' in str(e))
    try:
        app.send_task('no.such.task', (1,)).get(timeout=20)
        check("unknown task raises NotRegistered", False)
    except NotRegistered as e:
        check("unknown task raises NotRegistered", 'no.such.task' in str(e))
    except TimeoutError:
        check("unknown task raises NotRegistered (it hung instead)", False)

    # Celery's compression option: kombu sends 'zlib' and 'gzip' as a zlib
    # stream named application/x-gzip, 'bzip2' as application/x-bz2.
    @app.task(name='add')
    def add(x, y):
        raise AssertionError('runs on workerd, not here')

    def outcome(r):
        try:
            return r.get(timeout=20)
        except Exception as e:
            return '%s: %s' % (type(e).__name__, e)

    for how in ('zlib', 'gzip', 'bzip2'):
        v = outcome(add.apply_async((2, 2), compression=how))
        check("add.apply_async((2, 2), compression=%r) == 4 (%s)"
              % (how, str(v)[:80]), v == 4)
    value = {'text': 'x' * 100000, 'u': 'h\u00e9llo \u2603'}
    check("echo of 100 kB compressed with bzip2 comes back whole",
          outcome(app.send_task('echo', (value,), compression='bzip2'))
          == value)
    # 17 MiB that deflate to about 17 kB, past workerd's default limit of
    # 16 MiB once inflated: refused as Celery refuses an oversized body.
    try:
        app.send_task('echo', ('a' * (17 << 20),),
                      compression='zlib').get(timeout=20)
        check("a body inflating past --max-message-size is refused", False)
    except Exception as e:
        check("a body inflating past the limit raises ContentDisallowed: "
              + str(e)[:100], type(e).__name__ == 'ContentDisallowed' and
              'inflates past the limit of 16777216 bytes' in str(e))
    try:
        add.apply_async((2, 2), compression='xz').get(timeout=20)
        check("an unknown compression is refused", False)
    except Exception as e:
        check("an unknown compression is refused: " + str(e)[:100],
              'application/x-lzma is not supported' in str(e))
    check("the children keep serving compressed tasks",
          [outcome(add.apply_async((i, 1), compression='zlib'))
           for i in range(4)] == [1, 2, 3, 4])
finally:
    worker.terminate()
    code = worker.wait(timeout=30)
    check("workerd exits 0 after SIGTERM", code == 0)

check.finish()
