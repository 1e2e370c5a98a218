# worker.sh: sourced by the shell tests. start_worker PREFIX N sets $url
# (the suite's broker) and $queue (PREFIX-<uuid>), starts workerd -c N with
# the example tasks on that queue, and stops it when the test exits.
# Needs $build.
start_worker() {
    url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
    queue="$1-$(cat /proc/sys/kernel/random/uuid)"
    "$build/bin/workerd" -A "$build/lib/libexample_tasks.so" -c "$2" -Q "$queue" -b "$url" &
    worker=$!
    trap 'kill -TERM $worker 2>/dev/null; wait $worker' EXIT
}
