package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// TestEncodeRoundTrip: every node-test model and real model decodes, encodes
// and decodes again to the same Model, and encoding that gives the same
// bytes.
func TestEncodeRoundTrip(t *testing.T) {
	var paths []string
	node, _ := filepath.Glob(filepath.Join(testutil.Shared(t, "testdata/onnx/node"), "*", "model.onnx"))
	real, _ := filepath.Glob(filepath.Join(testutil.Shared(t, "testdata/onnx/models"), "*", "*.onnx"))
	paths = append(node, real...)
	if len(paths) == 0 {
		t.Skip("no models")
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if m.Graph.SparseInitializers > 0 {
			continue
		}
		b1, err := Encode(m)
		if err != nil {
			t.Errorf("%s: Encode: %v", p, err)
			continue
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("%s: decoding the encoding: %v", p, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Errorf("%s: the model changed in a round trip", p)
			continue
		}
		b2, _ := Encode(m2)
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: encoding is not stable", p)
		}
	}
}
