#!/bin/sh
# Installs the Debian packages hb needs to build and test. Idempotent: asks
# apt only for what is missing. Runs as root, or through sudo otherwise.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
libev-dev libmsgpack-dev libyaml-dev libsqlite3-dev sqlite3 libproc2-dev
libsodium-dev libcmocka-dev python3"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "setup: need root or sudo to install:$missing" >&2
	exit 1
fi

echo "setup: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package index makes installs fail on a fresh machine; refresh once.
$SUDO apt-get update -q >/dev/null || $SUDO apt-get update
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
