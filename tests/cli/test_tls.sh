#!/usr/bin/env bash
# amqps:// end to end, against a private node with a TLS listener made for
# this test: a CA, a server certificate for "localhost" and a client
# certificate, all made here with openssl.
# - tasks over amqps:// (workerd and celeriac call), without and then with
#   a client certificate (the second node requires one);
# - a wrong CA is refused with "certificate verify failed", and so is a
#   host the certificate is not for (127.0.0.1), never retried without
#   verification.
# The node runs on the suite's port + 2 (AMQP) and + 3 (TLS), and is
# stopped on the way out. Usage: test_tls.sh BUILD_DIR SCRIPTS_DIR
set -u
build="$1"
broker="$2/broker"
base="${CELERIAC_BROKER_PORT:-5672}"
export CELERIAC_BROKER_PORT=$((base + 2)) CELERIAC_BROKER_TLS_PORT=$((base + 3))
tls_port=$CELERIAC_BROKER_TLS_PORT
dir="$(mktemp -d /tmp/celeriac-tls.XXXXXX)"
export CELERIAC_BROKER_TLS_DIR="$dir"
failed=0
worker=

cleanup() {
    [[ -n "$worker" ]] && kill -TERM "$worker" 2>/dev/null && wait "$worker"
    "$broker" stop >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT

make_certs() {
    cd "$dir" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
        -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -extfile server.ext -out server.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=client" \
        -keyout client.key -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days 2 -out client.pem 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
        -keyout other.key -out other.pem 2>/dev/null
    chmod 644 ./*.key
    cd - >/dev/null || exit 1
}

check() { # check NAME CODE WANT_IN_OUTPUT ARGS...
    local name="$1" want_code="$2" want="$3"
    shift 3
    local out code
    out="$("$build/bin/celeriac" "$@" 2>&1)"
    code=$?
    if [[ "$code" != "$want_code" || "$out" != *"$want"* ]]; then
        echo "FAIL $name: code $code (want $want_code), output '$out'"
        failed=$((failed + 1))
    else
        echo "ok   $name: ${out:0:200}"
    fi
}

start_node() {
    "$broker" stop >/dev/null 2>&1
    if ! "$broker" start >/dev/null; then
        echo "FAIL: the TLS node did not start"
        exit 1
    fi
}

run_checks() { # run_checks CLIENT_QUERY
    local q="ssl_ca_certs=$dir/ca.pem$1"
    local good="amqps://guest:guest@localhost:$tls_port//?$q"
    local queue="tls-$(cat /proc/sys/kernel/random/uuid)"
    "$build/bin/workerd" -A "$build/lib/libexample_tasks.so" -c 1 -Q "$queue" \
        -b "$good" 2>/tmp/tls-worker.$$ &
    worker=$!
    check "task over amqps${1:+ with a client certificate}" 0 5 \
        call add '[2, 3]' -Q "$queue" -b "$good" --timeout 30
    kill -TERM "$worker"; wait "$worker"; worker=
    if grep -q "guest:guest" /tmp/tls-worker.$$; then
        echo "FAIL: workerd logged a password"; failed=$((failed + 1))
    fi
    rm -f /tmp/tls-worker.$$
    check "wrong CA" 1 "certificate verify failed" call add '[1, 1]' \
        -b "amqps://guest:guest@localhost:$tls_port//?ssl_ca_certs=$dir/other.pem$1" \
        --timeout 10
    check "wrong host" 1 "certificate verify failed" call add '[1, 1]' \
        -b "amqps://guest:guest@127.0.0.1:$tls_port//?$q" --timeout 10
}

make_certs
start_node
run_checks ""
export CELERIAC_BROKER_TLS_PEER=1
start_node
check "no client certificate, one required" 1 "client certificate" call add '[1, 1]' \
    -b "amqps://guest:guest@localhost:$tls_port//?ssl_ca_certs=$dir/ca.pem" \
    --timeout 10
run_checks "&ssl_certfile=$dir/client.pem&ssl_keyfile=$dir/client.key"
exit $((failed > 0))
