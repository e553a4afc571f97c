package kernels

import (
	"math"
	"unsafe"

	"github.com/edgeai-go/edgeai/quant"
)

// VecDot returns the dot product of n values: w holds them in type t (a
// weight row), a in ActivationType(t) (as written by QuantizeActivation). n
// must be a whole number of t's blocks and w, a at least that long; anything
// else is a programmer error and panics.
//
// The arithmetic is ggml's: per block exact integer sums of the quants'
// products, scaled in float32 by the product of the two block scales (and
// the weight minimums times the activation block sums for Q4_1, Q5_1 and the
// K-quants with minimums). For the quantized types the float32 operations
// are those llama.cpp (c392e50) performs on x86 AVX2/AVX-512 machines, lane
// for lane and with the same fused multiply-adds (see dot.go and dot_k.go),
// so that given the same bytes the result is bit-identical to it, on every
// path of this package. (Checked end to end: with edgeai's llama forward,
// the logits of the Q4_0, Q4_1, Q5_0 and Q5_1 tiny-llama references in
// ../shared equal llama.cpp's bit for bit.) F16 and BF16 products are exact in float32 and summed in
// float64 (generic; the AVX2 F16 kernel sums in float32 lanes); F32 is Dot.
func VecDot(t quant.Type, n int, w []byte, a []byte) float32 {
	if !Supported(t) {
		panic("kernels: VecDot: no dot product for " + t.String() + " weights (see kernels.Check)")
	}
	wb := rowBytes("VecDot", t, n)
	ab := rowBytes("VecDot", layouts[t].act, n)
	if len(w) < wb || len(a) < ab {
		panic("kernels: VecDot: " + itoa(n) + " " + t.String() + " values need " + itoa(wb) + " weight and " + itoa(ab) + " activation bytes, have " + itoa(len(w)) + " and " + itoa(len(a)))
	}
	return cur.vecDot[t](n, w[:wb], a[:ab])
}

// genericImpl returns the pure-Go implementation, the reference for all others.
func genericImpl() *impl {
	g := &impl{name: "generic", available: true, dot: dotGeneric, axpy: axpyGeneric, scale: scaleGeneric,
		attnDot: attnDotGeneric, attnValues: attnValuesGeneric,
		attnDotF16: attnDotF16Generic, swiglu: swigluGeneric, softmaxExp: softmaxExpGeneric}
	g.vecDot[quant.F32] = dotF32
	g.vecDot[quant.F16] = dotF16
	g.vecDot[quant.BF16] = dotBF16
	g.vecDot[quant.Q4_0] = dotQ4_0
	g.vecDot[quant.Q4_1] = dotQ4_1
	g.vecDot[quant.Q5_0] = dotQ5_0
	g.vecDot[quant.Q5_1] = dotQ5_1
	g.vecDot[quant.Q8_0] = dotQ8_0
	g.vecDot[quant.IQ4_NL] = dotIQ4_NL
	g.vecDot[quant.Q2_K] = dotQ2_K
	g.vecDot[quant.Q3_K] = dotQ3_K
	g.vecDot[quant.Q4_K] = dotQ4_K
	g.vecDot[quant.Q5_K] = dotQ5_K
	g.vecDot[quant.Q6_K] = dotQ6_K
	g.vecDot[quant.IQ4_XS] = dotIQ4_XS

	g.quantize[quant.F32] = quantizeF32
	g.quantize[quant.F16] = quantizeF16
	g.quantize[quant.BF16] = quantizeBF16
	g.quantize[quant.Q8_0] = quantizeQ8_0
	g.quantize[quant.Q8_1] = quantizeQ8_1
	g.quantize[quant.Q8_K] = quantizeQ8_K
	return g
}

// kvaluesIQ4NL are the 16 non-linear levels of IQ4_NL and IQ4_XS.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// blockScale returns the float32 product of two fp16 block scales.
func blockScale(w, a uint16) float32 { return f16(w) * f16(a) }

