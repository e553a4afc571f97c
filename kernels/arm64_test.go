//go:build arm64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
	"github.com/klauspost/cpuid/v2"
)

// armTypes are the weight types with arm64 assembly, all bit-identical to
// the generic kernels.
var armTypes = []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q5_0, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16,
	quant.IQ4_NL, quant.Q4_1, quant.Q5_1, quant.Q3_K, quant.Q2_K, quant.IQ4_XS, quant.BF16}

func implNamed(t *testing.T, name string) *impl {
	t.Helper()
	for _, im := range impls {
		if im.name == name {
			return im
		}
	}
	t.Fatalf("no implementation %q compiled in", name)
	return nil
}

// TestArm64Selection checks the feature detection and the choice of path:
// neon everywhere (Go's arm64 baseline), dotprod exactly where cpuid
// reports ASIMDDP, i8mm where it also reports I8MM, the best one by
// default, and EDGEAI_KERNELS values. Under qemu-user, -cpu max has
// dotprod and i8mm, -cpu cortex-a76 dotprod only and -cpu cortex-a72
// neither.
func TestArm64Selection(t *testing.T) {
	neon, dp, i8 := implNamed(t, "neon"), implNamed(t, "dotprod"), implNamed(t, "i8mm")
	if !neon.available {
		t.Error("neon not available on arm64")
	}
	if dp.available != cpuid.CPU.Supports(cpuid.ASIMDDP) {
		t.Errorf("dotprod available = %v, cpuid ASIMDDP = %v", dp.available, cpuid.CPU.Supports(cpuid.ASIMDDP))
	}
	if i8.available != (dp.available && cpuid.CPU.Supports(cpuid.I8MM)) {
		t.Errorf("i8mm available = %v, cpuid I8MM = %v", i8.available, cpuid.CPU.Supports(cpuid.I8MM))
	}
	want := neon
	if dp.available {
		want = dp
	}
	if i8.available {
		want = i8
	}
	if im, note := choose(""); im != want || note != "" {
		t.Errorf("choose(\"\") = %s %q, want %s", im.name, note, want.name)
	}
	if im, note := choose("NEON"); im != neon || note != "" {
		t.Errorf("choose(NEON) = %s %q, want neon", im.name, note)
	}
	im, note := choose("dotprod")
	if dp.available && (im != dp || note != "") || !dp.available && (im != neon || note == "") {
		t.Errorf("choose(dotprod) = %s %q (dotprod available: %v)", im.name, note, dp.available)
	}
	im, note = choose("i8mm")
	if i8.available && (im != i8 || note != "") || !i8.available && (im != want || note == "") {
		t.Errorf("choose(i8mm) = %s %q (i8mm available: %v)", im.name, note, i8.available)
	}
	if im, note := choose("avx2"); im != want || note == "" {
		t.Errorf("choose(avx2) = %s %q, want %s with a note", im.name, note, want.name)
	}
	for _, im := range []*impl{neon, dp, i8} {
		for _, typ := range armTypes {
			if !im.exact[typ] {
				t.Errorf("%s %v not marked exact", im.name, typ)
			}
		}
	}
	t.Logf("cpuid: %s; chosen: %s", cpuFeatures(), Features())
}

// armImpls returns the available arm64 implementations.
func armImpls(t *testing.T) []*impl {
	out := testImpls(t)[1:]
	if len(out) == 0 {
		t.Fatal("no arm64 implementation available")
	}
	return out
}

// TestArm64FloatLengths compares Dot, Axpy, Scale and the F16 and BF16 dot
// products with the generic ones bit for bit at every length up to 80 (all
// the vector loops' remainders) and at unaligned addresses.
func TestArm64FloatLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	g := impls[0]
	for _, im := range armImpls(t) {
		for n := 0; n <= 80; n++ {
			a, b := randFloats(r, n+1, 1)[1:], randFloats(r, n, 1) // a: 4 bytes off a 16-byte boundary
			if got, want := im.dot(a, b), g.dot(a, b); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s Dot n=%d: %g, generic %g", im.name, n, got, want)
			}
			alpha := float32(r.NormFloat64())
			d1, d2 := append([]float32(nil), b...), append([]float32(nil), b...)
			im.axpy(d1, alpha, a)
			g.axpy(d2, alpha, a)
			im.scale(a, alpha)
			for i := range d1 {
				if math.Float32bits(d1[i]) != math.Float32bits(d2[i]) {
					t.Fatalf("%s Axpy n=%d [%d]: %g, generic %g", im.name, n, i, d1[i], d2[i])
				}
			}
			for _, typ := range []quant.Type{quant.F16, quant.BF16} {
				if n == 0 {
					break
				}
				w := randomBlocks(r, typ, n)
				x := randomBlocks(r, typ, n+1)[2:]
				if got, want := im.vecDot[typ](n, w, x), g.vecDot[typ](n, w, x); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %v n=%d: %g, generic %g", im.name, typ, n, got, want)
				}
			}
		}
	}
}

