#!/usr/bin/env bash
# The test command of README.md: every Go test of the module, with the shared
# reference data at ../shared. Extra arguments go to `go test`.
#
# The ONNX Runtime backend's tests need libonnxruntime: unless EDGEAI_ORT_LIB
# is set, this fetches it once with npm into ~/.cache/edgeai/ort (see
# .ci/install-ort.sh); without npm those tests skip and say so.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
if [ -z "${EDGEAI_ORT_LIB:-}" ]; then
	if lib="$(.ci/install-ort.sh)"; then
		export EDGEAI_ORT_LIB="$lib"
	else
		echo "test.sh: ONNX Runtime not available; the ORT backend's tests will skip" >&2
	fi
fi
go test -count=1 "$@" ./...
