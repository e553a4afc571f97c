// Package ort runs ONNX models on ONNX Runtime through
// github.com/yalue/onnxruntime_go, which loads the ONNX Runtime shared
// library at run time (dlopen) and calls its C API through cgo.
//
// The backend is compiled only with cgo and without the purego tag
// (`cgo && !purego`); in every other build the same API reports
// ErrUnavailable, so `CGO_ENABLED=0 go build ./...` keeps working.
//
// The shared library is looked up, in order: Options.Library, the
// EDGEAI_ORT_LIB environment variable, the names the system's dynamic loader
// resolves (libonnxruntime.so.1 and libonnxruntime.so through LD_LIBRARY_PATH
// and the loader cache; libonnxruntime.dylib on macOS; onnxruntime.dll on
// Windows), the usual install folders (/usr/local/lib, /usr/lib,
// /opt/onnxruntime/lib) and the cache folder of the repository's
// .ci/install-ort.sh (${XDG_CACHE_HOME:-~/.cache}/edgeai/ort/1.30.0/...).
// onnxruntime_go v1.27.0 asks the library for version 24 of the C API, which
// ONNX Runtime 1.24 and every later release (1.30 included) provide.
//
// This package does not parse models: the caller (package runtime) passes
// the model bytes and the names, element types and declared shapes of the
// inputs and outputs it read with models/onnx.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
)

// ErrUnavailable reports that the ONNX Runtime backend cannot run here: the
// program was built without cgo (or with the purego tag), or no ONNX Runtime
// library was found. A library that was named (Options.Library or
// EDGEAI_ORT_LIB) but fails to load is a different error, not this one.
var ErrUnavailable = errors.New("ort: ONNX Runtime backend unavailable")

// EnvLibrary is the environment variable naming the ONNX Runtime shared
// library to load.
const EnvLibrary = "EDGEAI_ORT_LIB"

// Version is the ONNX Runtime release this package is tested with.
const Version = "1.30.0"

// InstallHint says how to get the library; errors about a missing library
// end with it.
const InstallHint = "install ONNX Runtime " + Version + " (for example: npm pack onnxruntime-node@" + Version +
	" and unpack bin/napi-v6/<os>/<arch>/libonnxruntime.so.1, or run .ci/install-ort.sh from the edgeai repository) and set " +
	EnvLibrary + " to the library's path"

// ElemType is a tensor element type, numbered as ONNX's
// TensorProto.DataType (and ONNX Runtime's ONNXTensorElementDataType).
type ElemType int32

// The element types the backend moves in and out of ONNX Runtime.
const (
	Float32  ElemType = 1
	Uint8    ElemType = 2
	Int8     ElemType = 3
	Uint16   ElemType = 4
	Int16    ElemType = 5
	Int32    ElemType = 6
	Int64    ElemType = 7
	String   ElemType = 8
	Bool     ElemType = 9
	Float16  ElemType = 10
	Float64  ElemType = 11
	Uint32   ElemType = 12
	Uint64   ElemType = 13
	BFloat16 ElemType = 16
)

// Value is a tensor crossing the backend's boundary. Data holds the
// row-major elements as a typed slice: []float32, []uint8, []int8, []uint16
// (uint16, and the bits of float16 and bfloat16), []int16, []int32, []int64,
// []string, []bool, []float64, []uint32 or []uint64. A nil or empty Shape is
// a scalar with one element.
type Value struct {
	Type  ElemType
	Shape []int64
	Data  any
}

// IO describes one input or output of a model as the model file declares
// it. Dims is nil when the rank is unknown (HasShape false); a dimension of
// -1 is dynamic.
type IO struct {
	Name     string
	Type     ElemType
	Tensor   bool // false for sequences, maps and optionals
	Dims     []int64
	HasShape bool
}

// Options configure a session.
type Options struct {
	// Threads is the number of threads ONNX Runtime uses inside one
	// operator; 0 leaves ONNX Runtime's default (one per physical core).
	Threads int
	// Library is the path of the ONNX Runtime shared library; "" looks it up
	// (see the package documentation).
	Library string
}

// candidates returns the library paths to try when none is named, most
// specific first. Bare names are resolved by the system's dynamic loader.
func candidates() []string {
	var names []string
	var dirs []string
	switch goruntime.GOOS {
	case "windows":
		names = []string{"onnxruntime.dll"}
	case "darwin":
		names = []string{"libonnxruntime.dylib", "libonnxruntime.1.dylib"}
		dirs = []string{"/opt/homebrew/lib", "/usr/local/lib", "/opt/onnxruntime/lib"}
	default:
		names = []string{"libonnxruntime.so.1", "libonnxruntime.so"}
		dirs = []string{"/usr/local/lib", "/usr/lib", "/usr/lib64", "/opt/onnxruntime/lib"}
		if multi := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[goruntime.GOARCH]; multi != "" {
			dirs = append(dirs, "/usr/lib/"+multi)
		}
	}
	out := append([]string(nil), names...)
	for _, d := range dirs {
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	if c := installCachePath(); c != "" {
		out = append(out, c)
	}
	return out
}

// installCachePath returns where .ci/install-ort.sh puts the library for
// this machine, or "".
func installCachePath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[goruntime.GOARCH]
	if arch == "" {
		return ""
	}
	lib := "libonnxruntime.so.1"
	switch goruntime.GOOS {
	case "linux":
	case "darwin":
		lib = "libonnxruntime.1.dylib"
	case "windows":
		lib = "onnxruntime.dll"
	default:
		return ""
	}
	osName := map[string]string{"windows": "win32"}[goruntime.GOOS]
	if osName == "" {
		osName = goruntime.GOOS
	}
	return filepath.Join(cache, "edgeai", "ort", Version, "package", "bin", "napi-v6", osName, arch, lib)
}

// isPath reports whether name contains a directory (as opposed to a bare
// file name the dynamic loader searches for).
func isPath(name string) bool { return filepath.Base(name) != name }

func notFound(tried []string) error {
	return fmt.Errorf("%w: no ONNX Runtime library found (tried %q); %s", ErrUnavailable, tried, InstallHint)
}

// goType is the Go type of Value.Data for each element type.
var goType = map[ElemType]string{
	Float32: "[]float32", Uint8: "[]uint8", Int8: "[]int8", Uint16: "[]uint16", Int16: "[]int16",
	Int32: "[]int32", Int64: "[]int64", String: "[]string", Bool: "[]bool", Float16: "[]uint16",
	Float64: "[]float64", Uint32: "[]uint32", Uint64: "[]uint64", BFloat16: "[]uint16",
}

var typeNames = map[ElemType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Float64: "float64", Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

func typeName(t ElemType) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type %d", int32(t))
}

// dataLen returns the number of elements of a Value's Data.
func dataLen(data any) (int, error) {
	switch d := data.(type) {
	case []float32:
		return len(d), nil
	case []float64:
		return len(d), nil
	case []int8:
		return len(d), nil
	case []uint8:
		return len(d), nil
	case []int16:
		return len(d), nil
	case []uint16:
		return len(d), nil
	case []int32:
		return len(d), nil
	case []uint32:
		return len(d), nil
	case []int64:
		return len(d), nil
	case []uint64:
		return len(d), nil
	case []bool:
		return len(d), nil
	case []string:
		return len(d), nil
	}
	return 0, fmt.Errorf("unsupported data %T", data)
}
