#!/usr/bin/env bash
# The .deb, as an operator installs it: cpack -G DEB in the build folder,
# dpkg -i, then a project outside the tree (examples/own-project) builds
# its task module and producer against the installed paths (pkg-config
# and find_package, with no path given), /usr/bin/workerd serves the
# module and the producer calls its tasks. The unit template passes
# systemd-analyze verify. dpkg -r removes every file the package brought
# (the settings folder stays, as Debian keeps configuration), and dpkg -P
# takes that folder and the celeriac user too.
# Needs root; skipped (77) otherwise, or if a celeriac package is already
# installed (the test never replaces one it did not install).
# Usage: test_deb.sh SOURCE_DIR BUILD_DIR
set -u
src="$1"
build="$2"
if [[ "$(id -u)" != 0 ]] || ! command -v dpkg >/dev/null; then
    echo "skip: needs root and dpkg"; exit 77
fi
if dpkg-query -W -f='${Status}' celeriac 2>/dev/null | grep -q installed; then
    echo "skip: a celeriac package is installed already"; exit 77
fi
dir="$(mktemp -d /tmp/celeriac-deb.XXXXXX)"
url="${CELERIAC_BROKER_URL:-amqp://guest:guest@127.0.0.1:${CELERIAC_BROKER_PORT:-5672}//}"
queue="deb-$(cat /proc/sys/kernel/random/uuid)"
worker=
installed=0
failed=0
cleanup() {
    [[ -n "$worker" ]] && kill -TERM "$worker" && wait "$worker"
    [[ $installed == 1 ]] && dpkg -P celeriac >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
ok() { echo "ok   $*"; }

if ! (cd "$build" && cpack -G DEB -B "$dir/pkg") >"$dir/cpack.log" 2>&1; then
    fail "cpack:"; tail -20 "$dir/cpack.log"; exit 1
fi
deb="$(ls "$dir"/pkg/celeriac_*.deb)"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}' >"$dir/files"
if ! dpkg -i "$deb" >"$dir/dpkg.log" 2>&1; then
    fail "dpkg -i:"; cat "$dir/dpkg.log"; exit 1
fi
installed=1
ok "dpkg -i $(basename "$deb") ($(wc -l <"$dir/files") files)"
getent passwd celeriac >/dev/null && ok "user celeriac" || fail "no user celeriac"
[[ "$(stat -c %U:%G:%a /etc/celeriac)" == root:celeriac:750 ]] ||
    fail "/etc/celeriac is $(stat -c %U:%G:%a /etc/celeriac 2>&1)"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/workerd@.service >"$dir/verify.log" 2>&1 &&
        ok "systemd-analyze verify workerd@.service" ||
        { fail "systemd-analyze verify:"; cat "$dir/verify.log"; }
fi
grep -q '^ExecStart=/usr/bin/workerd ' /usr/lib/systemd/system/workerd@.service ||
    fail "the unit does not run /usr/bin/workerd"

run_project() { # run_project HOW MODULE PRODUCER
    local how="$1" module="$2" producer="$3" out
    /usr/bin/workerd -A "$module" -c 1 -Q "$queue" -b "$url" 2>"$dir/worker-$how.log" &
    worker=$!
    out="$("$producer" "$url" "$queue" 2>&1)"
    kill -TERM "$worker"; wait "$worker"; worker=
    [[ "$out" == *"mul = 42"*"hypot = 5.0"* ]] &&
        ok "$how against the installed package: $(tr '\n' ' ' <<<"$out")" ||
        { fail "$how: the producer said '$out'"; tail -5 "$dir/worker-$how.log"; }
}
mkdir -p "$dir/pc"
cp "$src/examples/own-project/"*.c "$dir/pc/"
if (cd "$dir/pc" && unset PKG_CONFIG_PATH &&
    cc -std=c11 -Wall -Wextra -Werror -shared -fPIC tasks.c $(pkg-config --cflags celeriac) -lm -o libmytasks.so &&
    cc -std=c11 -Wall -Wextra -Werror producer.c $(pkg-config --cflags --libs celeriac) -o producer) \
    >"$dir/pc.log" 2>&1; then
    run_project pkg-config "$dir/pc/libmytasks.so" "$dir/pc/producer"
else
    fail "pkg-config build:"; cat "$dir/pc.log"
fi
if cmake -S "$src/examples/own-project" -B "$dir/cm" >"$dir/cm.log" 2>&1 &&
    cmake --build "$dir/cm" -j2 >>"$dir/cm.log" 2>&1; then
    run_project find_package "$dir/cm/libmytasks.so" "$dir/cm/producer"
else
    fail "find_package build:"; tail -30 "$dir/cm.log"
fi
man -w workerd >/dev/null 2>&1 || [[ -e /usr/share/man/man8/workerd.8 ]] || fail "no workerd(8)"

if ! dpkg -r celeriac >"$dir/dpkg.log" 2>&1; then
    fail "dpkg -r:"; cat "$dir/dpkg.log"
fi
left=0
while read -r f; do
    if [[ -e "$f" || -L "$f" ]]; then fail "left after dpkg -r: $f"; left=1; fi
done <"$dir/files"
[[ $left == 0 ]] && ok "dpkg -r removed all $(wc -l <"$dir/files") files"
dpkg -P celeriac >/dev/null 2>&1
installed=0
[[ ! -e /etc/celeriac ]] && ! getent passwd celeriac >/dev/null &&
    ok "dpkg -P took /etc/celeriac and the user" || fail "dpkg -P left /etc/celeriac or the user"
exit $((failed > 0))
