package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Block layouts (little-endian; "half" is an IEEE binary16 scale):
//
//	Q4_0   18 B: d half | qs[16]: value j in low nibble of qs[j], value j+16 in high nibble; x = (q-8)*d
//	Q4_1   20 B: d half, m half | qs[16] as Q4_0; x = q*d + m
//	Q5_0   22 B: d half | qh[4] (uint32, bit j = 5th bit of value j) | qs[16] as Q4_0; x = (q-16)*d
//	Q5_1   24 B: d half, m half | qh[4] | qs[16]; x = q*d + m
//	Q8_0   34 B: d half | qs[32] int8; x = q*d
//	Q8_1   36 B: d half, s half (= d*sum(q)) | qs[32] int8; x = q*d
//	Q2_K   84 B: scales[16] (low nibble scale, high nibble min) | qs[64] 2-bit | d half | dmin half
//	Q3_K  110 B: hmask[32] | qs[64] 2-bit | scales[12] (16 x 6 bits, biased by 32) | d half
//	Q4_K  144 B: d half | dmin half | scales[12] (8 scales + 8 mins, 6 bits) | qs[128] 4-bit
//	Q5_K  176 B: d half | dmin half | scales[12] | qh[32] | qs[128]
//	Q6_K  210 B: ql[128] | qh[64] | scales[16] int8 | d half
//	Q8_K  292 B: d float32 | qs[256] int8 | bsums[16] int16 (sums of 16 consecutive qs)
//	IQ4_NL 18 B: d half | qs[16] as Q4_0, 4-bit indices into a fixed non-linear table; x = d*table[q]
//	IQ4_XS 136 B: d half | scales_h uint16 | scales_l[4] | qs[128]: eight 32-value blocks, 6-bit scales biased by 32
//
// The float arithmetic below is written to give the same bits as ggml's scalar
// to_float code: every product that is an operand of an addition or
// subtraction (also through a variable) is converted explicitly with
// float32(...), which in Go forbids fusing it into a multiply-add (arm64,
// riscv64, ppc64, s390x, GOAMD64=v3), so each operation is rounded to float32
// as in C. TestNoFusedMultiplyAdd checks the compiled code for every such port.

// Dequantize decodes len(dst) values of type t from src. len(dst) must be a
// multiple of t's block size and src exactly the bytes those values occupy
// (t.RowBytes(len(dst))). The result is bit-identical to ggml's to_float.
func Dequantize(t Type, src []byte, dst []float32) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("%w: cannot dequantize", err)
	}
	if err := checkSizes("dequantize", t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		forBlocks(src, dst, 18, QK, dequantQ4_0)
	case Q4_1:
		forBlocks(src, dst, 20, QK, dequantQ4_1)
	case Q5_0:
		forBlocks(src, dst, 22, QK, dequantQ5_0)
	case Q5_1:
		forBlocks(src, dst, 24, QK, dequantQ5_1)
	case Q8_0:
		forBlocks(src, dst, 34, QK, dequantQ8_0)
	case Q8_1:
		forBlocks(src, dst, 36, QK, dequantQ8_1)
	case Q2_K:
		forBlocks(src, dst, 84, QKK, dequantQ2K)
	case Q3_K:
		forBlocks(src, dst, 110, QKK, dequantQ3K)
	case Q4_K:
		forBlocks(src, dst, 144, QKK, dequantQ4K)
	case Q5_K:
		forBlocks(src, dst, 176, QKK, dequantQ5K)
	case Q6_K:
		forBlocks(src, dst, 210, QKK, dequantQ6K)
	case Q8_K:
		forBlocks(src, dst, 292, QKK, dequantQ8K)
	case IQ4_NL:
		forBlocks(src, dst, 18, QK, dequantIQ4NL)
	case IQ4_XS:
		forBlocks(src, dst, 136, QKK, dequantIQ4XS)
	default:
		// Unreachable while the traits table and this switch agree.
		return fmt.Errorf("%w: %s: no dequantizer", ErrUnsupportedType, t)
	}
	return nil
}

