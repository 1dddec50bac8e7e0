#!/bin/sh
# Runs one Host Factory verb with the ohfp binary: invoke_provider.sh VERB [-f FILE].
# Host Factory passes its input as -f FILE; people may pipe JSON on standard input.
# The binary is $OHFP_BIN, else the build tree next to these scripts, else the
# installed tree, else the first ohfp on PATH.
# The verb scripts source this file (so $0 is theirs, in the same directory).
# Host Factory starts a script for every call: nothing here forks a process
# unless the binary has to be searched for on PATH.
verb=$1
shift

bin=${OHFP_BIN:-}
if [ -z "$bin" ]; then
  case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
  for candidate in "$here/../build/ohfp" "$here/../../../bin/ohfp" "$here/../bin/ohfp"; do
    if [ -x "$candidate" ]; then
      bin=$candidate
      break
    fi
  done
fi
if [ -z "$bin" ]; then
  bin=$(command -v ohfp 2>/dev/null)
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  printf '{"error": "Configuration error", "error_code": "CONFIGURATION_ERROR", "message": "the ohfp binary was not found (set OHFP_BIN)"}\n'
  exit 2
fi

exec "$bin" "$verb" --hostfactory "$@"
