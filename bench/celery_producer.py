"""The drop-in case of scripts/bench: a Python Celery 5 producer sending N
add(i, i) to workerd and collecting every result (ResultSet.get, as a
Celery user would), tasks/s from first send to last result, as JSON.

Usage: /usr/bin/python3 celery_producer.py N QUEUE   (broker:
$CELERIAC_BROKER_URL)"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'interop'))
os.environ.setdefault('CELERIAC_TEST_QUEUE', sys.argv[2])
from celery.result import ResultSet  # noqa: E402
from pytasks import app  # noqa: E402

n, queue = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
results = [app.send_task('add', (i, i), queue=queue) for i in range(n)]
t1 = time.monotonic()
values = ResultSet(results).get(timeout=600)
t2 = time.monotonic()
wrong = sum(1 for i, v in enumerate(values) if v != 2 * i)
print(json.dumps({'n': n, 'tasks_per_s': n / (t2 - t0),
                  'send_per_s': n / (t1 - t0), 'wrong': wrong}))
sys.exit(1 if wrong else 0)
