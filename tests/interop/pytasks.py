"""Python twins of the example tasks, registered under the same names, for
the tests where a Python Celery worker serves a C producer."""
import os
import time

from celery import Celery

app = Celery('pytasks', broker=os.environ.get('CELERIAC_BROKER_URL'),
             backend='rpc://')
app.conf.update(task_serializer='json', result_serializer='json',
                accept_content=['json'],
                task_default_queue=os.environ.get('CELERIAC_TEST_QUEUE',
                                                  'celery'))


@app.task(name='add')
def add(x, y):
    return x + y


@app.task(name='fun')
def fun(x):
    return x, x * x, os.getpid()


@app.task(name='slow_sum')
def slow_sum(nsecs, x, y):
    time.sleep(nsecs)
    return x + y


@app.task(name='broken_function')
def broken_function(nsecs):
    time.sleep(nsecs)
    raise ValueError('Called broken function')


@app.task(name='echo')
def echo(value):
    return value


@app.task(name='py_double')
def py_double(x):
    """Only the Python worker has it: a chain step that must run here."""
    return 2 * x
