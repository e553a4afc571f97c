package quant_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// quantizable lists every type Quantize supports; each has a round-trip bound:
// the largest RMSE of Dequantize(Quantize(x)) for x ~ N(0,1), about 1.15x what
// ggml achieves (README of the conformance data).
var quantizable = []struct {
	t       quant.Type
	maxRMSE float64
}{
	{quant.F32, 0}, {quant.F16, 2.5e-4}, {quant.BF16, 2e-3},
	{quant.Q4_0, 0.1}, {quant.Q4_1, 0.09}, {quant.Q5_0, 0.05}, {quant.Q5_1, 0.045},
	{quant.Q8_0, 0.0065}, {quant.Q8_1, 0.0065},
	{quant.Q2_K, 0.34}, {quant.Q3_K, 0.175}, {quant.Q4_K, 0.082}, {quant.Q5_K, 0.042},
	{quant.Q6_K, 0.021}, {quant.Q8_K, 0.0075}, {quant.IQ4_NL, 0.088}, {quant.IQ4_XS, 0.089},
}

func normal(seed uint64, n int, sigma float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * sigma)
	}
	return x
}

func roundTrip(t *testing.T, typ quant.Type, x []float32) []float32 {
	t.Helper()
	nb, err := typ.RowBytes(len(x))
	if err != nil {
		t.Fatal(err)
	}
	q := make([]byte, nb)
	if err := quant.Quantize(typ, x, q); err != nil {
		t.Fatalf("Quantize(%v): %v", typ, err)
	}
	y := make([]float32, len(x))
	if err := quant.Dequantize(typ, q, y); err != nil {
		t.Fatalf("Dequantize(%v): %v", typ, err)
	}
	return y
}

func TestRoundTripNormal(t *testing.T) {
	x := normal(1, 8*256, 1)
	for _, c := range quantizable {
		t.Run(c.t.String(), func(t *testing.T) {
			y := roundTrip(t, c.t, x)
			e := rmse(y, x)
			if e > c.maxRMSE {
				t.Errorf("RMSE %.4g > %.4g", e, c.maxRMSE)
			}
			if c.t == quant.F32 {
				for i := range x {
					if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
						t.Fatalf("F32 round trip changed x[%d]", i)
					}
				}
			}
			// Scale invariance: the error scales with the data (fp16 scales stay normal).
			y = roundTrip(t, c.t, scaled(x, 1e-3))
			if e := rmse(y, scaled(x, 1e-3)); e > c.maxRMSE*1e-3*1.05 {
				t.Errorf("x*1e-3: RMSE %.4g > %.4g", e, c.maxRMSE*1e-3*1.05)
			}
		})
	}
}

func scaled(x []float32, s float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = v * s
	}
	return y
}

