// Package kernels holds the hot-path arithmetic of edgeai's models: dot
// products of quantized weight rows with quantized activations (the way ggml's
// CPU backend computes them), the matrix product built on them, and the small
// float32 vector operations (RMSNorm, softmax, SwiGLU, ...) of a transformer.
//
// One implementation ("path") is chosen once at init from the CPU's features:
// the generic pure-Go path everywhere, and assembly paths where the CPU has
// the instructions. On amd64:
//
//   - avx2 (AVX2+FMA+F16C, Haswell and Zen 1 on): dot products for Q8_0,
//     Q4_0, Q5_0, IQ4_NL, Q4_K, Q5_K, Q6_K (bit-identical to generic) and
//     F16 (float32 lanes, within tolerance); the Q8_0 and Q8_K activation
//     quantizers (byte-identical); float32 Dot, Axpy, Scale, AttnDot,
//     AttnValues, and both over an F16 KV cache (AttnDotF16, AttnValuesF16,
//     VCVTPH2PS) (bit-identical); and kernels over weights in the packed
//     layout (Pack, MatMulPacked) for Q4_0, Q8_0, Q5_0, IQ4_NL, Q4_K,
//     Q5_K, Q6_K, a matrix-vector kernel for decoding and a tile for
//     prompts each (VPMADDUBSW and VPMADDWD): for Q4_0, fifteen weight rows
//     in the lanes times all activation rows; for Q8_0, Q5_0 and IQ4_NL,
//     eight weight rows in the lanes (their quads transposed once into a
//     scratch, the next group prefetched) times all activation rows, two
//     at a time; for the K-quants sixteen rows in
//     dword lanes (two vectors of eight) times four activation rows, their
//     6-bit scales unpacked for all sixteen at once.
//   - avxvnni (also AVX-VNNI: Intel Alder Lake and later laptops, Zen 5):
//     the avx2 path with VPDPBUSD and VPDPWSSD (VEX-encoded, 256-bit) in
//     the packed kernels. The Go assembler knows only the EVEX encodings
//     of these instructions, which need AVX-512 VL, so the kernels are
//     written by kernels/_gen, which emits the VEX forms as BYTE directives
//     (the mnemonic in a comment) and the avx2 and avxvnni versions of each
//     kernel from one source.
//   - avx512 (also AVX-512 F/BW/VL and AVX512-VNNI): everything of avx2
//     but its packed 32-value kernels, plus VPDPBUSD MatMul tiles for
//     Q8_0, Q4_0, Q5_0 and IQ4_NL (4 weight rows x 2 activation rows, 8 x 1
//     when decoding; for Q4_0 prompts, up to 15 weight rows in the lanes x
//     all activation rows; 4 x 4 for Q8_0, Q5_0, IQ4_NL prompts), AVX-512
//     BW dot products for Q4_K and Q6_K (two 32-value sub-blocks per
//     instruction), packed kernels for Q4_0, Q5_0, Q8_0 (fifteen rows
//     interleaved block by block, one memory stream per product) and for
//     Q4_K, Q5_K, Q6_K (the avx2 kernels' arithmetic on sixteen rows per
//     vector, VPDPWSSD for the scales), and AttnDot, AttnValues, SwiGLU and
//     Softmax's exponentials (ggml's vector expf) in AVX-512; all
//     bit-identical to generic. Its Q4_K and Q6_K prompt tiles take eight
//     activation rows and three multiplying instructions per pair of
//     32-value sub-blocks where the four-row tiles take four and six
//     (VPDPBUSD quad sums, two per VPDPWSSD through biased 16-bit words;
//     packk8_amd64.go). (AMX is not used: no machine here has it.)
//
// On arm64 (cpu_arm64.go):
//
//   - neon (Advanced SIMD, every arm64 CPU): dot products for Q8_0, Q4_0,
//     Q5_0, Q4_1, Q5_1, IQ4_NL, IQ4_XS, Q2_K-Q6_K, F16 and BF16 (SDOT
//     emulated with widening multiplies), 4-row MatMul tiles for Q8_0,
//     Q4_0, Q5_0 and IQ4_NL, kernels for Q4_0 and Q8_0 weights in the
//     packed layout, the activation quantizers, the float32 vector
//     routines, AttnDot, AttnValues, SwiGLU and Softmax's exponentials.
//   - dotprod (ARMv8.2 SDOT): the same with SDOT.
//   - i8mm (ARMv8.6 SMMLA): dotprod plus an SMMLA prompt kernel for packed
//     Q4_0.
//
// All are bit-identical to generic (tested under qemu-user as a
// Cortex-A72, a Cortex-A76 and qemu's max CPU).
//
// The other kernels of a path are the generic ones. What a path does is
// decided by the path alone, never by the CPU's other features (the packing
// of weights, PackPays; the float32 product, CurrentSgemm), so that forcing
// avx2 on an AVX-512 machine runs what an AVX2 laptop runs. The environment
// variable EDGEAI_KERNELS (generic, avx2, avxvnni, avx512, neon, dotprod,
// i8mm) forces a path; an unavailable one falls back to the best available,
// and Features says so. The build tag purego leaves only the generic path.
//
// The matrix kernels take activation rows as QuantizeActivation writes
// them: their int8 quants are in [-127, 127], which the avx2 Q8_0 and
// IQ4_NL kernels rely on (VPMADDUBSW of |w| and a·sign(w)).
//
// The functions in this package are called per matrix row or per vector, so
// they do not return errors: their callers (models/nn, the architectures)
// check shapes and types when a model is loaded (see Check), and a slice of
// the wrong length here is a programmer error that panics with a message
// naming the function. MatMul and VecDot never allocate.
package kernels

