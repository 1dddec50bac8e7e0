#!/bin/sh
# The benchmark behind `make bench`: bench/run.sh BUILD_DIR [ohfp-bench options].
# BUILD_DIR holds an optimised build (ohfp and ohfp-bench); the table is
# printed and written to BUILD_DIR/bench/bench.json and bench.txt.
set -eu
build=${1:-build-bench}
[ $# -gt 0 ] && shift
top=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
case $build in /*) ;; *) build="$top/$build" ;; esac
command -v moto_server >/dev/null || { echo "bench: moto_server is not on PATH" >&2; exit 2; }
# The slowest verb (on moto) is also profiled, when valgrind is there.
profile=""
command -v valgrind >/dev/null && profile="--profile requestMachines"
# shellcheck disable=SC2086
exec "$build/ohfp-bench" --out "$build/bench" $profile "$@"
