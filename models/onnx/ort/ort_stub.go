//go:build !cgo || purego

package ort

import (
	"context"
	"fmt"
)

// Compiled reports whether this build contains the ONNX Runtime backend
// (cgo and not purego).
const Compiled = false

var errNotCompiled = fmt.Errorf("%w: this program was built without cgo (or with the purego tag); rebuild with CGO_ENABLED=1 to use ONNX Runtime", ErrUnavailable)

// Load reports ErrUnavailable: this build has no ONNX Runtime backend.
func Load(library string) (path, version string, err error) {
	return "", "", errNotCompiled
}

// Session is a model loaded into ONNX Runtime; in this build none can be.
type Session struct{}

// NewSession reports ErrUnavailable: this build has no ONNX Runtime backend.
func NewSession(model []byte, dir string, inputs, outputs []IO, opts Options) (*Session, error) {
	return nil, errNotCompiled
}

// Run reports ErrUnavailable.
func (s *Session) Run(ctx context.Context, inputs []Value) ([]Value, error) {
	return nil, errNotCompiled
}

// Close does nothing.
func (s *Session) Close() error { return nil }