import (
	"fmt"
	"os"
	"strings"

	"github.com/edgeai-go/edgeai/quant"
)

// numTypes bounds the quant.Type ids the kernel tables are indexed by.
const numTypes = int(quant.BF16) + 1

// vecDotFunc computes the dot product of n values (a whole number of blocks):
// w holds them in a weight type, a in that type's activation type.
type vecDotFunc func(n int, w, a []byte) float32

// tileFunc computes a tile of dot products of nb blocks: for the halves h =
// 0, 1, the four weight rows at wh, wh+rb, wh+2rb, wh+3rb times the
// activation row ah, written to outh[0..3]. MatMul calls it with w1 = w0 and
// two activation rows when prompting, and with w1 = w0+4rb and a1 = a0 when
// decoding; the halves may also be identical.
type tileFunc func(nb int, w0, w1 *byte, rb int, a0, a1 *byte, out0, out1 *float32)

// rowsPerTile is the most weight rows a tileRowsFunc takes.
const rowsPerTile = 15

// tileRowsFunc adds to out[j·ldo + r] the dot products of nb blocks of the
// weight rows r < rows (rows <= rowsPerTile) at w + r·rb and the n
// activation rows at a + j·ab; out starts at zero. It may read all
// rowsPerTile rows, so they must exist.
type tileRowsFunc func(nb int, w *byte, rb int, a *byte, ab, n int, out *float32, ldo, rows int)

// tile4x4Func writes to out[j·ldo + r] the dot products of nb blocks of the
// four weight rows at w + r·rb and the four activation rows at a + j·ab.
type tile4x4Func func(nb int, w *byte, rb int, a *byte, ab int, out *float32, ldo int)

// quantizeFunc converts x into dst in an activation type; dst has exactly the
// row size of len(x) values.
type quantizeFunc func(x []float32, dst []byte)

// impl is one implementation of the kernels. A nil entry of an assembly
// implementation means "use the generic one" and is filled in at init.
type impl struct {
	name      string // the EDGEAI_KERNELS name
	available bool   // the CPU (and build) can run it
	sgemm     string // the float32 matrix product this path uses (CurrentSgemm); "" for the best available

	vecDot   [numTypes]vecDotFunc
	quantize [numTypes]quantizeFunc
	exact    [numTypes]bool // vecDot[t] is bit-identical to the generic one (tested)

	// tile[t], if set, computes MatMul's products four weight rows at a time
	// (see tileFunc), bit-identical to vecDot[t].
	tile [numTypes]tileFunc

	// tileRows[t], if set, computes MatMul's products for rowsPerTile weight
	// rows and
	// any number of activation rows (see tileRowsFunc), bit-identical to
	// vecDot[t]; MatMul uses it when prompting.
	tileRows [numTypes]tileRowsFunc

	// tile4x4[t], if set, computes MatMul's products for 4 weight rows and
	// 4 activation rows (see tile4x4Func), bit-identical to vecDot[t].
	tile4x4 [numTypes]tile4x4Func

	// packGemv[t] and packTile[t], if set, multiply weights in the packed
	// layout (pack.go) by one activation row and by many, bit-identical to
	// vecDot[t]; PackPays(t) reports whether packGemv[t] is set.
	packGemv [numTypes]packGemvFunc
	packTile [numTypes]packTileFunc
	// packTileMin[t], if set, is the fewest activation rows MatMulPacked
	// gives packTile[t] (0: minTileRowsActs); fewer go through packGemv[t]
	// row by row.
	packTileMin [numTypes]int

	dot   func(a, b []float32) float32
	axpy  func(dst []float32, alpha float32, x []float32)
	scale func(x []float32, s float32)

	// ggml's float routines (ggml.go), bit-identical on every path
	attnDot    func(q, k []float32) float32
	attnValues func(out, p, v []float32, stride int)
	// the same over an F16 KV cache (attn_kv.go)
	attnDotF16 func(q []float32, k []uint16) float32
	swiglu     func(dst, gate, up []float32)
	softmaxExp func(x []float32, mx float32) float64 // Softmax's exponentials, whole groups of 16
}

