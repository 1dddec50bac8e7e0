#!/bin/sh
# Runs one libFuzzer harness: first over its checked-in corpus
# (fuzz/corpus/<harness>/), then mutating, with its dictionary
# (fuzz/<harness>.dict) when it has one. New interesting inputs go to
# WORKDIR/new and crashes to WORKDIR/crashes, never into the checked-in
# corpus; see README (Reliability) for folding them in.
#   run_fuzzer.sh HARNESS WORKDIR [libFuzzer flags, e.g. -runs=N or -max_total_time=S]
set -eu
harness=$1
work=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$harness")
corpus=$here/corpus/$name

rm -rf "$work/new"
mkdir -p "$work/new" "$work/crashes"
set -- -artifact_prefix="$work/crashes/" -print_final_stats=1 "$@"
if [ -f "$here/$name.dict" ]; then set -- -dict="$here/$name.dict" "$@"; fi
exec "$harness" "$@" "$work/new" "$corpus"