// The float32 arithmetic of the 32-value formats follows, operation for
// operation, the code llama.cpp (c392e50) runs on x86 with AVX2/AVX-512, so
// that results are bit-identical to it given the same bytes:
//
//   - Q8_0, Q5_0, IQ4_NL (llamafile's tinyBLAS_Q0_AVX, used for every batch
//     size) and Q4_1, Q5_1 (ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1, AVX2): eight
//     float32 lanes; lane k takes the integer sum of the products 4k..4k+3
//     of each block and accumulates d_w·d_a times it with a fused
//     multiply-add; the lanes are added as ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)).
//     Q4_1 and Q5_1 add m_w·s_a per block into a separate float32 sum (fused,
//     as the compiler contracts summs += m*s) that is added last.
//   - Q4_0 (weights repacked at load to q4_0_8x8 on AVX2 CPUs; its gemv and
//     gemm): one float32 accumulator; per block acc = fma(isum, d_w·d_a, acc).
//
// fma32 gives the single rounding of the fused multiply-add in pure Go.

// fma32 returns x·y+z rounded once to float32 (a fused multiply-add). The
// product is exact in float64; the sum rounded to float64 and then to
// float32 is correct unless the first rounding lands exactly on a float32
// tie (or the result is subnormal), which fma32Slow settles by rounding to
// odd.
func fma32(x, y, z float32) float32 {
	p := float64(float64(x) * float64(y))
	s := float64(p + float64(z))
	if b := math.Float64bits(s); b&(1<<29-1) == 1<<28 || b&(0x7ff<<52) < (1023-126)<<52 {
		return fma32Slow(p, float64(z), s)
	}
	return float32(s)
}

// fma32Slow rounds the exact p+z (s = fl64(p+z)) to float32: the error of
// s is found exactly (TwoSum) and s is rounded to odd, after which the
// rounding to float32 is correct. It is kept out of line so that fma32
// inlines.
//
//go:noinline
func fma32Slow(p, z, s float64) float32 {
	bp := float64(s - z)
	e := float64(p-bp) + float64(z-float64(s-bp))
	if (e > 0 || e < 0) && math.Float64bits(s)&1 == 0 {
		b := math.Float64bits(s)
		if (e > 0) == (s > 0) {
			b++
		} else {
			b--
		}
		s = math.Float64frombits(b)
	}
	return float32(s)
}

// lanes8 is the eight-lane float32 accumulator of ggml's AVX2 kernels.
type lanes8 [8]float32

// add accumulates d times the eight integer lane sums.
func (l *lanes8) add(d float32, s *[8]int32) {
	for k := range 8 {
		l[k] = fma32(d, float32(s[k]), l[k])
	}
}

