#!/bin/sh
# Builds plugins/example the way a third party would — against a staged
# install of <hb/plugin.h> and nothing else of hb's — with its Makefile,
# and with its CMakeLists.txt when cmake is there; checks that each
# example.so exports hb_plugin_entry. Writes only to a temporary
# directory. Usage: test-build.sh [HB_SOURCE_DIR]; CC picks the compiler.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$(cd "$here/../.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hb-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() {
	echo "test-build: $*" >&2
	exit 1
}

# Exported (dynamic, defined) symbols must include hb_plugin_entry.
check_so() {
	[ -f "$1" ] || fail "$1 was not built"
	nm -D --defined-only "$1" | grep -qw hb_plugin_entry ||
		fail "$1 does not export hb_plugin_entry"
	echo "test-build: $1 ok"
}

mkdir -p "$tmp/include/hb" "$tmp/make"
cp "$src/include/hb/plugin.h" "$tmp/include/hb/"

# Strict C11 and -Werror: the header and the example must both pass.
make -s -C "$here" CC="${CC:-cc}" HB_INCLUDE="$tmp/include" OUT="$tmp/make" \
	CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror"
check_so "$tmp/make/example.so"

if command -v cmake >/dev/null 2>&1; then
	CC="${CC:-cc}" cmake -S "$here" -B "$tmp/cmake" \
		-DHB_INCLUDE_DIR="$tmp/include" >"$tmp/cmake.log" 2>&1 ||
		{ cat "$tmp/cmake.log" >&2; fail "cmake configure failed"; }
	cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 ||
		{ cat "$tmp/cmake.log" >&2; fail "cmake build failed"; }
	check_so "$tmp/cmake/example.so"
fi
