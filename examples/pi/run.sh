#!/usr/bin/env bash
# Cross-builds edgeai for a Raspberry Pi (linux/arm64, CGO_ENABLED=0: one
# static binary) and runs the golden stories260K generation with it: natively
# on an arm64 Linux host (a Pi 4/5 with a 64-bit OS), under qemu-user
# (qemu-aarch64-static, Debian package qemu-user-static) anywhere else.
#
#   examples/pi/run.sh                      # model: models/testdata/stories260K.gguf
#   MODEL=/path/to/stories260K.gguf examples/pi/run.sh
#   QEMU_CPU=cortex-a72 examples/pi/run.sh  # emulate a Pi 4 core (default: qemu's "max")
#   OUT=/tmp/pi examples/pi/run.sh          # keep the binary (default: a temporary folder)
#
# The generated text goes to stdout; build and run notes to stderr. Expected
# output: see README.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

model="${MODEL:-$root/models/testdata/stories260K.gguf}"
if [ ! -f "$model" ]; then
	echo "run.sh: model $model not found (set MODEL=...)" >&2
	exit 2
fi
out="${OUT:-}"
if [ -z "$out" ]; then
	out="$(mktemp -d)"
	trap 'rm -rf "$out"' EXIT
fi
bin="$out/edgeai-linux-arm64"

echo "building $bin (CGO_ENABLED=0 GOOS=linux GOARCH=arm64)" >&2
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -o "$bin" ./cmd/edgeai)

runner=()
case "$(uname -s)/$(uname -m)" in
Linux/aarch64 | Linux/arm64)
	echo "running natively on $(uname -m)" >&2
	;;
Linux/*)
	qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
	if [ -z "$qemu" ]; then
		echo "run.sh: not an arm64 host and qemu-aarch64-static is not installed (apt-get install qemu-user-static)" >&2
		exit 3
	fi
	echo "running under $qemu (cpu ${QEMU_CPU:-max})" >&2
	runner=("$qemu")
	;;
*)
	echo "run.sh: built $bin; copy it to the Pi to run it (qemu-user needs a Linux host)" >&2
	exit 3
	;;
esac

"${runner[@]}" "$bin" version >&2
"${runner[@]}" "$bin" run -m "$model" -p "Once upon a time" -n 56 --temp 0
