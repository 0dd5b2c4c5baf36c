#!/bin/sh
# Builds the libFuzzer targets with clang, ASan and UBSan in build-fuzz/
# and runs each for SECONDS (default 60): `datagram` (the receive path:
# frames, reassembly, decoders, JSON; fuzz/fuzz_datagram.c) and `keyfile`
# (the key-file parser), or just TARGET.
#
#     scripts/fuzz.sh [SECONDS] [TARGET]
#
# Fuzzing starts from a scratch copy of fuzz/corpus/TARGET, so the
# committed seeds do not grow; inputs that crash, leak or time out are
# written to fuzz/artifacts/ (not committed). Seeds named crash-* record
# bugs found earlier: they are replayed first and reported while they
# still fail, and kept out of the fuzzing corpus. Exits 1 when any target
# crashed or a recorded crash still reproduces.
#
# The datagram seeds, each a sequence of 2-byte big-endian lengths and
# datagrams, were made once with the documented test key (id 1, secret
# 00 01 .. 1f) and key 2 (secret 20 .. 3f, bound to the example host):
#   example-*       the `hb-wire example` datagrams (sign mode), one per
#                   file, and HTB+ACK together
#   htb-*, ack-*, bye-*, call-*
#                   other modes, a host-bound key with the right and a
#                   wrong host, 32 labels and 128 plugins, a reserved type
#   plg-frags-*     a PLG in 3 fragments: in order (none, sign), reversed
#                   with a duplicate (encrypt), expired by 101 empty
#                   datagrams (10.1 s), interleaved messages of two hosts
#                   that overflow max_per_sender, then first fragments
#                   of 70 more hosts
#   plg-none-*      PLG data for the JSON writer: floats, NaN, int64 and
#                   uint64 limits, bin, ext, bad UTF-8, non-string map
#                   keys; and the deepest nesting accepted
#   bare-headers-none, empty
#                   a header without body, a fragment header without body
set -eu
cd "$(dirname "$0")/.."

secs=${1:-60}
only=${2:-}
case $secs in
'' | *[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS] [datagram|keyfile]" >&2
	exit 2
	;;
esac
case $only in
'') targets="datagram keyfile" ;;
datagram | keyfile) targets=$only ;;
*)
	echo "fuzz: unknown target '$only' (datagram, keyfile)" >&2
	exit 2
	;;
esac

./scripts/setup.sh
dir=build-fuzz
# fuzzer-no-link instruments hb_proto for coverage without linking a
# main(); the fuzz targets add -fsanitize=fuzzer (fuzz/CMakeLists.txt).
CC=clang cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" \
	-DHB_FUZZ=ON -DHB_SANITIZE=ON -DHB_WERROR=ON -DHB_TESTS=OFF >/dev/null
for t in $targets; do
	cmake --build "$dir" -j"$(nproc)" --target "fuzz-$t"
done

mkdir -p fuzz/artifacts
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hb-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for t in $targets; do
	bin=$dir/fuzz/fuzz-$t
	seeds=fuzz/corpus/$t
	corpus=$scratch/$t
	log=$dir/fuzz-$t.log
	mkdir -p "$corpus"

	# Known crashes first: one run each, quietly.
	for f in "$seeds"/crash-*; do
		[ -e "$f" ] || continue
		if "$bin" -runs=1 "$f" >"$scratch/replay.log" 2>&1; then
			echo "fuzz: $t: $f: fixed (passes now)"
		else
			echo "fuzz: $t: $f: STILL CRASHES:"
			grep -E 'ERROR|SUMMARY|check failed|runtime error' \
				"$scratch/replay.log" | head -5 | sed 's/^/    /'
			failed=1
		fi
	done
	for f in "$seeds"/*; do
		case ${f##*/} in
		crash-*) ;;
		*) if [ -f "$f" ]; then cp "$f" "$corpus/"; fi ;;
		esac
	done

	echo "fuzz: $t: ${secs}s from $(ls "$corpus" | wc -l) seeds," \
		"log in $log"
	# The status of the fuzzer, not of the filter, survives the pipe.
	{
		rc=0
		"$bin" -max_total_time="$secs" -max_len=9000 -timeout=10 \
			-print_final_stats=1 \
			-artifact_prefix="fuzz/artifacts/$t-" "$corpus" 2>&1 ||
			rc=$?
		echo "$rc" >"$scratch/rc"
	} | tee "$log" |
		grep -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|==ERROR|SUMMARY|check failed|runtime error|Test unit written|^stat::' ||
		true
	rc=$(cat "$scratch/rc")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $t: OK, ${execs:-?} executions, $(ls "$corpus" | wc -l) corpus units"
		echo "fuzz: $t: $final"
	else
		failed=1
		art=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -n 1)
		echo "fuzz: $t: FAILED (exit $rc) after ${execs:-?} executions"
		if [ -n "$art" ]; then
			echo "fuzz: $t: input: $art; to minimise it:"
			echo "    $bin -minimize_crash=1 -runs=100000 -artifact_prefix=fuzz/artifacts/$t-min- $art"
		fi
	fi
done
exit "$failed"