// impls lists every implementation compiled in, generic first, then the
// assembly paths from the least to the most capable (see archImpls).
var impls []*impl

// cur is the implementation in use, chosen once at init.
var cur *impl

// pathNote explains a fallback from the path EDGEAI_KERNELS asked for.
var pathNote string

func init() {
	impls = append([]*impl{genericImpl()}, archImpls()...)
	g := impls[0]
	for _, im := range impls[1:] {
		for t := range numTypes {
			if im.vecDot[t] == nil {
				im.vecDot[t], im.exact[t] = g.vecDot[t], true
			}
			if im.quantize[t] == nil {
				im.quantize[t] = g.quantize[t]
			}
		}
		if im.dot == nil {
			im.dot = g.dot
		}
		if im.axpy == nil {
			im.axpy = g.axpy
		}
		if im.scale == nil {
			im.scale = g.scale
		}
		if im.attnDot == nil {
			im.attnDot = g.attnDot
		}
		if im.attnValues == nil {
			im.attnValues = g.attnValues
		}
		if im.attnDotF16 == nil {
			im.attnDotF16 = g.attnDotF16
		}
		if im.swiglu == nil {
			im.swiglu = g.swiglu
		}
		if im.softmaxExp == nil {
			im.softmaxExp = g.softmaxExp
		}
	}
	cur, pathNote = choose(os.Getenv("EDGEAI_KERNELS"))
}

// pathNames are the values EDGEAI_KERNELS may take, whether or not this
// build has them.
var pathNames = []string{"generic", "avx2", "avxvnni", "avx512", "neon", "dotprod", "i8mm"}

// choose returns the implementation named by want (the value of
// EDGEAI_KERNELS), or the most capable available one when want is empty,
// unknown or not available here, with a note saying why.
func choose(want string) (*impl, string) {
	best := impls[0]
	for _, im := range impls {
		if im.available {
			best = im
		}
	}
	want = strings.ToLower(strings.TrimSpace(want))
	if want == "" {
		return best, ""
	}
	for _, im := range impls {
		if im.name == want {
			if im.available {
				return im, ""
			}
			return best, fmt.Sprintf("EDGEAI_KERNELS=%s: this CPU lacks the instructions; using %s", want, best.name)
		}
	}
	for _, name := range pathNames {
		if name == want {
			return best, fmt.Sprintf("EDGEAI_KERNELS=%s: not built for this architecture (or purego); using %s", want, best.name)
		}
	}
	return best, fmt.Sprintf("EDGEAI_KERNELS=%s is not a kernel path (%s); using %s", want, strings.Join(pathNames, ", "), best.name)
}

// Path returns the name of the kernel implementation in use: "generic" (pure
// Go), or an assembly path such as "avx2" once one is compiled in.
func Path() string { return cur.name }

// Features describes the chosen path for diagnostics (edgeai info): the path,
// the CPU features it relies on, and any EDGEAI_KERNELS fallback.
func Features() string {
	s := cur.name
	if f := cpuFeatures(); f != "" {
		s += " (cpu: " + f + ")"
	}
	if pathNote != "" {
		s += "; " + pathNote
	}
	return s
}

// Supported reports whether VecDot, MatMul and QuantizeActivation handle
// weights of type t.
func Supported(t quant.Type) bool {
	return int(t) < numTypes && cur.vecDot[t] != nil
}

// Check returns nil if the kernels can multiply weights of type t, or an error
// wrapping quant.ErrUnknownType or quant.ErrUnsupportedType. Models call it
// when they bind their weights, so that the hot path never meets such a type.
func Check(t quant.Type) error {
	if !t.Known() {
		return fmt.Errorf("kernels: %w: %d", quant.ErrUnknownType, uint32(t))
	}
	if !Supported(t) {
		return fmt.Errorf("kernels: %w: no dot product for %s weights", quant.ErrUnsupportedType, t)
	}
	return nil
}
