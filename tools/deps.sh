#!/bin/sh
# Install every Debian package fffs needs to build, test and run a lab.
# Idempotent: when all packages are present it does nothing and never calls apt.
set -eu

PKGS="
build-essential pkg-config
liburing-dev libibverbs-dev librdmacm-dev liblmdb-dev lmdb-utils
libfuse3-dev fuse3 libcjson-dev libsodium-dev
clang clang-format clang-tidy cppcheck libclang-rt-14-dev
perl procps psmisc iproute2 util-linux fio python3 stress-ng
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root (or install them) and retry" >&2
	exit 1
fi

echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
