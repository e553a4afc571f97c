package bert

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/parallel"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
)

// rewrite copies the reference F32 model with its metadata and tensors
// edited, and opens the copy.
func rewrite(t *testing.T, editKV func([]gguf.KV) []gguf.KV, drop string) (*gguf.File, error) {
	t.Helper()
	r := loadRef(t, "F32")
	src, _ := openModel(t, r.path)
	kv := editKV(append([]gguf.KV(nil), src.KV...))
	var ts []gguf.WriteTensor
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		if ti.Name == drop {
			continue
		}
		data, err := src.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, gguf.WriteTensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: data})
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, kv, ts, 0); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(f)
	return f, err
}

func TestLoadErrors(t *testing.T) {
	keep := func(kv []gguf.KV) []gguf.KV { return kv }
	without := func(key string) func([]gguf.KV) []gguf.KV {
		return func(kv []gguf.KV) []gguf.KV {
			out := kv[:0]
			for _, e := range kv {
				if e.Key != key {
					out = append(out, e)
				}
			}
			return out
		}
	}
	with := func(key string, v gguf.Value) func([]gguf.KV) []gguf.KV {
		return func(kv []gguf.KV) []gguf.KV {
			for i := range kv {
				if kv[i].Key == key {
					kv[i].Value = v
				}
			}
			return kv
		}
	}
	for _, tc := range []struct {
		name string
		kv   func([]gguf.KV) []gguf.KV
		drop string
		want string
	}{
		{"missing tensor", keep, "blk.1.ffn_up.bias", "blk.1.ffn_up.bias"},
		{"missing key", without("bert.attention.layer_norm_epsilon"), "", "bert.attention.layer_norm_epsilon"},
		{"heads", with("bert.attention.head_count", gguf.NewUint32(3)), "", "do not divide"},
		{"rank pooling without a head", with("bert.pooling_type", gguf.NewUint32(4)), "", "classification head"},
		{"context", with("bert.context_length", gguf.NewUint32(64)), "", "position_embd.weight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewrite(t, tc.kv, tc.drop)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	// Pooling "none" (0) loads; the key's absence means none too.
	f, err := rewrite(t, without("bert.pooling_type"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := ReadConfig(f); c.Pooling != nn.PoolNone {
		t.Errorf("pooling without the key: %v, want none", c.Pooling)
	}
}

func TestForwardErrors(t *testing.T) {
	r := loadRef(t, "F32")
	_, m := openModel(t, r.path)
	pool := parallel.New(1)
	defer pool.Close()
	st, err := m.NewState(600, pool)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 600*m.Config().Dim)
	long := make([]int, 513)
	for _, tc := range []struct {
		seqs [][]int
		want string
	}{
		{[][]int{long}, "context is 512"},
		{[][]int{{101, 30522, 102}}, "out of range"},
		{[][]int{{101, -1}}, "out of range"},
		{[][]int{{}}, "no tokens"},
		{[][]int{long[:300], long[:301]}, "state holds 600"},
	} {
		err := st.Forward(tc.seqs, out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if err := st.Forward([][]int{{101, 102}}, out[:10]); err == nil {
		t.Error("short output buffer accepted")
	}
	if err := st.Forward([][]int{long[:512]}, out); err != nil {
		t.Errorf("a full context: %v", err)
	}
	if !errors.Is(st.Forward([][]int{long}, out), ErrTooLong) {
		t.Error("ErrTooLong not wrapped")
	}
}

// TestCausal checks the causal mask: with it, a token's state does not
// depend on the tokens after it.
func TestCausal(t *testing.T) {
	r := loadRef(t, "F32")
	_, m := openModel(t, r.path)
	m.config.Causal = true
	m.attn.Causal = true
	pool := parallel.New(2)
	defer pool.Close()
	st, err := m.newState(64, pool)
	if err != nil {
		t.Fatal(err)
	}
	dim := m.config.Dim
	a := make([]float32, 5*dim)
	b := make([]float32, 5*dim)
	if err := st.Forward([][]int{{101, 7592, 2088, 102, 1996}}, a); err != nil {
		t.Fatal(err)
	}
	if err := st.Forward([][]int{{101, 7592, 2088, 2000, 3000}}, b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[:3*dim], b[:3*dim]) {
		t.Error("causal: the first tokens' states depend on later tokens")
	}
	if slices.Equal(a[3*dim:], b[3*dim:]) {
		t.Error("different tokens gave the same states")
	}
}
