#!/bin/sh
# Host Factory provider script: getReturnRequests -f INPUT_FILE (or JSON on standard input).
exec "$(dirname -- "$0")/invoke_provider.sh" getReturnRequests "$@"
