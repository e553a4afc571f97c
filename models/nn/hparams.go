package nn

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/edgeai-go/edgeai/models/gguf"
)

// ErrMissingKey is matched by a *HparamsError that names absent keys.
var ErrMissingKey = errors.New("missing metadata keys")

// ErrBadKey is matched by a *HparamsError that names keys with values out of
// range or of the wrong type.
var ErrBadKey = errors.New("invalid metadata values")

// HparamsError lists every required metadata key a file lacks and every key
// whose value cannot be used, each by its GGUF name: a model's
// hyperparameters are validated once, when it loads, so that a hostile or
// broken file is an error there and never a division by zero, a huge
// allocation or a panic later.
type HparamsError struct {
	Arch    string
	Missing []string // absent required keys
	Bad     []string // "key: why"
}

func (e *HparamsError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("%v: %s", ErrMissingKey, strings.Join(e.Missing, ", ")))
	}
	if len(e.Bad) > 0 {
		parts = append(parts, fmt.Sprintf("%v: %s", ErrBadKey, strings.Join(e.Bad, "; ")))
	}
	return e.Arch + ": " + strings.Join(parts, "; ")
}

// Is makes errors.Is match ErrMissingKey and ErrBadKey.
func (e *HparamsError) Is(target error) bool {
	return target == ErrMissingKey && len(e.Missing) > 0 || target == ErrBadKey && len(e.Bad) > 0
}

// MaxDim bounds every size read from a file (dimensions, counts, lengths):
// 2^24 is far beyond any real model and keeps products of two sizes
// within int64.
const MaxDim = 1 << 24

// Hparams reads an architecture's hyperparameters, {arch}.<suffix> keys,
// checking each against its range. Errors are collected, not returned one by
// one: read every key, then call Err for all of them together.
type Hparams struct {
	f   *gguf.File
	err HparamsError
}

// NewHparams reads the hyperparameters of f's architecture.
func NewHparams(f *gguf.File) *Hparams {
	return &Hparams{f: f, err: HparamsError{Arch: f.Arch()}}
}

// Key returns the full key name of suffix: "{arch}.suffix".
func (h *Hparams) Key(suffix string) string { return h.f.ArchKey(suffix) }

// Has reports whether {arch}.suffix is present.
func (h *Hparams) Has(suffix string) bool {
	_, ok := h.f.Lookup(h.Key(suffix))
	return ok
}

func (h *Hparams) bad(suffix, format string, args ...any) {
	h.err.Bad = append(h.err.Bad, h.Key(suffix)+": "+fmt.Sprintf(format, args...))
}

// Int returns the required integer {arch}.suffix, which must lie in [lo, hi].
func (h *Hparams) Int(suffix string, lo, hi int) int {
	if !h.Has(suffix) {
		h.err.Missing = append(h.err.Missing, h.Key(suffix))
		return 0
	}
	return h.IntOr(suffix, 0, lo, hi)
}

// IntOr returns the integer {arch}.suffix, or def when it is absent; a
// present value must lie in [lo, hi].
func (h *Hparams) IntOr(suffix string, def, lo, hi int) int {
	v, ok := h.f.Lookup(h.Key(suffix))
	if !ok {
		return def
	}
	n, ok := v.Int()
	if !ok {
		h.bad(suffix, "%s is not an integer", v.Format(40))
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		h.bad(suffix, "%d is outside [%d, %d]", n, lo, hi)
		return def
	}
	return int(n)
}

// Float returns the required number {arch}.suffix, which must be finite and
// in [lo, hi].
func (h *Hparams) Float(suffix string, lo, hi float64) float32 {
	if !h.Has(suffix) {
		h.err.Missing = append(h.err.Missing, h.Key(suffix))
		return 0
	}
	return h.FloatOr(suffix, 0, lo, hi)
}

// FloatOr returns the number {arch}.suffix, or def when it is absent; a
// present value must be finite and in [lo, hi].
func (h *Hparams) FloatOr(suffix string, def float32, lo, hi float64) float32 {
	v, ok := h.f.Lookup(h.Key(suffix))
	if !ok {
		return def
	}
	x, ok := v.Float()
	if !ok {
		h.bad(suffix, "%s is not a number", v.Format(40))
		return def
	}
	if math.IsNaN(x) || x < lo || x > hi {
		h.bad(suffix, "%g is outside [%g, %g]", x, lo, hi)
		return def
	}
	return float32(x)
}

// String returns the string {arch}.suffix, or def when it is absent.
func (h *Hparams) String(suffix, def string) string {
	v, ok := h.f.Lookup(h.Key(suffix))
	if !ok {
		return def
	}
	s, ok := v.Str()
	if !ok {
		h.bad(suffix, "%s is not a string", v.Format(40))
		return def
	}
	return s
}

// Bool returns the boolean {arch}.suffix, or def when it is absent.
func (h *Hparams) Bool(suffix string, def bool) bool {
	v, ok := h.f.Lookup(h.Key(suffix))
	if !ok {
		return def
	}
	b, ok := v.Bool()
	if !ok {
		h.bad(suffix, "%s is not a boolean", v.Format(40))
		return def
	}
	return b
}

// PerLayer returns {arch}.suffix for each of n layers: the key may hold one
// integer for every layer or an array of n (as llama.cpp's loader accepts,
// e.g. LFM2's attention.head_count_kv [0, 2, 0, 2]). Absent, every layer
// gets def; each value must lie in [lo, hi].
func (h *Hparams) PerLayer(suffix string, n, def, lo, hi int) []int {
	out := make([]int, n)
	v, ok := h.f.Lookup(h.Key(suffix))
	if ok && v.Type == gguf.TypeArray {
		xs, ok := v.Int32s()
		if !ok || len(xs) != n {
			h.bad(suffix, "want %d integers, one per layer, got %s", n, v.Format(40))
			return out
		}
		for i, x := range xs {
			if int(x) < lo || int(x) > hi {
				h.bad(suffix, "layer %d: %d is outside [%d, %d]", i, x, lo, hi)
				return out
			}
			out[i] = int(x)
		}
		return out
	}
	x := h.IntOr(suffix, def, lo, hi)
	for i := range out {
		out[i] = x
	}
	return out
}

// PerLayerBools returns the boolean array {arch}.suffix of n layers (one per
// layer), or nil when the key is absent.
func (h *Hparams) PerLayerBools(suffix string, n int) []bool {
	v, ok := h.f.Lookup(h.Key(suffix))
	if !ok {
		return nil
	}
	_, vals, ok := v.Array()
	if !ok || len(vals) != n {
		h.bad(suffix, "want %d booleans, one per layer, got %s", n, v.Format(40))
		return nil
	}
	out := make([]bool, n)
	for i, e := range vals {
		b, ok := e.Bool()
		if !ok {
			if x, ok2 := e.Int(); ok2 && (x == 0 || x == 1) {
				b, ok = x == 1, true
			}
		}
		if !ok {
			h.bad(suffix, "layer %d: %s is not a boolean", i, e.Format(20))
			return nil
		}
		out[i] = b
	}
	return out
}

// Check records a failed consistency check between keys (a head count that
// does not divide another, ...): why names the keys.
func (h *Hparams) Check(ok bool, why string, args ...any) {
	if !ok {
		h.err.Bad = append(h.err.Bad, fmt.Sprintf(why, args...))
	}
}

// Err returns the collected errors as one *HparamsError, or nil.
func (h *Hparams) Err() error {
	if len(h.err.Missing) == 0 && len(h.err.Bad) == 0 {
		return nil
	}
	e := h.err
	return &e
}