// TestArm64ScaleInPlace checks Scale against the generic one, in place, at
// every length up to 40.
func TestArm64ScaleInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, im := range armImpls(t) {
		for n := 0; n <= 40; n++ {
			x := randFloats(r, n, 1)
			y := append([]float32(nil), x...)
			s := float32(r.NormFloat64())
			im.scale(x, s)
			scaleGeneric(y, s)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
					t.Fatalf("%s Scale n=%d [%d]: %g, generic %g", im.name, n, i, x[i], y[i])
				}
			}
		}
	}
}

// TestArm64Unaligned runs the quantized dot products on rows at odd
// addresses (a GGUF row need not be aligned) and checks them bit for bit
// against the generic kernels on the same bytes.
func TestArm64Unaligned(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	g := impls[0]
	for _, im := range armImpls(t) {
		for _, typ := range armTypes {
			at := ActivationType(typ)
			n := 5 * blockSize(typ)
			if typ == quant.F16 || typ == quant.BF16 {
				n = 45
			}
			for _, off := range []int{1, 3} {
				w := append(make([]byte, off), randomBlocks(r, typ, n)...)[off:]
				a := append(make([]byte, off+1), randomActivation(r, at, n)...)[off+1:]
				if got, want := im.vecDot[typ](n, w, a), g.vecDot[typ](n, w, a); math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %v offset %d: %g, generic %g", im.name, typ, off, got, want)
				}
			}
		}
	}
}

// TestArm64Extremes checks the integer sums at their limits: all quants
// and activations at their most negative or largest values and the largest
// 6-bit K-quant scales, where a lane that overflowed or a product that
// saturated would show.
func TestArm64Extremes(t *testing.T) {
	g := impls[0]
	for _, im := range armImpls(t) {
		for _, typ := range armTypes {
			if typ == quant.F16 || typ == quant.BF16 {
				continue
			}
			at := ActivationType(typ)
			n := 2 * blockSize(typ)
			for _, fill := range []struct{ w, a byte }{{0xff, 0x80}, {0x00, 0x80}, {0xff, 0x7f}, {0x00, 0x7f}, {0x55, 0x80}, {0x80, 0x80}, {0x80, 0x7f}} {
				w := randomBlocks(rand.New(rand.NewPCG(1, 1)), typ, n)
				a := randomActivation(rand.New(rand.NewPCG(2, 2)), at, n)
				keep := map[quant.Type][2]int{ // the scale bytes of each block to keep
					quant.Q8_0: {0, 2}, quant.Q4_0: {0, 2}, quant.Q5_0: {0, 2},
					quant.Q4_K: {0, 4}, quant.Q5_K: {0, 4}, quant.Q6_K: {208, 210},
					quant.IQ4_NL: {0, 2}, quant.Q4_1: {0, 4}, quant.Q5_1: {0, 4},
					quant.Q3_K: {108, 110}, quant.Q2_K: {80, 84}, quant.IQ4_XS: {0, 2},
				}[typ]
				bb := layouts[typ].bb
				for i := range w {
					if o := i % bb; o < keep[0] || o >= keep[1] {
						w[i] = fill.w
					}
				}
				abb := layouts[at].bb
				for i := range a {
					o := i % abb
					switch {
					case at == quant.Q8_0 && o >= 2, at == quant.Q8_1 && o >= 4, at == quant.Q8_K && o >= 4 && o < 260:
						a[i] = fill.a
					}
				}
				if at == quant.Q8_K { // consistent bsums
					for blk := 0; blk < n/256; blk++ {
						for j := range 16 {
							putU16(a[blk*292+260+2*j:], uint16(int16(16*int32(int8(fill.a)))))
						}
					}
				}
				got, want := im.vecDot[typ](n, w, a), g.vecDot[typ](n, w, a)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("%s %v fill %#x/%#x: %g, generic %g", im.name, typ, fill.w, fill.a, got, want)
				}
			}
		}
	}
}

