package nn

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
)

func TestPool(t *testing.T) {
	h := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9} // 3 tokens x 3
	dst := make([]float32, 3)
	for _, tc := range []struct {
		p    Pooling
		want []float32
	}{
		{PoolMean, []float32{4, 5, 6}},
		{PoolCLS, []float32{1, 2, 3}},
		{PoolLast, []float32{7, 8, 9}},
	} {
		if err := Pool(tc.p, h, 3, dst); err != nil || !slices.Equal(dst, tc.want) {
			t.Errorf("%v: %v %v, want %v", tc.p, dst, err, tc.want)
		}
	}
	for _, tc := range []struct {
		p Pooling
		n int
	}{{PoolNone, 3}, {Pooling(9), 3}, {PoolMean, 0}, {PoolMean, 4}} {
		if err := Pool(tc.p, h, tc.n, dst); !errors.Is(err, ErrPooling) {
			t.Errorf("%v over %d tokens: %v", tc.p, tc.n, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	Normalize(v)
	if v[0] != 0.6 || v[1] != 0.8 {
		t.Errorf("%v", v)
	}
	z := []float32{0, 0}
	Normalize(z)
	if z[0] != 0 || z[1] != 0 || math.IsNaN(float64(z[0])) {
		t.Errorf("zero vector became %v", z)
	}
}

func TestParsePooling(t *testing.T) {
	for _, p := range []Pooling{PoolNone, PoolMean, PoolCLS, PoolLast} {
		got, err := ParsePooling(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("%v: %v %v", p, got, err)
		}
	}
	if _, err := ParsePooling("max"); err == nil {
		t.Error("max accepted")
	}
	if s := Pooling(7).String(); s != "pooling(7)" {
		t.Error(s)
	}
}

type fakeEncoder struct{}

func (fakeEncoder) Config() EncoderConfig { return EncoderConfig{Arch: "fake-enc"} }
func (fakeEncoder) NewState(int, *parallel.Pool) (EncoderState, error) {
	return nil, errors.New("no state")
}

func TestEncoderRegistry(t *testing.T) {
	RegisterEncoder("fake-enc", func(*gguf.File) (Encoder, error) { return fakeEncoder{}, nil })
	if !IsEncoder("fake-enc") || IsEncoder("llama") || !slices.Contains(EncoderArchitectures(), "fake-enc") {
		t.Errorf("registry: %v", EncoderArchitectures())
	}
	open := func(arch string) *gguf.File {
		var buf bytes.Buffer
		if err := gguf.Write(&buf, []gguf.KV{{Key: "general.architecture", Value: gguf.NewString(arch)}}, nil, 0); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if e, err := LoadEncoder(open("fake-enc")); err != nil || e.Config().Arch != "fake-enc" {
		t.Errorf("LoadEncoder: %v", err)
	}
	if _, err := LoadEncoder(open("gpt-9")); !errors.Is(err, ErrUnsupportedArch) || !strings.Contains(err.Error(), "gpt-9") {
		t.Errorf("unknown arch: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering an architecture twice did not panic")
		}
	}()
	RegisterEncoder("fake-enc", nil)
}
