package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/*.npy were written by NumPy 1.24 (np.save and
// np.lib.format.write_array) from a = np.arange(24).reshape(2, 3, 4):
// le_*.npy, i1.npy, u1.npy hold a-7 (a for unsigned types) in each dtype,
// be_*.npy big-endian copies, fortran_f4.npy a Fortran-ordered copy,
// v2_f4.npy and v3_f4.npy the same array in format versions 2.0 and 3.0,
// bool.npy a%3 == 0.

// value decodes element i of a little-endian array as float64.
func value(t *testing.T, a *Array, i int) float64 {
	le := binary.LittleEndian
	switch a.Descr {
	case "<f4":
		return float64(math.Float32frombits(le.Uint32(a.Data[4*i:])))
	case "<f8":
		return math.Float64frombits(le.Uint64(a.Data[8*i:]))
	case "<f2":
		h := le.Uint16(a.Data[2*i:]) // small integers only: exact in binary16
		if h == 0 {
			return 0
		}
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp := int(h>>10&0x1f) - 15
		return sign * (1 + float64(h&0x3ff)/1024) * math.Pow(2, float64(exp))
	case "|i1":
		return float64(int8(a.Data[i]))
	case "|u1", "|b1":
		return float64(a.Data[i])
	case "<i2":
		return float64(int16(le.Uint16(a.Data[2*i:])))
	case "<u2":
		return float64(le.Uint16(a.Data[2*i:]))
	case "<i4":
		return float64(int32(le.Uint32(a.Data[4*i:])))
	case "<u4":
		return float64(le.Uint32(a.Data[4*i:]))
	case "<i8":
		return float64(int64(le.Uint64(a.Data[8*i:])))
	case "<u8":
		return float64(le.Uint64(a.Data[8*i:]))
	}
	t.Fatalf("descr %s", a.Descr)
	return 0
}

func TestReadNumPyFiles(t *testing.T) {
	cases := []struct {
		file, descr string
		offset      float64
	}{
		{"le_f4.npy", "<f4", -7}, {"le_f8.npy", "<f8", -7}, {"le_f2.npy", "<f2", -7},
		{"i1.npy", "|i1", -7}, {"u1.npy", "|u1", 0}, {"le_i2.npy", "<i2", -7},
		{"le_u2.npy", "<u2", 0}, {"le_i4.npy", "<i4", -7}, {"le_u4.npy", "<u4", 0},
		{"le_i8.npy", "<i8", -7}, {"le_u8.npy", "<u8", 0},
		{"be_f4.npy", "<f4", -7}, {"be_i8.npy", "<i8", -7}, {"fortran_f4.npy", "<f4", -7},
		{"v2_f4.npy", "<f4", -7}, {"v3_f4.npy", "<f4", -7},
	}
	for _, c := range cases {
		a, err := ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if a.Descr != c.descr || len(a.Shape) != 3 || a.Shape[0] != 2 || a.Shape[1] != 3 || a.Shape[2] != 4 {
			t.Errorf("%s: %s%v, want %s[2 3 4]", c.file, a.Descr, a.Shape, c.descr)
			continue
		}
		for i := range 24 {
			if got, want := value(t, a, i), float64(i)+c.offset; got != want {
				t.Errorf("%s[%d] = %v, want %v", c.file, i, got, want)
				break
			}
		}
	}
	b, err := ReadFile("testdata/bool.npy")
	if err != nil || b.Descr != "|b1" {
		t.Fatalf("bool.npy: %v %v", b, err)
	}
	for i := range 24 {
		if want := i%3 == 0; (b.Data[i] == 1) != want {
			t.Fatalf("bool.npy[%d] = %d", i, b.Data[i])
		}
	}
	s, err := ReadFile("testdata/scalar_i8.npy")
	if err != nil || len(s.Shape) != 0 || value(t, s, 0) != 16000 {
		t.Fatalf("scalar_i8.npy: %+v %v", s, err)
	}
	e, err := ReadFile("testdata/empty_f4.npy")
	if err != nil || len(e.Shape) != 2 || e.Shape[0] != 0 || e.Shape[1] != 3 || len(e.Data) != 0 {
		t.Fatalf("empty_f4.npy: %+v %v", e, err)
	}
}

// TestWriteMatchesNumPy checks that Write produces NumPy's own bytes for
// every little-endian, C-ordered file NumPy wrote in format 1.0.
func TestWriteMatchesNumPy(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.npy")
	n := 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "be_") || strings.HasPrefix(base, "fortran") || strings.HasPrefix(base, "v") {
			continue
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Read(bytes.NewReader(want))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var got bytes.Buffer
		if err := Write(&got, a); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: Write differs from NumPy:\n got %q\nwant %q", f, got.Bytes()[:min(128, got.Len())], want[:min(128, len(want))])
		}
		n++
	}
	if n < 14 {
		t.Fatalf("compared %d files", n)
	}
}

func TestReadRejects(t *testing.T) {
	hdr := func(dict string) []byte {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), 0)
		return append(b, dict...)
	}
	cases := map[string][]byte{
		"empty":          {},
		"not npy":        []byte("hello world, not numpy"),
		"version 9":      []byte("\x93NUMPY\x09\x00\x00\x00"),
		"short header":   append([]byte("\x93NUMPY\x01\x00\x50\x00"), "{'descr'"...),
		"huge v2 header": []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"),
		"object dtype":   hdr("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n"),
		"unicode dtype":  hdr("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }\n"),
		"complex dtype":  hdr("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n"),
		"missing shape":  hdr("{'descr': '<f4', 'fortran_order': False, }\n"),
		"negative dim":   hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"),
		"huge dims":      hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"),
		"short data":     append(hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"), 1, 2, 3, 4),
		"big claim":      hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }\n"),
		"unknown key":    hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}\n"),
		"garbage":        hdr("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (), }\n"),
	}
	for name, data := range cases {
		if _, err := Read(bytes.NewReader(data)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int64{{}, {3}, {2, 0}, {1, 2, 3, 4, 5}} {
		n, _ := NumElements(shape)
		a := &Array{Descr: "<i4", Shape: shape, Data: make([]byte, 4*n)}
		for i := range a.Data {
			a.Data[i] = byte(i * 7)
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != int(4*n)%64 {
			t.Errorf("%v: header not padded to 64 bytes", shape)
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatalf("%v: %v", shape, err)
		}
		if b.Descr != a.Descr || len(b.Shape) != len(shape) || !bytes.Equal(b.Data, a.Data) {
			t.Errorf("%v: round trip gave %+v", shape, b)
		}
	}
	if err := Write(&bytes.Buffer{}, &Array{Descr: "<f4", Shape: []int64{2}, Data: []byte{1}}); err == nil {
		t.Error("Write accepted data of the wrong length")
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		n, err := NumElements(a.Shape)
		if err != nil || int64(len(a.Data)) != n*int64(itemSize(a.Descr)) {
			t.Fatalf("inconsistent array %s%v with %d bytes", a.Descr, a.Shape, len(a.Data))
		}
	})
}
