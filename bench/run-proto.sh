#!/bin/sh
# Builds bench-proto in Release in build-bench/ and runs it: the cost of
# encoding, sealing, opening and decoding HTB and PLG datagrams in each
# security mode, as a Markdown table headed by the machine it ran on.
# Arguments go to bench-proto (seconds per operation, default 0.3).
set -eu
cd "$(dirname "$0")/.."
dir=build-bench
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DHB_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target bench-proto >/dev/null

cc=$(sed -n 's/^CMAKE_C_COMPILER:[^=]*=//p' "$dir/CMakeCache.txt")
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo |
	head -n 1)
echo "## bench-proto"
echo
echo "- system: $(uname -srm)"
echo "- cpu: ${cpu:-unknown} ($(nproc) online)"
echo "- compiler: $("${cc:-cc}" --version | head -n 1), Release"
echo "- libsodium: $(pkg-config --modversion libsodium)," \
	"msgpack-c: $(pkg-config --modversion msgpack)"
echo
"$dir/bench/bench-proto" "$@"
