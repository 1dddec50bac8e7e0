#!/bin/sh
# Host Factory provider script: getReturnRequests -f INPUT_FILE (or JSON on standard input).
# invoke_provider.sh is sourced, not run: one shell per call instead of two.
set -- getReturnRequests "$@"
case $0 in */*) . "${0%/*}/invoke_provider.sh" ;; *) . ./invoke_provider.sh ;; esac