// checkSizes validates a row of n values of type t stored in nb bytes.
func checkSizes(op string, t Type, n, nb int) error {
	want, err := t.RowBytes(n)
	if err != nil {
		return fmt.Errorf("quant: %s %s: %w", op, t, err)
	}
	if nb != want {
		return fmt.Errorf("quant: %s %s: %w: %d values take %d bytes, got %d", op, t, ErrSize, n, want, nb)
	}
	return nil
}

// forBlocks calls f for each block of bs bytes and qk values.
func forBlocks(src []byte, dst []float32, bs, qk int, f func(b []byte, y []float32)) {
	for i := 0; i*qk < len(dst); i++ {
		f(src[i*bs:(i+1)*bs], dst[i*qk:(i+1)*qk])
	}
}

func half(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

func dequantQ4_0(b []byte, y []float32) {
	d := half(b)
	qs := b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int(qs[j]&0xF)-8) * d
		y[j+16] = float32(int(qs[j]>>4)-8) * d
	}
}

func dequantQ4_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qs := b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0xF)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

func dequantQ5_0(b []byte, y []float32) {
	d := half(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	qs := b[6:22]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>j) & 1 << 4
		h1 := byte(qh>>(j+16)) & 1 << 4
		y[j] = float32(int(qs[j]&0xF|h0)-16) * d
		y[j+16] = float32(int(qs[j]>>4|h1)-16) * d
	}
}

func dequantQ5_1(b []byte, y []float32) {
	d, m := half(b), half(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	qs := b[8:24]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>j) & 1 << 4
		h1 := byte(qh>>(j+16)) & 1 << 4
		y[j] = float32(float32(qs[j]&0xF|h0)*d) + m
		y[j+16] = float32(float32(qs[j]>>4|h1)*d) + m
	}
}

func dequantQ8_0(b []byte, y []float32) {
	d := half(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

func dequantQ8_1(b []byte, y []float32) {
	d := half(b)
	for j, q := range b[4:36] {
		y[j] = float32(int8(q)) * d
	}
}

func dequantQ2K(b []byte, y []float32) {
	scales, qs := b[0:16], b[16:80]
	d, dmin := half(b[80:]), half(b[82:])
	// Value 128*h + 32*s + l (h<2, s<4, l<32) is bits 2s..2s+1 of qs[32h+l];
	// each 16 values share one byte of scales (low nibble scale, high nibble min).
	for h := 0; h < 2; h++ {
		for s := 0; s < 4; s++ {
			for g := 0; g < 2; g++ {
				sc := scales[8*h+2*s+g]
				dl := d * float32(sc&0xF)
				ml := float32(dmin * float32(sc>>4))
				for l := 16 * g; l < 16*g+16; l++ {
					q := qs[32*h+l] >> (2 * s) & 3
					y[128*h+32*s+l] = float32(dl*float32(q)) - ml
				}
			}
		}
	}
}

// q3Scale returns the j-th 6-bit scale of a Q3_K block (still biased by 32).
func q3Scale(sc []byte, j int) int {
	var lo byte
	if j < 8 {
		lo = sc[j] & 0xF
	} else {
		lo = sc[j-8] >> 4
	}
	hi := sc[8+j%4] >> (2 * (j / 4)) & 3
	return int(lo | hi<<4)
}

func dequantQ3K(b []byte, y []float32) {
	hmask, qs, scales := b[0:32], b[32:96], b[96:108]
	d := half(b[108:])
	// As Q2_K for the low 2 bits; the high bit of value 128*h + 32*s + l is
	// bit 4h+s of hmask[l], and a clear bit subtracts 4.
	for h := 0; h < 2; h++ {
		for s := 0; s < 4; s++ {
			for g := 0; g < 2; g++ {
				dl := d * float32(q3Scale(scales, 8*h+2*s+g)-32)
				for l := 16 * g; l < 16*g+16; l++ {
					q := int(qs[32*h+l] >> (2 * s) & 3)
					if hmask[l]>>(4*h+s)&1 == 0 {
						q -= 4
					}
					y[128*h+32*s+l] = dl * float32(q)
				}
			}
		}
	}
}

// scaleMinK4 returns the j-th 6-bit scale and min of a Q4_K/Q5_K block.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xF | q[j-4]>>6<<4, q[j+4]>>4 | q[j]>>6<<4
}

func dequantQ4K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales, qs := b[4:16], b[16:144]
	// Value 64*c + l (l < 32) is the low nibble of qs[32c+l], 64*c+32+l the high one;
	// each 32 values have their own scale and min.
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, scales)
		d1, m1 := d*float32(sc), float32(dmin*float32(m))
		sc, m = scaleMinK4(2*c+1, scales)
		d2, m2 := d*float32(sc), float32(dmin*float32(m))
		q := qs[32*c : 32*c+32]
		for l := 0; l < 32; l++ {
			y[64*c+l] = float32(d1*float32(q[l]&0xF)) - m1
			y[64*c+32+l] = float32(d2*float32(q[l]>>4)) - m2
		}
	}
}