// sum adds the lanes in the order of ggml's hsum_float_8.
func (l *lanes8) sum() float32 {
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// dotQ4_0 (block: fp16 d, 16 bytes of nibbles; value q-8, low nibbles are
// values 0..15, high nibbles 16..31) against Q8_0 (fp16 d, 32 int8).
func dotQ4_0(n int, w, a []byte) float32 {
	var acc float32
	for i := range n / 32 {
		wb := (*[18]byte)(w[i*18:])
		ab := (*[34]byte)(a[i*34:])
		acc = fma32(float32(blockQ4_0(wb, ab)), blockScale(u16(wb[0:]), u16(ab[0:])), acc)
	}
	return acc
}

// dotQ4_1 (fp16 d, fp16 m, nibbles; value d*q+m) against Q8_1 (fp16 d, fp16
// s = d·Σq, 32 int8): Σ d_w·d_a·Σq_w·q_a + m_w·s_a.
func dotQ4_1(n int, w, a []byte) float32 {
	var acc lanes8
	var summs float32
	for i := range n / 32 {
		wb := (*[20]byte)(w[i*20:])
		ab := (*[36]byte)(a[i*36:])
		var s [8]int32
		for k := range 4 {
			var lo, hi int32
			for j := 4 * k; j < 4*k+4; j++ {
				b := wb[4+j]
				lo += int32(b&15) * int32(int8(ab[4+j]))
				hi += int32(b>>4) * int32(int8(ab[20+j]))
			}
			s[k], s[k+4] = lo, hi
		}
		acc.add(blockScale(u16(wb[0:]), u16(ab[0:])), &s)
		summs = fma32(f16(u16(wb[2:])), f16(u16(ab[2:])), summs)
	}
	return acc.sum() + summs
}

// dotQ5_0 (fp16 d, 32 high bits, nibbles; value q-16) against Q8_0.
func dotQ5_0(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 32 {
		wb := (*[22]byte)(w[i*22:])
		ab := (*[34]byte)(a[i*34:])
		s := blockQ5_0(wb, ab)
		acc.add(blockScale(u16(wb[0:]), u16(ab[0:])), &s)
	}
	return acc.sum()
}

// dotQ5_1 (fp16 d, fp16 m, 32 high bits, nibbles; value d*q+m) against Q8_1.
func dotQ5_1(n int, w, a []byte) float32 {
	var acc lanes8
	var summs float32
	for i := range n / 32 {
		wb := (*[24]byte)(w[i*24:])
		ab := (*[36]byte)(a[i*36:])
		qh := u32(wb[4:])
		var s [8]int32
		for k := range 4 {
			var lo, hi int32
			for j := 4 * k; j < 4*k+4; j++ {
				b := wb[8+j]
				lo += (int32(b&15) | int32(qh>>j&1)<<4) * int32(int8(ab[4+j]))
				hi += (int32(b>>4) | int32(qh>>(j+16)&1)<<4) * int32(int8(ab[20+j]))
			}
			s[k], s[k+4] = lo, hi
		}
		acc.add(blockScale(u16(wb[0:]), u16(ab[0:])), &s)
		summs = fma32(f16(u16(wb[2:])), f16(u16(ab[2:])), summs)
	}
	return acc.sum() + summs
}

// dotQ8_0 (fp16 d, 32 int8) against Q8_0.
func dotQ8_0(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 32 {
		wb := (*[34]byte)(w[i*34:])
		ab := (*[34]byte)(a[i*34:])
		s := blockQ8_0(wb, ab)
		acc.add(blockScale(u16(wb[0:]), u16(ab[0:])), &s)
	}
	return acc.sum()
}

// dotIQ4_NL (fp16 d, nibbles indexing kvaluesIQ4NL) against Q8_0.
func dotIQ4_NL(n int, w, a []byte) float32 {
	var acc lanes8
	for i := range n / 32 {
		wb := (*[18]byte)(w[i*18:])
		ab := (*[34]byte)(a[i*34:])
		s := blockIQ4_NL(wb, ab)
		acc.add(blockScale(u16(wb[0:]), u16(ab[0:])), &s)
	}
	return acc.sum()
}

// dotF16 multiplies binary16 weights by binary16 activations; each product is
// exact in float32 and the sum is kept in float64, as ggml's scalar code.
func dotF16(n int, w, a []byte) float32 {
	var s0, s1 float64
	hw, ha := asU16(w[:2*n]), asU16(a[:2*n])
	if hw == nil || ha == nil { // unaligned or big-endian: decode byte by byte, same sums
		i := 0
		for ; i+1 < n; i += 2 {
			s0 += float64(f16(u16(w[2*i:])) * f16(u16(a[2*i:])))
			s1 += float64(f16(u16(w[2*i+2:])) * f16(u16(a[2*i+2:])))
		}
		if i < n {
			s0 += float64(f16(u16(w[2*i:])) * f16(u16(a[2*i:])))
		}
		return float32(s0 + s1)
	}
	ha = ha[:len(hw)]
	i := 0
	for ; i+1 < len(hw); i += 2 {
		s0 += float64(f16(hw[i]) * f16(ha[i]))
		s1 += float64(f16(hw[i+1]) * f16(ha[i+1]))
	}
	if i < len(hw) {
		s0 += float64(f16(hw[i]) * f16(ha[i]))
	}
	return float32(s0 + s1)
}

// dotBF16 multiplies bfloat16 weights by bfloat16 activations (exact
// products, float64 sum).
func dotBF16(n int, w, a []byte) float32 {
	var s0, s1 float64
	hw, ha := asU16(w[:2*n]), asU16(a[:2*n])
	if hw == nil || ha == nil { // unaligned or big-endian: decode byte by byte, same sums
		i := 0
		for ; i+1 < n; i += 2 {
			s0 += float64(bf16(u16(w[2*i:])) * bf16(u16(a[2*i:])))
			s1 += float64(bf16(u16(w[2*i+2:])) * bf16(u16(a[2*i+2:])))
		}
		if i < n {
			s0 += float64(bf16(u16(w[2*i:])) * bf16(u16(a[2*i:])))
		}
		return float32(s0 + s1)
	}
	ha = ha[:len(hw)]
	i := 0
	for ; i+1 < len(hw); i += 2 {
		s0 += float64(bf16(hw[i]) * bf16(ha[i]))
		s1 += float64(bf16(hw[i+1]) * bf16(ha[i+1]))
	}
	if i < len(hw) {
		s0 += float64(bf16(hw[i]) * bf16(ha[i]))
	}
	return float32(s0 + s1)
}

// asU16 returns b viewed as uint16s when that is possible in place (a
// little-endian machine and 2-byte alignment), else nil.
func asU16(b []byte) []uint16 {
	if len(b) == 0 || !littleEndian || uintptr(unsafe.Pointer(&b[0]))%2 != 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

func bf16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// dotF32 is Dot over little-endian float32 bytes.
func dotF32(n int, w, a []byte) float32 {
	if fw, fa := asF32(w[:4*n]), asF32(a[:4*n]); fw != nil && fa != nil {
		return cur.dot(fw, fa)
	}
	var s [4]float32
	i := 0
	for ; i+3 < n; i += 4 {
		for k := range 4 {
			s[k] += float32(math.Float32frombits(u32(w[4*(i+k):])) * math.Float32frombits(u32(a[4*(i+k):])))
		}
	}
	for ; i < n; i++ {
		s[0] += float32(math.Float32frombits(u32(w[4*i:])) * math.Float32frombits(u32(a[4*i:])))
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// littleEndian is true on the (usual) little-endian machines, where float32
// tensors can be read in place.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// asF32 returns b viewed as float32s when that is possible in place (a
// little-endian machine and 4-byte alignment), else nil.
func asF32(b []byte) []float32 {
	if len(b) == 0 || !littleEndian || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// The one-block steps of dotQ4_0, dotQ5_0, dotIQ4_NL and dotQ8_0, shared
// with the generic path of packed weights (packedGroup): the exact integer
// sum (Q4_0) or the eight quad lanes (the others) of the weight block wb
// times the activation block ab.

func blockQ4_0(wb *[18]byte, ab *[34]byte) int32 {
	var s int32
	for j := range 16 {
		b := wb[2+j]
		s += (int32(b&15)-8)*int32(int8(ab[2+j])) + (int32(b>>4)-8)*int32(int8(ab[18+j]))
	}
	return s
}

func blockQ5_0(wb *[22]byte, ab *[34]byte) (s [8]int32) {
	qh := u32(wb[2:])
	for k := range 4 {
		var lo, hi int32
		for j := 4 * k; j < 4*k+4; j++ {
			b := wb[6+j]
			l := int32(b&15) | int32(qh>>j&1)<<4
			h := int32(b>>4) | int32(qh>>(j+16)&1)<<4
			lo += (l - 16) * int32(int8(ab[2+j]))
			hi += (h - 16) * int32(int8(ab[18+j]))
		}
		s[k], s[k+4] = lo, hi
	}
	return s
}

func blockQ8_0(wb, ab *[34]byte) (s [8]int32) {
	for k := range 8 {
		j := 2 + 4*k
		s[k] = int32(int8(wb[j]))*int32(int8(ab[j])) + int32(int8(wb[j+1]))*int32(int8(ab[j+1])) +
			int32(int8(wb[j+2]))*int32(int8(ab[j+2])) + int32(int8(wb[j+3]))*int32(int8(ab[j+3]))
	}
	return s
}

func blockIQ4_NL(wb *[18]byte, ab *[34]byte) (s [8]int32) {
	for k := range 4 {
		var lo, hi int32
		for j := 4 * k; j < 4*k+4; j++ {
			b := wb[2+j]
			lo += int32(kvaluesIQ4NL[b&15]) * int32(int8(ab[2+j]))
			hi += int32(kvaluesIQ4NL[b>>4]) * int32(int8(ab[18+j]))
		}
		s[k], s[k+4] = lo, hi
	}
	return s
}
