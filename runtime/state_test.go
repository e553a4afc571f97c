package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
)

// TestSaveLoadState saves a session after a prompt, loads it into a fresh
// session and checks that continuing gives bit-identical logits; damaged,
// truncated and mismatched states are errors that leave the session empty.
func TestSaveLoadState(t *testing.T) {
	for _, types := range [][2]string{{"f16", "f16"}, {"f32", "f32"}, {"q8_0", "q8_0"}, {"q4_0", "f16"}} {
		var m *runtime.Model
		if types[0] == "q8_0" || types[0] == "q4_0" { // stories260K's heads of 8 hold no block: tiny-llama's of 32 do
			var err error
			m, err = runtime.Load(context.Background(), testutil.Shared(t, "testdata/llama/tiny-llama-F32.gguf"),
				runtime.WithCacheTypes(types[0], types[1]), runtime.WithContextSize(128))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
		} else {
			m = loadStories(t, runtime.WithCacheTypes(types[0], types[1]), runtime.WithContextSize(128))
		}
		ctx := context.Background()
		prompt, err := m.Tokenize("Once upon a time, there was a little girl named Lily.", true, false)
		if err != nil {
			t.Fatal(err)
		}
		a, err := m.NewSession()
		if err != nil {
			t.Fatalf("%v: %v", types, err)
		}
		defer a.Close()
		if _, err := a.Eval(ctx, prompt); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := a.SaveState(&buf); err != nil {
			t.Fatal(err)
		}
		want, err := a.Eval(ctx, []int{403, 407})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]float32(nil), want...)

		b, _ := m.NewSession()
		defer b.Close()
		if err := b.LoadState(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("%v: %v", types, err)
		}
		if len(b.Tokens()) != len(prompt) {
			t.Fatalf("%v: %d tokens after load, want %d", types, len(b.Tokens()), len(prompt))
		}
		got, err := b.Eval(ctx, []int{403, 407})
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: logit %d after load %v, want %v", types, i, got[i], want[i])
			}
		}

		raw := buf.Bytes()
		bad := map[string][]byte{
			"truncated":      raw[:len(raw)-40],
			"empty":          nil,
			"flipped byte":   flip(raw, len(raw)/2),
			"flipped header": flip(raw, 20),
			"trailing bytes": append(append([]byte(nil), raw...), 0),
			"not a state":    []byte("GGUF\x03\x00\x00\x00 and more bytes than a header"),
		}
		for name, data := range bad {
			if err := b.LoadState(bytes.NewReader(data)); !errors.Is(err, runtime.ErrState) {
				t.Errorf("%v, %s: got %v, want ErrState", types, name, err)
			}
			if len(b.Tokens()) != 0 {
				t.Errorf("%v, %s: %d tokens left after a failed load", types, name, len(b.Tokens()))
			}
		}
	}
	// A Q8_0 cache needs heads of whole blocks: a clear error at load.
	if _, err := runtime.Load(context.Background(), testutil.Stories(t), runtime.WithCacheTypes("q8_0", "f16")); err == nil || !strings.Contains(err.Error(), "multiples of 32") {
		t.Errorf("q8_0 cache on heads of 8: %v", err)
	}
	// Other cache types, another context: a clear error.
	m1 := loadStories(t, runtime.WithContextSize(128))
	m2 := loadStories(t, runtime.WithContextSize(64))
	m3 := loadStories(t, runtime.WithContextSize(128), runtime.WithCacheTypes("f32", "f32"))
	s1, _ := m1.NewSession()
	defer s1.Close()
	if _, err := s1.Eval(context.Background(), []int{1, 403, 407}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s1.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*runtime.Model{m2, m3} {
		s, _ := m.NewSession()
		if err := s.LoadState(bytes.NewReader(buf.Bytes())); !errors.Is(err, runtime.ErrState) {
			t.Errorf("mismatched session: got %v", err)
		}
		s.Close()
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x40
	return c
}

// FuzzLoadState feeds arbitrary bytes (seeded with a real state) to
// LoadState: an error or a successful load, never a panic or a large
// allocation.
func FuzzLoadState(f *testing.F) {
	m := loadStories(f, runtime.WithContextSize(64))
	s, err := m.NewSession()
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Eval(context.Background(), []int{1, 403, 407, 261}); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.SaveState(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:100])
	f.Add([]byte("EDGEAIPC"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := s.LoadState(bytes.NewReader(data)); err == nil {
			if _, err := s.Eval(context.Background(), []int{1}); err != nil && !errors.Is(err, runtime.ErrContextFull) {
				t.Fatal(err)
			}
		}
	})
}
