"""The C producer's canvas (<cel/canvas.h>) on a real Python Celery
worker: a chain it runs whole (its reply_to options bring every step's
result back to the C client), a chain whose steps alternate between the
Python worker's queue and workerd's (each step's queue option), a link
and a group. The checks are in c_canvas.c; this starts the workers.

Usage: /usr/bin/python3 test_c_canvas.py BUILD_DIR [BROKER_URL]"""
import os
import subprocess
import sys
import uuid

from interop_util import broker_url, start_python_worker, start_workerd

build = sys.argv[1]
url = broker_url()
cqueue = 'interop-c-canvas-' + str(uuid.uuid4())
pyqueue = 'interop-c-canvas-py-' + str(uuid.uuid4())
worker = start_workerd(build, url, cqueue, 2)
pyworker = start_python_worker(url, pyqueue, 2)
try:
    p = subprocess.run([os.path.join(build, 'bin', 'c_canvas'), url, pyqueue,
                        cqueue], timeout=150)
    code = p.returncode
finally:
    worker.terminate()
    pyworker.terminate()
    worker.wait(timeout=60)
    pyworker.wait(timeout=60)
print('ok' if code == 0 else 'FAILED')
sys.exit(code)