// TestArm64PackedGemv calls every arm64 packed kernel directly on one
// packed group (one to nine block columns, random bytes and the extreme
// fills of TestArm64Extremes) and compares it bit for bit with the generic
// packedGroup; the sixteenth output, past the group, must stay untouched.
func TestArm64PackedGemv(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	for _, im := range armImpls(t) {
		for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0} {
			gemv := im.packGemv[typ]
			if gemv == nil {
				continue
			}
			for nb := 1; nb <= 9; nb++ {
				cols := 32 * nb
				for fill := range 4 {
					w := randomBlocks(r, typ, packRows*cols)
					a := randomActivation(r, quant.Q8_0, cols)
					bs := layouts[typ].bb
					for i := range w {
						if i%bs >= 2 && fill > 0 {
							w[i] = []byte{0, 0xff, 0x88, 0x80}[fill]
						}
					}
					for i := range a {
						if i%34 >= 2 && fill > 0 {
							a[i] = []byte{0, 0x80, 0x7f, 0x80}[fill]
						}
					}
					p := make([]byte, len(w))
					Pack(typ, p, w, packRows, cols)
					var want [packRows]float32
					packedGroup(typ, nb, p, a, want[:])
					var got [packRows + 1]float32
					got[packRows] = 42
					gemv(nb, &p[0], &a[0], &got[0])
					for row := range packRows {
						if math.Float32bits(got[row]) != math.Float32bits(want[row]) {
							t.Fatalf("%s %v nb=%d fill %d row %d: %g, generic %g", im.name, typ, nb, fill, row, got[row], want[row])
						}
					}
					if got[packRows] != 42 {
						t.Fatalf("%s %v nb=%d: wrote past the group", im.name, typ, nb)
					}
				}
			}
		}
	}
}

// TestArm64PackedTile calls every arm64 packed prompt kernel directly on
// one packed group, for one to five activation rows (odd counts take the
// last row twice) with random bytes and extreme fills, and compares each
// product bit for bit with the generic packedGroup; outputs outside the
// fifteen rows and the n activation rows must stay untouched.
func TestArm64PackedTile(t *testing.T) {
	r := rand.New(rand.NewPCG(69, 70))
	tested := false
	for _, im := range armImpls(t) {
		for _, typ := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q5_0} {
			tile := im.packTile[typ]
			if tile == nil {
				continue
			}
			tested = true
			for _, nb := range []int{1, 2, 7} {
				cols := 32 * nb
				for n := 1; n <= 5; n++ {
					for fill := range 4 {
						w := randomBlocks(r, typ, packRows*cols)
						ab := mustRowBytes(t, quant.Q8_0, cols)
						a := make([]byte, n*ab)
						for j := range n {
							copy(a[j*ab:], randomActivation(r, quant.Q8_0, cols))
						}
						bs := layouts[typ].bb
						for i := range w {
							if i%bs >= 2 && fill > 0 {
								w[i] = []byte{0, 0xff, 0x88, 0x00}[fill]
							}
						}
						for i := range a {
							if i%34 >= 2 && fill > 0 {
								a[i] = []byte{0, 0x80, 0x7f, 0x80}[fill]
							}
						}
						p := make([]byte, len(w))
						Pack(typ, p, w, packRows, cols)
						ldo := packRows + 3
						got := make([]float32, (n+1)*ldo)
						for i := range got {
							got[i] = 42
						}
						for j := range n {
							clear(got[j*ldo : j*ldo+packRows])
						}
						tile(nb, &p[0], &a[0], ab, n, &got[0], ldo)
						for j := range n {
							var want [packRows]float32
							packedGroup(typ, nb, p, a[j*ab:(j+1)*ab], want[:])
							for row := range packRows {
								if g := got[j*ldo+row]; math.Float32bits(g) != math.Float32bits(want[row]) {
									t.Fatalf("%s %v nb=%d n=%d fill %d: out[%d][%d] = %g, generic %g", im.name, typ, nb, n, fill, j, row, g, want[row])
								}
							}
							for i := j*ldo + packRows; i < (j+1)*ldo; i++ {
								if got[i] != 42 {
									t.Fatalf("%s %v nb=%d n=%d: wrote out[%d] outside the group", im.name, typ, nb, n, i)
								}
							}
						}
						for i := n * ldo; i < len(got); i++ {
							if got[i] != 42 {
								t.Fatalf("%s %v nb=%d n=%d: wrote out[%d] past the activation rows", im.name, typ, nb, n, i)
							}
						}
					}
				}
			}
		}
	}
	if !tested {
		t.Skip("no packed prompt kernel on this CPU's paths")
	}
}
