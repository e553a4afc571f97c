#!/usr/bin/env bash
# Builds static (CGO_ENABLED=0) release binaries of edgeai into dist/, with
# the version stamped in (edgeai version), and a SHA256SUMS file.
#
#   scripts/release.sh                  # every target below
#   scripts/release.sh linux/arm64      # one target (Raspberry Pi OS 64-bit)
#   VERSION=v0.3.0 scripts/release.sh   # default: git describe, else "dev"
#
# Targets: linux/amd64, linux/arm64 (Pi 4/5, 64-bit OS), linux/arm/7 (Pi 2-5
# on a 32-bit OS: generic Go kernels), linux/arm/6 (Pi Zero / Pi 1, ARMv6),
# darwin/arm64, windows/amd64. Without
# cgo the ONNX Runtime backend is left out; GGUF models need nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(linux/amd64 linux/arm64 linux/arm/7 linux/arm/6 darwin/arm64 windows/amd64)
fi

mkdir -p dist
built=()
for t in "${targets[@]}"; do
	IFS=/ read -r goos goarch goarm <<<"$t"
	if [ -z "$goos" ] || [ -z "$goarch" ]; then
		echo "release.sh: bad target '$t' (want OS/ARCH or linux/arm/7)" >&2
		exit 2
	fi
	name="edgeai-$version-$goos-$goarch${goarm:+v$goarm}"
	[ "$goos" = windows ] && name+=".exe"
	echo "building dist/$name"
	CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" GOARM="${goarm:-}" \
		go build -trimpath -ldflags "-s -w -X main.version=$version" -o "dist/$name" ./cmd/edgeai
	built+=("$name")
done
(cd dist && sha256sum "${built[@]}" >"SHA256SUMS-$version")
ls -l dist
