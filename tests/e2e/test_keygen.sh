#!/bin/sh
# End-to-end test of hb-keygen: output format, key file mode and overwrite
# protection, option validation and exit statuses.
# Usage: test_keygen.sh PATH-TO-hb-keygen
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH-TO-hb-keygen" >&2
	exit 2
fi
KG=$1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

HEX64='[0-9a-f]\{64\}'
UUID4='[0-9a-f]\{8\}-[0-9a-f]\{4\}-4[0-9a-f]\{3\}-[89ab][0-9a-f]\{3\}-[0-9a-f]\{12\}'
ID='[1-9][0-9]*'

fail() {
	echo "FAIL: $*"
	exit 1
}

# Key lines of a key file: neither comments nor blank.
keys() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$1" || true
}

nkeys() {
	keys "$1" | wc -l | tr -d ' '
}

# Runs hb-keygen with the given arguments, its output discarded, and
# fails unless it exits with status $1.
expect_status() {
	want=$1
	shift
	rc=0
	"$KG" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "hb-keygen $* exited $rc, expected $want"
	if [ "$want" -ne 0 ]; then
		[ -s "$tmp/err" ] || fail "hb-keygen $* printed no error"
		grep -q '^hb-keygen: ' "$tmp/err" ||
			fail "hb-keygen $*: error not prefixed 'hb-keygen: '"
	fi
}

# Default: one unbound key on stdout after a comment header.
expect_status 0
[ "$(nkeys "$tmp/out")" = 1 ] || fail "stdout: expected exactly one key line"
keys "$tmp/out" | grep -q "^$ID $HEX64\$" ||
	fail "stdout: key line does not match '<id> <64 hex>'"
head -n 1 "$tmp/out" | grep -q '^# hb key, generated .* by hb-keygen$' ||
	fail "stdout: missing comment header"

# Two runs give different secrets.
cp "$tmp/out" "$tmp/out1"
expect_status 0
[ "$(keys "$tmp/out" | cut -d ' ' -f 2)" != \
  "$(keys "$tmp/out1" | cut -d ' ' -f 2)" ] || fail "two runs gave one secret"

# -o creates a 0600 file and prints nothing on stdout.
f=$tmp/hb.key
expect_status 0 -o "$f"
[ -f "$f" ] || fail "-o did not create the file"
[ ! -s "$tmp/out" ] || fail "-o printed on stdout"
[ "$(stat -c %a "$f")" = 600 ] || fail "-o file mode $(stat -c %a "$f"), not 600"
[ "$(nkeys "$f")" = 1 ] || fail "-o file: expected exactly one key line"
keys "$f" | grep -q "^$ID $HEX64\$" || fail "-o file: bad key line"

# A second -o on the same file fails and leaves it alone.
cp "$f" "$tmp/before"
rc=0
"$KG" -o "$f" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "-o over an existing file succeeded"
cmp -s "$f" "$tmp/before" || fail "failed -o changed the existing file"

# -f replaces it, keeps mode 0600 and leaves no temporary file behind.
expect_status 0 -f -o "$f" -i 7
cmp -s "$f" "$tmp/before" && fail "-f did not overwrite the file"
[ "$(stat -c %a "$f")" = 600 ] || fail "-f file mode $(stat -c %a "$f"), not 600"
keys "$f" | grep -q "^7 $HEX64\$" || fail "-f file: expected key 7"
for t in "$tmp"/.*.key.*; do
	if [ -e "$t" ]; then
		fail "-f left a temporary file: $t"
	fi
done

# -i sets the id.
expect_status 0 -i 42
keys "$tmp/out" | grep -q "^42 $HEX64\$" || fail "-i 42 did not give id 42"
expect_status 0 -i 4294967295

# Bad ids are usage errors.
expect_status 2 -i 0
expect_status 2 -i abc
expect_status 2 -i -1
expect_status 2 -i 4294967296
expect_status 2 -i 42x

# -n: per-host keys, distinct consecutive ids and distinct v4 uuids.
expect_status 0 -n 5
[ "$(nkeys "$tmp/out")" = 5 ] || fail "-n 5: expected 5 key lines"
[ "$(keys "$tmp/out" | grep -c "^$ID $HEX64 $UUID4\$")" = 5 ] ||
	fail "-n 5: key lines do not match '<id> <64 hex> <v4 uuid>'"
[ "$(keys "$tmp/out" | cut -d ' ' -f 1 | sort -u | wc -l | tr -d ' ')" = 5 ] ||
	fail "-n 5: ids not distinct"
[ "$(keys "$tmp/out" | cut -d ' ' -f 3 | sort -u | wc -l | tr -d ' ')" = 5 ] ||
	fail "-n 5: host uuids not distinct"
[ "$(keys "$tmp/out" | cut -d ' ' -f 2 | sort -u | wc -l | tr -d ' ')" = 5 ] ||
	fail "-n 5: secrets not distinct"
expect_status 0 -n 3 -i 10
[ "$(keys "$tmp/out" | cut -d ' ' -f 1 | tr '\n' ' ')" = "10 11 12 " ] ||
	fail "-n 3 -i 10: ids not 10 11 12"
expect_status 2 -n 0
expect_status 2 -n 1000001
expect_status 2 -n 2 -i 4294967295

# -H binds the key to a host; bad uuids and -H with -n > 1 are errors.
host=123e4567-e89b-12d3-a456-426614174000
expect_status 0 -H "$host" -i 9
keys "$tmp/out" | grep -q "^9 $HEX64 $host\$" || fail "-H: key not bound to $host"
expect_status 2 -H not-a-uuid
expect_status 2 -H "$host" -n 2

# Unknown options and stray arguments are usage errors.
expect_status 2 --no-such-option
expect_status 2 stray

echo ok