func dequantQ5K(b []byte, y []float32) {
	d, dmin := half(b), half(b[2:])
	scales, qh, qs := b[4:16], b[16:48], b[48:176]
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, scales)
		d1, m1 := d*float32(sc), float32(dmin*float32(m))
		sc, m = scaleMinK4(2*c+1, scales)
		d2, m2 := d*float32(sc), float32(dmin*float32(m))
		q := qs[32*c : 32*c+32]
		for l := 0; l < 32; l++ {
			q1 := q[l]&0xF | qh[l]>>(2*c)&1<<4
			q2 := q[l]>>4 | qh[l]>>(2*c+1)&1<<4
			y[64*c+l] = float32(d1*float32(q1)) - m1
			y[64*c+32+l] = float32(d2*float32(q2)) - m2
		}
	}
}

func dequantQ6K(b []byte, y []float32) {
	ql, qh, sc := b[0:128], b[128:192], b[192:208]
	d := half(b[208:])
	// Value 128*h + 32*s + l: low 4 bits are nibble s>>1 of ql[64h + 32*(s&1) + l],
	// high 2 bits are bits 2s..2s+1 of qh[32h+l]; each 16 values share an int8 scale.
	for h := 0; h < 2; h++ {
		for s := 0; s < 4; s++ {
			for l := 0; l < 32; l++ {
				i := 128*h + 32*s + l
				lo := ql[64*h+32*(s&1)+l] >> (4 * (s >> 1)) & 0xF
				hi := qh[32*h+l] >> (2 * s) & 3
				q := int(lo|hi<<4) - 32
				y[i] = d * float32(int8(sc[i/16])) * float32(q)
			}
		}
	}
}

func dequantQ8K(b []byte, y []float32) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j, q := range b[4:260] {
		y[j] = d * float32(int8(q))
	}
}

// iq4nlValues is ggml's kvalues_iq4nl: the non-linear 4-bit levels of IQ4_NL and IQ4_XS.
var iq4nlValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4NLValues returns (a copy of) the 16 levels an IQ4_NL or IQ4_XS 4-bit
// index selects, ggml's kvalues_iq4nl; a value is d * IQ4NLValues()[q].
func IQ4NLValues() [16]int8 { return iq4nlValues }

func dequantIQ4NL(b []byte, y []float32) {
	d := half(b)
	for j, q := range b[2:18] {
		y[j] = d * float32(iq4nlValues[q&0xF])
		y[j+16] = d * float32(iq4nlValues[q>>4])
	}
}

func dequantIQ4XS(b []byte, y []float32) {
	d := half(b)
	sh := binary.LittleEndian.Uint16(b[2:])
	sl, qs := b[4:8], b[8:136]
	for ib := 0; ib < 8; ib++ {
		ls := int(sl[ib/2]>>(4*(ib%2))&0xF) | int(sh>>(2*ib)&3)<<4
		dl := d * float32(ls-32)
		q, yb := qs[16*ib:16*ib+16], y[32*ib:32*ib+32]
		for j := 0; j < 16; j++ {
			yb[j] = dl * float32(iq4nlValues[q[j]&0xF])
			yb[j+16] = dl * float32(iq4nlValues[q[j]>>4])
		}
	}
}
