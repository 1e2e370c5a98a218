#!/usr/bin/env bash
# The man pages in man/: each renders without a single groff warning;
# workerd.8 names every long option `workerd --help` prints (and its
# OPTIONS section none that workerd lacks); celeriac.1 every long option
# of each command the built celeriac has; celeriac.3 every public function
# and macro of the producer's headers (<cel/producer.h>, <cel/canvas.h>,
# ...) and of <cel/error.h>, and every error code; cel_task.3 every public
# function and macro of the worker's headers (<cel/task.h>,
# <cel/request.h>) and of <cel/declare.h>. Needs no broker.
# Usage: test_man.sh BUILD_DIR
set -u
build="$1"
src="$(cd "$(dirname "$0")/../.." && pwd)"
man="$src/man"
failed=0

fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

if ! command -v groff >/dev/null; then
    echo "FAIL groff is missing (scripts/deps --test installs groff-base)"
    exit 1
fi

# 1. Every page renders, and groff has nothing to say about it.
for page in workerd.8 celeriac.1 celeriac.3 cel_task.3; do
    if [[ ! -f "$man/$page" ]]; then
        fail "$page: missing"
        continue
    fi
    out="$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$man/$page" 2>&1)"
    code=$?
    if [[ $code != 0 || -n "$out" ]]; then
        fail "$page: groff exit $code: $out"
    else
        echo "ok   $page renders without warnings"
    fi
done

# A page's source as words: no comment lines, "\-" as "-", no font or
# zero-width escapes, so that "\fB\-\-queue\fP" reads "--queue".
page_words() {
    sed -e '/^\.\\"/d' -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' \
        -e 's/\\&//g' -e 's/\\%//g' "$man/$1"
}

# names PAGE WHAT NAME...: every NAME appears in PAGE as a whole word.
names() {
    local page="$1" what="$2" text missing=()
    shift 2
    if (($# == 0)); then
        fail "$page: found no $what to look for"
        return
    fi
    text="$(page_words "$page")"
    for n in "$@"; do
        if ! grep -qE -- "(^|[^A-Za-z0-9_-])${n}([^A-Za-z0-9_-]|$)" <<<"$text"; then
            missing+=("$n")
        fi
    done
    if ((${#missing[@]} > 0)); then
        fail "$page lacks $what: ${missing[*]}"
    else
        echo "ok   $page names all $# $what"
    fi
}

long_options() { # the long options in a --help text on stdin
    grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u
}

# 2. Options: workerd's, both ways; each celeriac command's that exists.
help="$("$build/bin/workerd" --help)" || fail "workerd --help exited $?"
mapfile -t opts < <(long_options <<<"$help")
names workerd.8 "workerd options" "${opts[@]}"
documented="$(page_words workerd.8 | sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' | long_options)"
for o in $documented; do
    if ! grep -qx -- "$o" <<<"$(printf '%s\n' "${opts[@]}")"; then
        fail "workerd.8 documents $o, which workerd --help does not print"
    fi
done

help="$("$build/bin/celeriac" --help)" || fail "celeriac --help exited $?"
mapfile -t opts < <(long_options <<<"$help")
names celeriac.1 "celeriac options" "${opts[@]}"
for cmd in call map purge status inspect control; do
    if ! help="$("$build/bin/celeriac" "$cmd" --help 2>/dev/null)"; then
        if [[ "$cmd" == call ]]; then
            fail "celeriac call --help failed"
        else
            echo "--   celeriac $cmd: not in this build"
        fi
        continue
    fi
    names celeriac.1 "command" "$cmd"
    mapfile -t opts < <(long_options <<<"$help")
    names celeriac.1 "celeriac $cmd options" "${opts[@]}"
done

# 3. Functions and macros: the public cel_*/CEL_* names a header declares
# or defines (not cel__*/CEL__*, not include guards, not typedefs).
declared() {
    perl - "$@" <<'EOF'
my $macros = $ARGV[0] eq '-m' ? shift @ARGV : 0;
my %seen;
local $/;
for my $f (@ARGV) {
    open(my $h, '<', $f) or die "$f: $!\n";
    my $s = <$h>;
    $s =~ s{/\*.*?\*/}{ }gs;
    $s =~ s{//[^\n]*}{}g;
    $s =~ s{\\\n}{ }g;
    my @names;
    if ($macros) {
        push @names, $1 while $s =~ /^\s*#\s*define\s+((?:cel|CEL)_\w+)/mg;
    }
    $s =~ s{^\s*#[^\n]*}{}mg;
    for my $stmt (split /[;{}]/, $s) {
        push @names, $1 if $stmt !~ /^\s*typedef\b/ && $stmt =~ /\b(cel_\w+)\s*\(/;
    }
    for (@names) {
        print "$_\n" unless /^(?:cel|CEL)__/ || /_H$/ || $seen{$_}++;
    }
}
EOF
}

mapfile -t fns < <(declared "$src"/producer/include/cel/*.h)
names celeriac.3 "producer functions" "${fns[@]}"
mapfile -t fns < <(declared -m "$src"/producer/include/cel/*.h | grep '^CEL_')
names celeriac.3 "producer macros" "${fns[@]}"
err_h="$src/common/include/cel/error.h"
mapfile -t fns < <(declared "$err_h")
names celeriac.3 "error functions" "${fns[@]}"
mapfile -t fns < <(grep -oE 'XX\(E[A-Z]+,' "$err_h" | sed -E 's/XX\((E[A-Z]+),/CEL_\1/')
names celeriac.3 "error codes" "${fns[@]}"

mapfile -t fns < <(declared -m "$src"/worker/include/cel/*.h)
names cel_task.3 "task functions and macros" "${fns[@]}"
mapfile -t fns < <(declared -m "$src/common/include/cel/declare.h")
names cel_task.3 "declare.h macros" "${fns[@]}"

if ((failed > 0)); then
    echo "$failed check(s) failed"
    exit 1
fi
echo "all man page checks passed"
