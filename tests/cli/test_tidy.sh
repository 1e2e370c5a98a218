#!/usr/bin/env bash
# clang-tidy with the project's .clang-tidy on every source file of the
# four components and the CLI, from the build's compile_commands.json:
# any finding fails. First it proves the configuration bites: a signal
# handler that calls printf (cert-sig30-c) must be refused.
# Usage: test_tidy.sh SOURCE_DIR BUILD_DIR
set -u
src="$1"
build="$2"
tidy="$(command -v clang-tidy || command -v clang-tidy-14 || true)"
if [[ -z "$tidy" ]]; then
    echo "skip: no clang-tidy (scripts/deps --test installs it)"; exit 77
fi
if [[ ! -f "$build/compile_commands.json" ]]; then
    echo "FAIL: no $build/compile_commands.json"; exit 1
fi
dir="$(mktemp -d /tmp/celeriac-tidy.XXXXXX)"
trap 'rm -rf "$dir"' EXIT

cp "$src/.clang-tidy" "$dir/"
cat >"$dir/bad.c" <<'C'
#include <signal.h>
#include <stdio.h>
static void on_int(int sig) { printf("signal %d\n", sig); }
void setup(void);
void setup(void) { signal(SIGINT, on_int); }
C
if "$tidy" --quiet "$dir/bad.c" -- -std=c11 >"$dir/bad.log" 2>&1 ||
    ! grep -q "cert-sig30-c" "$dir/bad.log"; then
    echo "FAIL: the configuration does not refuse a printf in a signal handler"
    cat "$dir/bad.log"; exit 1
fi
echo "ok   the configuration refuses a printf in a signal handler"

cd "$src"
files=(common/*.c broker-client/*.c producer/*.c worker/*.c cli/*.c)
printf '%s\n' "${files[@]}" |
    xargs -n6 -P2 "$tidy" -p "$build" --quiet >"$dir/tidy.log" 2>"$dir/tidy.err"
if grep -q "warning:\|error:" "$dir/tidy.log"; then
    echo "FAIL: clang-tidy findings:"
    grep -A3 "warning:\|error:" "$dir/tidy.log" | head -80
    exit 1
fi
echo "ok   clang-tidy clean on ${#files[@]} files"
