// celery_node_worker.js: the non-Python peer of scripts/bench, a
// celery-node (npm) worker serving the trivial task in JavaScript.
// Usage: node celery_node_worker.js BROKER_URL QUEUE
// celery-node has no rpc:// backend: it stores each result in a queue of
// its own (Celery's old amqp backend), kept here for a minute only. It
// acks each message on receipt and sets no prefetch limit.
'use strict';
const celery = require('celery-node');

const [url, queue] = process.argv.slice(2);
const worker = celery.createWorker(url, url, queue);
worker.conf.CELERY_BACKEND_OPTIONS = {CELERY_RESULT_EXPIRES: 60000};
worker.register('add', (x, y) => x + y);
worker.start();
