#!/bin/sh
# Installs the Debian packages oneprof needs to build and test, when any is
# missing. Idempotent and non-interactive. Usage:
#   scripts/install-deps.sh          install what is missing (needs root)
#   scripts/install-deps.sh --check  only say what is missing (exit 1 if any)
set -eu

# Build: compiler, libraries (DWARF/ELF, demangling, capture compression,
# pprof gzip, hashing). Test: real readers of our outputs (protoc, node for the npm
# pprof-format decoder and speedscope, Chromium to run speedscope's
# importer, xmllint for the PerfView XML and unzip for its zipped form; g++ and
# rustc for the C++ and Rust demangling test programs, a debuginfod server the symbolization tests start on 127.0.0.1,
# a Prometheus server that scrapes the metrics endpoint on 127.0.0.1 and
# curl to query it, libuv for the event-loop monitor's test, python3 and
# its venv module for the Python binding's tests; perf (linux-perf) to
# record the perf script text 'oneprof import' reads).
# 'make fuzz' also needs clang, which it names.
BUILD_PKGS="gcc make libc6-dev libelf-dev libdw-dev libiberty-dev libzstd-dev zlib1g-dev libxxhash-dev"
TEST_PKGS="protobuf-compiler nodejs npm chromium libxml2-utils unzip g++ rustc debuginfod prometheus
           libuv1-dev curl python3 python3-venv strace linux-perf"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
	# A tool that is already on PATH (node from another source) is enough.
	case $p in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	chromium) command -v chromium >/dev/null 2>&1 && continue ;;
	rustc) command -v rustc >/dev/null 2>&1 && continue ;;
	esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $status in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

# The npm pprof-format decoder and speedscope, real readers of our pprof
# and speedscope output, for the tests; installed from the lock file into
# tests/node (no root needed).
here=$(cd "$(dirname "$0")/.." && pwd)
node_modules() {
	[ -d "$here/tests/node/node_modules/pprof-format" ] &&
		[ -d "$here/tests/node/node_modules/speedscope" ] && return 0
	if [ "${1:-}" = "--check" ]; then
		echo "oneprof: missing npm packages for the tests (cd tests/node && npm ci)" >&2
		return 1
	fi
	echo "oneprof: installing npm packages for the tests into tests/node" >&2
	(cd "$here/tests/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
}

if [ -z "$missing" ]; then
	node_modules "${1:-}"
	exit $?
fi
if [ "${1:-}" = "--check" ]; then
	echo "oneprof: missing Debian packages:$missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "oneprof: missing Debian packages:$missing" >&2
	echo "oneprof: install them as root: apt-get install$missing" >&2
	echo "oneprof: (or run scripts/install-deps.sh as root)" >&2
	exit 1
fi
echo "oneprof: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
node_modules
