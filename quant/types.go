// Package quant describes ggml's tensor formats as data: the GGUF type ids, one
// traits table (block size, bytes per block, the activation type of its dot
// product) and the reference quantizers and dequantizers that are the spec the
// fast kernels are tested against. It imports nothing else of edgeai.
//
// Dequantize and Quantize reproduce ggml (llama.cpp b4748) bit for bit for
// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL and IQ4_XS
// (checked against ggml's own output in ../shared/testdata/quant), and follow
// ggml's reference code for the activation formats Q8_0, Q8_1 and Q8_K.
// QuantizeQ8_0x86 and QuantizeQ8_1x86 are the activation quantizers ggml-cpu
// really uses on x86, which round differently from the reference.
package quant

import (
	"errors"
	"fmt"
	"math"
)

// Type is a ggml tensor type, numbered as in GGUF files (ggml_type).
type Type uint32

// The ggml types edgeai knows by id. Only those with a traits entry are supported.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
)

// QK is the block size of the 32-value formats; QKK the block size of K-quants.
const (
	QK  = 32
	QKK = 256
)

// Traits describes one tensor type.
type Traits struct {
	Name       string // ggml's name, e.g. "q4_0" is written "Q4_0" here
	BlockSize  int    // values per block
	BlockBytes int    // bytes per block
	VecDot     Type   // type the activation side is quantized to for dot products
	Quantized  bool   // true for block-quantized formats
	Supported  bool   // edgeai can dequantize it
}

var traits = map[Type]Traits{
	F32:     {"F32", 1, 4, F32, false, true},
	F16:     {"F16", 1, 2, F16, false, true},
	BF16:    {"BF16", 1, 2, BF16, false, true},
	Q4_0:    {"Q4_0", QK, 18, Q8_0, true, true},
	Q4_1:    {"Q4_1", QK, 20, Q8_1, true, true},
	Q5_0:    {"Q5_0", QK, 22, Q8_0, true, true},
	Q5_1:    {"Q5_1", QK, 24, Q8_1, true, true},
	Q8_0:    {"Q8_0", QK, 34, Q8_0, true, true},
	Q8_1:    {"Q8_1", QK, 36, Q8_1, true, true},
	Q2_K:    {"Q2_K", QKK, 84, Q8_K, true, true},
	Q3_K:    {"Q3_K", QKK, 110, Q8_K, true, true},
	Q4_K:    {"Q4_K", QKK, 144, Q8_K, true, true},
	Q5_K:    {"Q5_K", QKK, 176, Q8_K, true, true},
	Q6_K:    {"Q6_K", QKK, 210, Q8_K, true, true},
	Q8_K:    {"Q8_K", QKK, 292, Q8_K, true, true},
	IQ4_NL:  {"IQ4_NL", QK, 18, Q8_0, true, true},
	IQ4_XS:  {"IQ4_XS", QKK, 136, Q8_K, true, true},
	IQ2_XXS: {"IQ2_XXS", QKK, 66, Q8_K, true, false},
	IQ2_XS:  {"IQ2_XS", QKK, 74, Q8_K, true, false},
	IQ3_XXS: {"IQ3_XXS", QKK, 98, Q8_K, true, false},
	IQ1_S:   {"IQ1_S", QKK, 50, Q8_K, true, false},
	IQ3_S:   {"IQ3_S", QKK, 110, Q8_K, true, false},
	IQ2_S:   {"IQ2_S", QKK, 82, Q8_K, true, false},
	IQ1_M:   {"IQ1_M", QKK, 56, Q8_K, true, false},
	I8:      {"I8", 1, 1, I8, false, false},
	I16:     {"I16", 1, 2, I16, false, false},
	I32:     {"I32", 1, 4, I32, false, false},
	I64:     {"I64", 1, 8, I64, false, false},
	F64:     {"F64", 1, 8, F64, false, false},
}

// ErrUnknownType is returned (wrapped) for a type id edgeai does not know.
var ErrUnknownType = errors.New("quant: unknown tensor type")

// ErrUnsupportedType is returned (wrapped) for a known type edgeai cannot decode.
var ErrUnsupportedType = errors.New("quant: unsupported tensor type")

// ErrSize is returned (wrapped) when a count of values is not a whole number
// of blocks or a byte slice does not have the length those values need.
var ErrSize = errors.New("quant: size mismatch")

// Traits returns the traits of t and whether t is a known type.
func (t Type) Traits() (Traits, bool) {
	tr, ok := traits[t]
	return tr, ok
}

// String returns the ggml name of t, or "type(N)" for an unknown id.
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether t has a traits entry (its sizes are known).
func (t Type) Known() bool { _, ok := traits[t]; return ok }

// Check returns nil if edgeai can decode t, or an error naming it.
func (t Type) Check() error {
	tr, ok := traits[t]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownType, uint32(t))
	}
	if !tr.Supported {
		return fmt.Errorf("%w: %s", ErrUnsupportedType, tr.Name)
	}
	return nil
}

// RowBytes returns the number of bytes that n values of type t occupy. It is an
// error if t is unknown, n is negative or not a multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("%w: %d", ErrUnknownType, uint32(t))
	}
	if n < 0 || n%tr.BlockSize != 0 {
		return 0, fmt.Errorf("%w: %d values are not a whole number of %s blocks of %d", ErrSize, n, tr.Name, tr.BlockSize)
	}
	if n/tr.BlockSize > math.MaxInt/tr.BlockBytes {
		return 0, fmt.Errorf("%w: %d %s values overflow a byte count", ErrSize, n, tr.Name)
	}
	return n / tr.BlockSize * tr.BlockBytes, nil
}

// ParseType returns the type named s (case-insensitive, e.g. "q4_0", "Q4_K").
func ParseType(s string) (Type, error) {
	for t, tr := range traits {
		if equalFold(tr.Name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownType, s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
