#!/usr/bin/env bash
# The test command of README.md: every Go test of the module, with the shared
# reference data at ../shared. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
go test -count=1 "$@" ./...
