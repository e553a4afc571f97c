package gguf

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// shrink rewrites a real file small: arrays cut to 4 elements, at most 6
// tensors, each cut to one block. The result keeps the structure of real
// files at a size the fuzzer can mutate quickly.
func shrink(t testing.TB, f *File) []byte {
	t.Helper()
	kv := make([]KV, len(f.KV))
	for i, e := range f.KV {
		kv[i] = e
		if elem, vals, ok := e.Value.Array(); ok && len(vals) > 4 {
			kv[i].Value = NewArray(elem, vals[:4])
		}
	}
	var ts []WriteTensor
	for i := range f.Tensors {
		if i == 6 {
			break
		}
		ti := &f.Tensors[i]
		tr, _ := ti.Type.Traits()
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		shape := []int64{int64(tr.BlockSize)}
		if ti.Size < int64(tr.BlockBytes) {
			shape = []int64{0}
		}
		n, _ := tensorSize(ti.Type, shape)
		ts = append(ts, WriteTensor{ti.Name, ti.Type, shape, data[:n]})
	}
	var buf bytes.Buffer
	if err := Write(&buf, kv, ts, f.Alignment); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReader parses arbitrary bytes: it must return a valid File or an error
// wrapping ErrFormat, never panic or allocate without bound; a file it
// accepts must survive Write and parse back to the same contents.
func FuzzReader(f *testing.F) {
	// Hand-made files, valid and corrupt.
	var buf bytes.Buffer
	if err := Write(&buf, everyValue(), randomTensors(rand.New(rand.NewPCG(7, 8))), 0); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(nestedArrays(MaxArrayDepth))
	for _, tc := range hostileCases() {
		f.Add(tc.in)
	}
	// Real files: whole when under 800 KB, and stories260K, shrunk always.
	if _, err := os.Stat(shared); err == nil {
		for _, p := range realFiles(f) {
			g, err := Open(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(shrink(f, g))
			g.Close()
			if st, err := os.Stat(p); err == nil && (st.Size() <= 800<<10 || filepath.Base(p) == "stories260K.gguf") {
				b, err := os.ReadFile(p)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseBytes(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, e := range g.KV {
			_ = e.Value.String()
			_ = e.Value.Interface()
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if ti.Offset%g.Alignment != 0 || g.DataOffset+ti.Offset+ti.Size > int64(len(b)) {
				t.Fatalf("tensor %q at %d+%d escapes the %d-byte file", ti.Name, ti.Offset, ti.Size, len(b))
			}
		}
		var out bytes.Buffer
		if err := Write(&out, g.KV, toWrite(t, g), g.Alignment); err != nil {
			t.Fatalf("rewriting a parsed file: %v", err)
		}
		h, err := parseBytes(out.Bytes())
		if err != nil {
			t.Fatalf("parsing the rewritten file: %v", err)
		}
		if len(h.KV) != len(g.KV) || len(h.Tensors) != len(g.Tensors) || h.Alignment != g.Alignment {
			t.Fatalf("rewrite changed the counts or alignment")
		}
		for i := range g.KV {
			if h.KV[i].Key != g.KV[i].Key || !h.KV[i].Value.Equal(g.KV[i].Value) {
				t.Fatalf("rewrite changed key %q", g.KV[i].Key)
			}
		}
		for i := range g.Tensors {
			a, c := &g.Tensors[i], &h.Tensors[i]
			da, _ := g.TensorData(a)
			dc, _ := h.TensorData(c)
			if a.Name != c.Name || a.Type != c.Type || a.Size != c.Size || len(a.Shape) != len(c.Shape) || !bytes.Equal(da, dc) {
				t.Fatalf("rewrite changed tensor %q", a.Name)
			}
		}
	})
}
