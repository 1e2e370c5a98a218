#!/usr/bin/env bash
# The installed celeriac, as a C programmer uses it: `cmake --install` into
# a temporary prefix, then a project outside the tree (examples/own-project)
# builds its task module and producer twice, with pkg-config and with
# find_package, runs the installed workerd with the module and calls its
# tasks through the installed shared library. Also: the soname, that only
# cel_* is exported, and that every header compiles on its own.
# Usage: test_install.sh SOURCE_DIR BUILD_DIR
set -u
src="$1"
build="$2"
dir="$(mktemp -d /tmp/celeriac-install.XXXXXX)"
url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
queue="install-$(cat /proc/sys/kernel/random/uuid)"
worker=
failed=0
trap '[[ -n "$worker" ]] && kill -TERM "$worker" && wait "$worker"; rm -rf "$dir"' EXIT
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
ok() { echo "ok   $*"; }

p="$dir/prefix"
if ! cmake --install "$build" --prefix "$p" >"$dir/install.log" 2>&1; then
    fail "cmake --install:"; tail -20 "$dir/install.log"; exit 1
fi
for f in include/cel/producer.h include/cel/task.h include/cel/declare.h \
    lib/libceleriac.a lib/libceleriac.so lib/pkgconfig/celeriac.pc \
    lib/cmake/celeriac/celeriacConfig.cmake bin/workerd bin/celeriac \
    share/man/man8/workerd.8 share/man/man1/celeriac.1 share/man/man3/celeriac.3 \
    share/man/man3/cel_task.3 lib/systemd/system/workerd@.service; do
    [[ -e "$p/$f" ]] || fail "not installed: $f"
done
soname="$(readelf -d "$p/lib/libceleriac.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
[[ "$soname" == libceleriac.so.1 ]] && ok "soname $soname" || fail "soname '$soname'"
others="$(nm -D --defined-only "$p/lib/libceleriac.so" | awk '$3 !~ /^cel_/ && $3 != "CELERIAC_1" {print $3}')"
[[ -z "$others" ]] && ok "only cel_* exported" || fail "exported beyond cel_*: $(head -c 300 <<<"$others")"

# Every installed header compiles alone, warning-free, in C11 (declare.h
# after the side it makes code for, as it asks).
for h in "$p"/include/cel/*.h; do
    name="$(basename "$h")"
    first=
    [[ "$name" == declare.h ]] && first="#include <cel/producer.h>"
    if ! printf '%s\n#include <cel/%s>\n' "$first" "$name" | cc -std=c11 -Wall -Wextra -Werror -fsyntax-only \
        -I"$p/include" -x c - 2>"$dir/h.err"; then
        fail "<cel/$name> alone: $(head -3 "$dir/h.err")"
    fi
done

run_project() { # run_project HOW MODULE PRODUCER
    local how="$1" module="$2" producer="$3" out
    "$p/bin/workerd" -A "$module" -c 1 -Q "$queue" -b "$url" 2>"$dir/worker-$how.log" &
    worker=$!
    out="$("$producer" "$url" "$queue" 2>&1)"
    kill -TERM "$worker"; wait "$worker"; worker=
    if [[ "$out" == *"mul = 42"*"hypot = 5.0"* ]]; then
        ok "$how: module and producer built outside the tree: $(tr '\n' ' ' <<<"$out")"
    else
        fail "$how: the producer said '$out'"; tail -5 "$dir/worker-$how.log"
    fi
}

# pkg-config, as README.md shows it.
export PKG_CONFIG_PATH="$p/lib/pkgconfig"
mkdir -p "$dir/pc"
cp "$src/examples/own-project/"*.c "$dir/pc/"
if (cd "$dir/pc" &&
    cc -std=c11 -Wall -Wextra -Werror -shared -fPIC tasks.c $(pkg-config --cflags celeriac) -lm -o libmytasks.so &&
    cc -std=c11 -Wall -Wextra -Werror producer.c $(pkg-config --cflags --libs celeriac) \
        -Wl,-rpath,"$p/lib" -o producer) >"$dir/pc.log" 2>&1; then
    run_project pkg-config "$dir/pc/libmytasks.so" "$dir/pc/producer"
    ldd "$dir/pc/producer" | grep -q "libceleriac.so.1 => $p/lib" ||
        fail "the pkg-config producer does not use the installed shared library"
else
    fail "pkg-config build:"; cat "$dir/pc.log"
fi
# Static linking with pkg-config --static.
if (cd "$dir/pc" && cc -std=c11 producer.c $(pkg-config --cflags celeriac) \
    "$p/lib/libceleriac.a" $(pkg-config --libs --static celeriac | sed 's/-lceleriac//') \
    -o producer-static) >"$dir/static.log" 2>&1; then
    ldd "$dir/pc/producer-static" | grep -q libceleriac && fail "static producer links libceleriac.so" ||
        ok "static link with pkg-config --static"
else
    fail "static build:"; cat "$dir/static.log"
fi

# find_package, with the project's own CMakeLists.txt.
if cmake -S "$src/examples/own-project" -B "$dir/cm" -DCMAKE_PREFIX_PATH="$p" \
    >"$dir/cm.log" 2>&1 && cmake --build "$dir/cm" -j2 >>"$dir/cm.log" 2>&1; then
    run_project find_package "$dir/cm/libmytasks.so" "$dir/cm/producer"
else
    fail "find_package build:"; tail -30 "$dir/cm.log"
fi

exit $((failed > 0))
