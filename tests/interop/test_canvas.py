"""Celery canvas from a Python Celery 5 producer (rpc:// backend, json),
run by workerd as a Celery worker runs it: chains (values passed on,
immutable steps, a failing step failing the rest), links and their
children, link_error, groups of chains, a retried step that keeps its
chain, and a chord refused with a FAILURE instead of dropped.

Usage: /usr/bin/python3 test_canvas.py BUILD_DIR [BROKER_URL]"""
import sys
import uuid

from interop_util import (Checks, broker_url, start_python_worker,
                           start_workerd)

from celery import Celery, chain, group
from celery.result import AsyncResult

build = sys.argv[1]
url = broker_url()
queue = 'interop-canvas-' + str(uuid.uuid4())
pyqueue = 'interop-canvas-py-' + str(uuid.uuid4())
worker = start_workerd(build, url, queue, 2)
# A Python Celery worker on a queue of its own, for chains across languages.
pyworker = start_python_worker(url, pyqueue, 1)
check = Checks()


def raises(result, exc_type, text):
    try:
        result.get(timeout=20)
    except exc_type as e:
        return text in str(e)
    except Exception as e:  # the wrong exception
        print('  got %r' % (e,))
        return False
    return False


try:
    app = Celery('canvas', broker=url, backend='rpc://')
    app.conf.update(task_serializer='json', result_serializer='json',
                    accept_content=['json'], task_default_queue=queue)

    @app.task(name='add')
    def add(x, y):
        raise AssertionError('runs on workerd, not here')

    @app.task(name='broken_function')
    def broken_function(nsecs):
        raise AssertionError('runs on workerd, not here')

    @app.task(name='flaky')
    def flaky(fails, max_retries):
        raise AssertionError('runs on workerd, not here')

    @app.task(name='whoami')
    def whoami(value):
        raise AssertionError('runs on workerd, not here')

    # The task's own request, as self.request gives it.
    r = chain(add.s(1, 1), whoami.s()).apply_async()
    v = r.get(timeout=20)
    first = r.parent.id
    check("self.request in a chain: value, root_id, parent_id",
          v['value'] == 2 and v['root_id'] == first and
          v['parent_id'] == first and v['id'] == r.id)
    check("self.request: retries, reply_to, hostname, delivery_info",
          v['retries'] == 0 and v['reply_to'] == app.backend.oid and
          v['hostname'].startswith('celeriac@') and
          v['delivery_info']['routing_key'] == queue and
          v['delivery_info']['exchange'] == '' and
          v['delivery_info']['redelivered'] is False)
    g = group(whoami.s(1), whoami.s(2)).apply_async()
    check("self.request.group in a group",
          [x['group'] for x in g.get(timeout=20)] == [g.id, g.id])
    try:
        app.send_task('expected_failure').get(timeout=20)
        check("a C task's exception with two args", False)
    except Exception as e:
        check("a C task's exception keeps its two args: %r" % (e.args,),
              e.args == ('Task expected to fail', 'test') and
              type(e).__name__ == 'ExpectedException')

    r = chain(add.s(2, 2), add.s(4), add.s(8)).apply_async()
    check("chain(add.s(2, 2), add.s(4), add.s(8)).get() == 16",
          r.get(timeout=20) == 16)
    check("the chain's parents walk back: 8, then 4",
          r.parent.get(timeout=20) == 8 and
          r.parent.parent.get(timeout=20) == 4)

    r = chain(add.s(1, 1), add.si(10, 10), add.s(1)).apply_async()
    check("an immutable step keeps its own args: 21",
          r.get(timeout=20) == 21)

    r = add.apply_async((3, 4), link=add.s(100))
    check("add.apply_async((3, 4), link=add.s(100)).get() == 7",
          r.get(timeout=20) == 7)
    r.maybe_throw()
    children = r.children or []
    check("the result names its child", len(children) == 1)
    if children:
        check("the linked add(7, 100) runs: 107",
              children[0].get(timeout=20) == 107)

    r = chain(add.s(1, 2), broken_function.si(0), add.s(5)).apply_async()
    check("a chain whose second step fails raises it at get()",
          raises(r, ValueError, 'Called broken function'))

    r = group(chain(add.s(i, i), add.s(1)) for i in range(5)).apply_async()
    check("a group of chains: [1, 3, 5, 7, 9]",
          r.get(timeout=20) == [1, 3, 5, 7, 9])

    err_id = str(uuid.uuid4())
    r = broken_function.apply_async((0,), link_error=add.si(1, 1).set(
        task_id=err_id))
    check("link_error: the task still raises",
          raises(r, ValueError, 'Called broken function'))
    check("link_error: the errback runs",
          AsyncResult(err_id, app=app).get(timeout=20) == 2)

    r = chain(flaky.s(2, 5), add.s(10)).apply_async()
    check("a retried step keeps its chain: 2 + 10",
          r.get(timeout=20) == 12)

    # A chord cannot be sent through rpc:// (Celery refuses it), so build
    # the header message by hand as another backend's client would.
    body_id = str(uuid.uuid4())
    body = add.s(1).set(task_id=body_id)
    header = add.s(1, 1).set(chord=body)
    r = header.apply_async()
    check("a chord header is answered with a FAILURE, not dropped",
          raises(r, Exception, 'chord'))
    check("and so is the chord's body",
          raises(AsyncResult(body_id, app=app), Exception, 'chord'))

    # Across languages: workerd hands the chain to the Python worker and
    # the Python worker hands it back. py_double exists only in Python and
    # whoami only in workerd, so a step run on the wrong side fails.
    @app.task(name='py_double')
    def py_double(x):
        raise AssertionError('runs on the Python worker, not here')

    r = chain(add.s(1, 1).set(queue=queue), py_double.s().set(queue=pyqueue),
              whoami.s().set(queue=queue)).apply_async()
    v = r.get(timeout=60)
    check("workerd -> Python worker -> workerd: whoami sees 4",
          v['value'] == 4 and v['delivery_info']['routing_key'] == queue)
    r = chain(py_double.s(5).set(queue=pyqueue), add.s(1).set(queue=queue),
              py_double.s().set(queue=pyqueue)).apply_async()
    check("Python worker -> workerd -> Python worker: 22",
          r.get(timeout=60) == 22)

    # A step's own options compose with the chain: countdown, time limit,
    # expiry.
    @app.task(name='slow_sum')
    def slow_sum(nsecs, x, y):
        raise AssertionError('runs on workerd, not here')

    r = chain(add.s(1, 1), add.s(1).set(countdown=1)).apply_async()
    check("a step with a countdown runs when due: 3", r.get(timeout=20) == 3)
    r = chain(add.s(1, 1), slow_sum.si(20, 1, 1).set(time_limit=0.5),
              add.s(1)).apply_async()
    check("a step past its time limit fails the rest of the chain",
          raises(r, Exception, 'Time limit'))
    r = chain(add.s(1, 1), add.s(1).set(expires='2000-01-01T00:00:00'),
              add.s(1)).apply_async()
    check("an expired step revokes the rest of the chain",
          raises(r, Exception, 'expired'))

    # Hostile embeds: each gets a clear FAILURE and the worker goes on.
    check("a chain that is not a list is refused",
          raises(app.send_task('add', (1, 1), chain=5), Exception,
                 'not a list of signatures'))
    check("a signature without a task name is refused",
          raises(app.send_task('add', (1, 1), chain=[{'args': []}]),
                 Exception, 'not a list of signatures'))
    last, nxt = str(uuid.uuid4()), str(uuid.uuid4())
    oid = app.backend.oid

    def step(name, task_id=None):
        opts = {'task_id': task_id, 'reply_to': oid} if task_id else {}
        return {'task': name, 'args': [], 'kwargs': {}, 'options': opts,
                'subtask_type': None, 'immutable': True}
    r = app.send_task('add', (1, 1),
                      chain=[step('nope2', last), step('nope1', nxt)])
    check("a chain of unknown tasks: the first step runs", r.get(timeout=20)
          == 2)
    check("its unknown next step fails with NotRegistered",
          raises(AsyncResult(nxt, app=app), Exception, 'nope1'))
    check("and so does the step after it",
          raises(AsyncResult(last, app=app), Exception, 'nope1'))
    long_last = str(uuid.uuid4())
    chain10k = [step('add', long_last)] + [step('add')] * 9999
    r = app.send_task('add', (1, 1), chain=chain10k)
    check("a 10,000-step chain is refused",
          raises(r, Exception, 'over the 1000'))
    check("and its last step fails with it",
          raises(AsyncResult(long_last, app=app), Exception, 'over the 1000'))

    # A step the broker refuses (no such exchange: it closes the channel)
    # would bring the unacked task back for ever: after two such breaks it
    # fails with the broker's reason instead.
    nowhere = 'celeriac-no-such-exchange-' + str(uuid.uuid4())
    r = chain(add.s(1, 1), add.s(1).set(exchange=nowhere, routing_key='x'))
    check("a step the broker cannot route fails the chain, no loop",
          raises(r.apply_async(), Exception, 'broke the broker connection'))
    r = add.apply_async((1, 1), link=add.s(1).set(queue='amq.celeriac'))
    check("a link to a queue the broker keeps for itself is refused",
          raises(r, Exception, 'not a list of signatures'))

    check("the worker goes on", app.send_task('add', (2, 3)).get(timeout=20)
          == 5)
finally:
    worker.terminate()
    pyworker.terminate()
    worker.wait(timeout=30)
    pyworker.wait(timeout=30)
check.finish()
