#!/bin/sh
# Configures and builds hb into build/ (or $HB_BUILD_DIR), after making
# sure the packages it needs are installed. Extra arguments go to cmake.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
dir=${HB_BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
