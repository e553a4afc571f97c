#!/usr/bin/env bash
# install-ort.sh: fetch ONNX Runtime's shared library for the ORT backend of
# models/onnx/ort and print the path of libonnxruntime.so.1 for this machine.
#
# The library comes from the npm package onnxruntime-node (it ships prebuilt
# CPU libraries for linux/x64 and linux/arm64). The package is fetched with
# `npm pack` (no install scripts run) and unpacked into a cache folder outside
# the repository:
#
#   ${EDGEAI_ORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeai/ort}/<version>/
#
# Idempotent: a second run finds the unpacked library and only prints its path.
# Usage:
#   export EDGEAI_ORT_LIB="$(.ci/install-ort.sh)"
# Only the path goes to stdout; progress goes to stderr.
set -euo pipefail

version="${ORT_VERSION:-1.30.0}"
cache="${EDGEAI_ORT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/edgeai/ort}"
dest="$cache/$version"

case "$(uname -s)" in
Linux) os=linux ;;
Darwin) os=darwin ;;
*)
	echo "install-ort.sh: unsupported OS $(uname -s)" >&2
	exit 1
	;;
esac
case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*)
	echo "install-ort.sh: unsupported CPU $(uname -m); onnxruntime-node ships x64 and arm64 only" >&2
	exit 1
	;;
esac
if [ "$os" = darwin ]; then
	libname=libonnxruntime.1.dylib
else
	libname=libonnxruntime.so.1
fi
lib="$dest/package/bin/napi-v6/$os/$arch/$libname"

if [ -f "$lib" ]; then
	echo "$lib"
	exit 0
fi

command -v npm >/dev/null || {
	echo "install-ort.sh: npm is needed to fetch onnxruntime-node@$version (apt-get install npm)" >&2
	exit 1
}

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "install-ort.sh: fetching onnxruntime-node@$version into $dest" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tgz="$(ls "$tmp"/onnxruntime-node-*.tgz)"
mkdir -p "$tmp/out"
# Only the libraries for this machine and the package's metadata are unpacked.
tar -xzf "$tgz" -C "$tmp/out" "package/bin/napi-v6/$os/$arch" package/package.json package/README.md
if [ ! -f "$tmp/out/${lib#"$dest"/}" ]; then
	echo "install-ort.sh: $libname not found in onnxruntime-node@$version for $os/$arch" >&2
	exit 1
fi
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "$lib"