// TestRoundTripSpecial feeds rows that stress the scale searches: zeros, a
// constant, one spike, one sign only, tiny values, a ramp. The result must be
// finite and no worse than a crude bound; zeros must stay exactly zero.
func TestRoundTripSpecial(t *testing.T) {
	const n = 512
	rows := map[string][]float32{
		"zero":     make([]float32, n),
		"const":    fill(n, func(int) float32 { return 0.75 }),
		"negconst": fill(n, func(int) float32 { return -3 }),
		"spike":    fill(n, func(i int) float32 { return float32(b2f(i == 77)) * 100 }),
		"positive": fill(n, func(i int) float32 { return float32(i%37) * 0.1 }),
		"negative": fill(n, func(i int) float32 { return -float32(i%41) * 0.1 }),
		"tiny":     scaled(normal(3, n, 1), 1e-30),
		"ramp":     fill(n, func(i int) float32 { return float32(i)/n*4 - 2 }),
		"large":    scaled(normal(4, n, 1), 1e4),
	}
	for _, c := range quantizable {
		for name, x := range rows {
			y := roundTrip(t, c.t, x)
			var amax float64
			for _, v := range x {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			for i := range y {
				if math.IsNaN(float64(y[i])) || math.IsInf(float64(y[i]), 0) {
					t.Fatalf("%v %s: y[%d] = %g", c.t, name, i, y[i])
				}
			}
			if name == "zero" {
				for i := range y {
					if y[i] != 0 {
						t.Fatalf("%v zero row: y[%d] = %g", c.t, i, y[i])
					}
				}
				continue
			}
			// Crude bound: the error never exceeds the row's largest magnitude.
			// (fp16 scales underflow for "tiny", so it may dequantize to zeros.)
			if e := rmse(y, x); e > amax*1.0001 {
				t.Errorf("%v %s: RMSE %.4g exceeds max |x| %.4g", c.t, name, e, amax)
			}
		}
	}
}

func fill(n int, f func(int) float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = f(i)
	}
	return x
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestNonFinite checks that NaN and Inf never make Quantize or Dequantize panic.
func TestNonFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32}
	for _, c := range quantizable {
		for _, b := range bad {
			x := normal(5, 256, 1)
			x[3], x[200] = b, b
			roundTrip(t, c.t, x) // values are unspecified; only no panic
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, c := range quantizable {
		nb, _ := c.t.RowBytes(256)
		q := make([]byte, nb)
		for range 50 {
			for i := range q {
				q[i] = byte(r.Uint32())
			}
			if err := quant.Dequantize(c.t, q, make([]float32, 256)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestQ4_0Layout checks the block layout against a hand-computed block.
func TestQ4_0Layout(t *testing.T) {
	x := make([]float32, 32)
	for j := 0; j < 16; j++ {
		x[j] = float32(j - 8) // -8..7 ; x[16:] stay 0
	}
	// max (largest magnitude, first) = -8 -> d = 1, q = x + 8.
	want := make([]byte, 18)
	binary.LittleEndian.PutUint16(want, 0x3c00) // 1.0
	for j := 0; j < 16; j++ {
		want[2+j] = byte(j) | 8<<4
	}
	got := make([]byte, 18)
	if err := quant.Quantize(quant.Q4_0, x, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("Quantize(Q4_0) = % x\nwant              % x", got, want)
	}
	y := make([]float32, 32)
	if err := quant.Dequantize(quant.Q4_0, got, y); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if y[i] != x[i] {
			t.Fatalf("y[%d] = %g, want %g", i, y[i], x[i])
		}
	}
}

// TestQ8Layouts checks the activation formats field by field.
func TestQ8Layouts(t *testing.T) {
	x := normal(11, 256, 2)
	x[40] = -9 // the largest magnitude, negative

	q0 := make([]byte, 8*34)
	if err := quant.Quantize(quant.Q8_0, x, q0); err != nil {
		t.Fatal(err)
	}
	q1 := make([]byte, 8*36)
	if err := quant.Quantize(quant.Q8_1, x, q1); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 8; b++ {
		xb := x[32*b : 32*b+32]
		var amax float32
		for _, v := range xb {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		b0, b1 := q0[34*b:], q1[36*b:]
		if got := binary.LittleEndian.Uint16(b0); got != quant.F32ToF16(d) {
			t.Fatalf("Q8_0 block %d: d %#04x, want %#04x", b, got, quant.F32ToF16(d))
		}
		if string(b0[:2]) != string(b1[:2]) || string(b0[2:34]) != string(b1[4:36]) {
			t.Fatalf("Q8_1 block %d: d or qs differ from Q8_0", b)
		}
		sum := 0
		for j, v := range xb {
			want := int8(math.Round(float64(v * (1 / d))))
			if int8(b0[2+j]) != want {
				t.Fatalf("Q8_0 block %d q[%d] = %d, want %d", b, j, int8(b0[2+j]), want)
			}
			sum += int(want)
		}
		if got := binary.LittleEndian.Uint16(b1[2:]); got != quant.F32ToF16(d*float32(sum)) {
			t.Fatalf("Q8_1 block %d: s %#04x, want d*sum = %#04x", b, got, quant.F32ToF16(d*float32(sum)))
		}
	}

	qk := make([]byte, 292)
	if err := quant.Quantize(quant.Q8_K, x, qk); err != nil {
		t.Fatal(err)
	}
	d := math.Float32frombits(binary.LittleEndian.Uint32(qk))
	if want := 1 / (-127 / float32(-9)); d != want {
		t.Fatalf("Q8_K d = %g, want %g", d, want)
	}
	if int8(qk[4+40]) != -127 {
		t.Fatalf("Q8_K q[40] = %d, want -127", int8(qk[4+40]))
	}
	for g := 0; g < 16; g++ {
		sum := 0
		for _, q := range qk[4+16*g : 4+16*g+16] {
			sum += int(int8(q))
		}
		if got := int16(binary.LittleEndian.Uint16(qk[260+2*g:])); int(got) != sum {
			t.Fatalf("Q8_K bsums[%d] = %d, want %d", g, got, sum)
		}
	}
}

// TestQuantizeQ8x86 checks the x86 activation variants against their
// definition (id = 127/amax, ties to even) and shows where they differ from
// the reference (id = 1/(amax/127), ties away from zero).
func TestQuantizeQ8x86(t *testing.T) {
	// Ties: amax 127 gives d = id = 1, so x.5 values are exact ties.
	x := make([]float32, 32)
	x[0] = 127
	ties := []float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -126.5}
	copy(x[1:], ties)
	ref, x86, x86s := make([]byte, 34), make([]byte, 34), make([]byte, 36)
	if err := quant.Quantize(quant.Q8_0, x, ref); err != nil {
		t.Fatal(err)
	}
	if err := quant.QuantizeQ8_0x86(x, x86); err != nil {
		t.Fatal(err)
	}
	if err := quant.QuantizeQ8_1x86(x, x86s); err != nil {
		t.Fatal(err)
	}
	wantRef := []int8{1, 2, 3, -1, -2, -3, 127, -127}
	wantX86 := []int8{0, 2, 2, 0, -2, -2, 126, -126}
	sum := 127
	for i := range ties {
		if got := int8(ref[3+i]); got != wantRef[i] {
			t.Errorf("reference: %g -> %d, want %d", ties[i], got, wantRef[i])
		}
		if got := int8(x86[3+i]); got != wantX86[i] {
			t.Errorf("x86: %g -> %d, want %d", ties[i], got, wantX86[i])
		}
		if int8(x86s[5+i]) != wantX86[i] {
			t.Errorf("x86 Q8_1: %g -> %d, want %d", ties[i], int8(x86s[5+i]), wantX86[i])
		}
		sum += int(wantX86[i])
	}
	if got, want := binary.LittleEndian.Uint16(x86s[2:]), quant.F32ToF16(float32(sum)); got != want {
		t.Errorf("x86 Q8_1 s = %#04x, want %#04x", got, want)
	}

	// Multipliers: find amax where 127/amax and 1/(amax/127) differ, then check
	// each quantizer follows its own.
	r := rand.New(rand.NewPCG(3, 4))
	differ := 0
	for range 2000 {
		x := normal(r.Uint64(), 32, 1)
		_, amax := absMaxOf(x)
		idRef, idX86 := 1/(amax/127), 127/amax
		if idRef == idX86 {
			continue
		}
		differ++
		if err := quant.Quantize(quant.Q8_0, x, ref); err != nil {
			t.Fatal(err)
		}
		if err := quant.QuantizeQ8_0x86(x, x86); err != nil {
			t.Fatal(err)
		}
		for j, v := range x {
			wr := int8(math.Round(float64(v * idRef)))
			wx := int8(math.RoundToEven(float64(v * idX86)))
			if int8(ref[2+j]) != wr || int8(x86[2+j]) != wx {
				t.Fatalf("x[%d]=%g: ref %d (want %d), x86 %d (want %d)", j, v, int8(ref[2+j]), wr, int8(x86[2+j]), wx)
			}
		}
	}
	if differ == 0 {
		t.Fatal("no block where the x86 and reference multipliers differ: test is vacuous")
	}
	t.Logf("%d of 2000 random blocks have different x86/reference multipliers", differ)

	for _, f := range []func([]float32, []byte) error{quant.QuantizeQ8_0x86, quant.QuantizeQ8_1x86} {
		if err := f(make([]float32, 33), make([]byte, 36)); !errors.Is(err, quant.ErrSize) {
			t.Errorf("33 values: err = %v, want ErrSize", err)
		}
		if err := f(make([]float32, 32), make([]byte, 35)); !errors.Is(err, quant.ErrSize) {
			t.Errorf("short dst: err = %v, want ErrSize", err)
		}
	}
}

func absMaxOf(x []float32) (max, amax float32) {
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, max = a, v
		}
	}
	return max, amax
}

func TestErrors(t *testing.T) {
	x := make([]float32, 1024)
	b := make([]byte, 8192)
	// Unknown type id.
	for _, err := range []error{quant.Dequantize(99, b[:18], x[:32]), quant.Quantize(99, x[:32], b[:18])} {
		if !errors.Is(err, quant.ErrUnknownType) || !strings.Contains(err.Error(), "99") {
			t.Errorf("type 99: err = %v", err)
		}
	}
	// Known but unsupported types name themselves.
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M, quant.I8, quant.F64} {
		nb, err := typ.RowBytes(256)
		if err != nil {
			t.Fatalf("%v: RowBytes: %v", typ, err)
		}
		for _, err := range []error{quant.Dequantize(typ, b[:nb], x[:256]), quant.Quantize(typ, x[:256], b[:nb])} {
			if !errors.Is(err, quant.ErrUnsupportedType) || !strings.Contains(err.Error(), typ.String()) {
				t.Errorf("%v: err = %v", typ, err)
			}
		}
	}
	// Sizes.
	for _, c := range quantizable {
		tr, _ := c.t.Traits()
		n := 2 * tr.BlockSize
		nb, _ := c.t.RowBytes(n)
		cases := []struct {
			name   string
			values int
			bytes  int
		}{{"short src", n, nb - 1}, {"long src", n, nb + 1}, {"empty src", n, 0}}
		if tr.BlockSize > 1 {
			cases = append(cases, struct {
				name   string
				values int
				bytes  int
			}{"partial block", n - 1, nb})
		}
		for _, s := range cases {
			if err := quant.Dequantize(c.t, b[:s.bytes], x[:s.values]); !errors.Is(err, quant.ErrSize) {
				t.Errorf("%v Dequantize %s: err = %v, want ErrSize", c.t, s.name, err)
			}
			if err := quant.Quantize(c.t, x[:s.values], b[:s.bytes]); !errors.Is(err, quant.ErrSize) {
				t.Errorf("%v Quantize %s: err = %v, want ErrSize", c.t, s.name, err)
			}
		}
		// Zero values is a valid, empty row.
		if err := quant.Dequantize(c.t, nil, nil); err != nil {
			t.Errorf("%v: empty: %v", c.t, err)
		}
	}
	if _, err := quant.F32.RowBytes(-1); !errors.Is(err, quant.ErrSize) {
		t.Errorf("RowBytes(-1): %v", err)
	}
	if _, err := quant.F32.RowBytes(math.MaxInt); !errors.Is(err, quant.ErrSize) {
		t.Errorf("RowBytes(MaxInt): %v", err)
	}
}

func TestTypes(t *testing.T) {
	sizes := map[quant.Type][2]int{ // ggml block size, bytes per block
		quant.F32: {1, 4}, quant.F16: {1, 2}, quant.BF16: {1, 2}, quant.Q4_0: {32, 18}, quant.Q4_1: {32, 20},
		quant.Q5_0: {32, 22}, quant.Q5_1: {32, 24}, quant.Q8_0: {32, 34}, quant.Q8_1: {32, 36},
		quant.Q2_K: {256, 84}, quant.Q3_K: {256, 110}, quant.Q4_K: {256, 144}, quant.Q5_K: {256, 176},
		quant.Q6_K: {256, 210}, quant.Q8_K: {256, 292}, quant.IQ4_NL: {32, 18}, quant.IQ4_XS: {256, 136},
	}
	for _, c := range quantizable {
		tr, ok := c.t.Traits()
		if !ok || !tr.Supported {
			t.Fatalf("%v: not supported", c.t)
		}
		if s := sizes[c.t]; s != [2]int{tr.BlockSize, tr.BlockBytes} {
			t.Errorf("%v: block %d/%d, want %v", c.t, tr.BlockSize, tr.BlockBytes, s)
		}
		if p, err := quant.ParseType(strings.ToLower(c.t.String())); err != nil || p != c.t {
			t.Errorf("ParseType(%q) = %v, %v", strings.ToLower(c.t.String()), p, err)
		}
		if err := c.t.Check(); err != nil {
			t.Errorf("%v.Check() = %v", c.t, err)
		}
	}
	if len(sizes) != len(quantizable) {
		t.Fatal("size table and quantizable list disagree")
	}
	if s := quant.Type(1234).String(); s != "type(1234)" {
		t.Errorf("String of unknown = %q", s)
	}
}
