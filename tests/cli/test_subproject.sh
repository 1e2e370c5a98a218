#!/usr/bin/env bash
# celeriac inside another CMake project (add_subdirectory, as FetchContent
# does): a project of its own, outside the tree, builds a task module
# against cel::task and a producer against cel::producer (the sources of
# examples/own-project), runs celeriac's
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
target_link_libraries(mytasks PRIVATE cel::task m)
add_executable(myproducer producer.c)
target_link_libraries(myproducer PRIVATE cel::producer)
CMAKE
cp "$src/examples/own-project/"*.c "$dir/app/"
if ! cmake -S "$dir/app" -B "$dir/build" >"$dir/cmake.log" 2>&1 ||
    ! cmake --build "$dir/build" -j2 >>"$dir/cmake.log" 2>&1; then
    echo "FAIL: the outer project does not build:"
    tail -30 "$dir/cmake.log"
    exit 1
fi
module="$(find "$dir/build" -name 'libmytasks.so' | head -1)"
"$dir/build/celeriac/bin/workerd" -A "$module" -c 1 -Q "$queue" -b "$url" &
worker=$!
out="$("$dir/build/myproducer" "$url" "$queue" | tr '\n' ' ')"
if [[ "$out" != *"mul = 42"*"hypot = 5.0"* ]]; then
    echo "FAIL: the outer project's task gave '$out'"
    exit 1
fi
echo "ok   celeriac as a subproject: module and producer built outside the tree: $out"
