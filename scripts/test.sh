#!/bin/sh
# Installs what is missing, builds with warnings as errors and runs every
# test. --sanitize builds and tests with AddressSanitizer and UBSan in
# build-asan/ instead.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
	export HB_BUILD_DIR=build-asan
	set -- -DHB_SANITIZE=ON
fi
./scripts/build.sh -DHB_WERROR=ON "$@"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "${HB_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
