#!/usr/bin/env bash
# celeriac inside another CMake project (add_subdirectory, as FetchContent
# does): a project of its own, outside the tree, builds a task module
# against cel::task and a producer against cel::producer, runs celeriac's
# workerd with its module and calls its task.
# Usage: test_subproject.sh SOURCE_DIR
set -u
src="$1"
dir="$(mktemp -d /tmp/celeriac-sub.XXXXXX)"
url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
queue="subproject-$(cat /proc/sys/kernel/random/uuid)"
worker=
trap '[[ -n "$worker" ]] && kill -TERM "$worker" && wait "$worker"; rm -rf "$dir"' EXIT

mkdir -p "$dir/app"
cat >"$dir/app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(myapp C)
add_subdirectory($src celeriac)
add_library(mytasks MODULE tasks.c)
target_link_libraries(mytasks PRIVATE cel::task)
add_executable(myproducer producer.c)
target_link_libraries(myproducer PRIVATE cel::producer)
CMAKE
cat >"$dir/app/tasks.c" <<'C'
#include <cel/task.h>

static json_t *
mul(cel_task_ctx_t *ctx, const json_t *args, const json_t *kwargs)
{
    static const char *const params[] = {"x", "y"};
    int64_t x, y;
    if (cel_args_check(ctx, args, kwargs, 2, params) ||
        cel_arg_int(ctx, args, kwargs, 0, "x", &x) ||
        cel_arg_int(ctx, args, kwargs, 1, "y", &y)) {
        return NULL;
    }
    return json_integer(x * y);
}

int cel_module_init(cel_registry_t *reg);

int
cel_module_init(cel_registry_t *reg)
{
    return cel_registry_add(reg, "mul", mul);
}
C
cat >"$dir/app/producer.c" <<'C'
#include <cel/producer.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    cel_client_opts_t co = CEL_CLIENT_OPTS_INIT;
    cel_error_t err = CEL_ERROR_INIT;
    cel_client_t *c;
    json_t *v = NULL;

    co.broker_url = argv[1];
    co.queue = argc > 2 ? argv[2] : NULL;
    if (cel_client_open(&co, &c, &err) != 0) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    json_t *args = json_pack("[ii]", 6, 7);
    int r = cel_apply(c, "mul", args, NULL, NULL, 30000, &v, &err);
    if (r == 0) {
        printf("%lld\n", (long long)json_integer_value(v));
    } else {
        fprintf(stderr, "%s\n", err.text);
    }
    json_decref(v);
    json_decref(args);
    cel_client_close(c);
    return r != 0;
}
C
if ! cmake -S "$dir/app" -B "$dir/build" >"$dir/cmake.log" 2>&1 ||
    ! cmake --build "$dir/build" -j2 >>"$dir/cmake.log" 2>&1; then
    echo "FAIL: the outer project does not build:"
    tail -30 "$dir/cmake.log"
    exit 1
fi
module="$(find "$dir/build" -name 'libmytasks.so' | head -1)"
"$dir/build/celeriac/bin/workerd" -A "$module" -c 1 -Q "$queue" -b "$url" &
worker=$!
out="$("$dir/build/myproducer" "$url" "$queue")"
if [[ "$out" != 42 ]]; then
    echo "FAIL: the outer project's task gave '$out'"
    exit 1
fi
echo "ok   celeriac as a subproject: module and producer built outside the tree, 6 * 7 = $out"
