//go:build !purego

package kernels

import (
	"strings"

	"github.com/edgeai-go/edgeai/quant"
	"github.com/klauspost/cpuid/v2"
)

// hasAVX2 is true on CPUs with AVX2, FMA and F16C (Haswell, Zen and later):
// what the avx2 kernels use.
var hasAVX2 = cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C)

// hasAVXVNNI is true on CPUs that also have AVX-VNNI, the VEX-encoded
// VPDPBUSD on 256-bit registers (Intel Alder Lake and later client cores,
// Sapphire Rapids, AMD Zen 5): what the avxvnni kernels use.
var hasAVXVNNI = hasAVX2 && cpuid.CPU.Supports(cpuid.AVXVNNI)

// hasAVX512 is true on CPUs that also have AVX-512 F, BW and VL and
// AVX512-VNNI (Ice Lake, Zen 4 and later): what the avx512 kernels use.
var hasAVX512 = hasAVX2 && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512VNNI)

// archImpls returns the amd64 assembly implementations, least capable first,
// each marked available if this CPU can run it.
func archImpls() []*impl {
	avx2 := &impl{name: "avx2", available: hasAVX2, sgemm: "avx2", dot: dotF32AVX2, axpy: axpyF32AVX2, scale: scaleF32AVX2,
		attnDot: attnDotAVX2, attnValues: attnValuesAVX2Go,
		attnDotF16: attnDotF16AVX2, swiglu: swigluAVX2Go, softmaxExp: softmaxExpAVX2Go}
	avx2.vecDot[quant.Q8_0] = dotQ8_0AVX2
	avx2.vecDot[quant.Q4_0] = dotQ4_0AVX2
	avx2.vecDot[quant.F16] = dotF16AVX2
	avx2.vecDot[quant.Q4_K] = dotQ4_KAVX2
	avx2.vecDot[quant.Q6_K] = dotQ6_KAVX2
	avx2.vecDot[quant.Q5_0] = dotQ5_0AVX2
	avx2.vecDot[quant.IQ4_NL] = dotIQ4_NLAVX2
	avx2.vecDot[quant.Q5_K] = dotQ5_KAVX2
	avx2.exact[quant.Q5_K] = true
	avx2.exact[quant.Q5_0] = true
	avx2.exact[quant.IQ4_NL] = true
	avx2.quantize[quant.Q8_0] = quantizeQ8_0AVX2
	avx2.quantize[quant.Q8_K] = quantizeQ8_KAVX2
	avx2.exact[quant.Q8_0] = true
	avx2.exact[quant.Q4_0] = true
	avx2.exact[quant.Q4_K] = true // integer sums in assembly, float32 arithmetic as generic
	avx2.exact[quant.Q6_K] = true

	// avxvnni: the avx2 kernels, with VPDPBUSD (VEX) in the matrix
	// kernels.
	avxvnni := &impl{}
	*avxvnni = *avx2
	avxvnni.name, avxvnni.available = "avxvnni", hasAVXVNNI

	// Both: kernels over packed weights (packx_amd64.s).
	avx2.packGemv[quant.Q4_0], avx2.packTile[quant.Q4_0] = gemvQ4_0x15PAVX2, tileQ4_0PAVX2
	avx2.packGemv[quant.Q8_0], avx2.packTile[quant.Q8_0] = gemvQ8_0PAVX2, tileQ8_0LAVX2
	avxvnni.packGemv[quant.Q4_0], avxvnni.packTile[quant.Q4_0] = gemvQ4_0x15PAVXVNNI, tileQ4_0PAVXVNNI
	avxvnni.packGemv[quant.Q8_0], avxvnni.packTile[quant.Q8_0] = gemvQ8_0PAVXVNNI, tileQ8_0LAVXVNNI
	avx2.packGemv[quant.Q5_0], avx2.packTile[quant.Q5_0] = gemvQ5_0PAVX2, tileQ5_0LAVX2
	avxvnni.packGemv[quant.Q5_0], avxvnni.packTile[quant.Q5_0] = gemvQ5_0PAVXVNNI, tileQ5_0LAVXVNNI
	avx2.packGemv[quant.IQ4_NL], avx2.packTile[quant.IQ4_NL] = gemvIQ4_NLPAVX2, tileIQ4_NLLAVX2
	avxvnni.packGemv[quant.IQ4_NL], avxvnni.packTile[quant.IQ4_NL] = gemvIQ4_NLPAVXVNNI, tileIQ4_NLLAVXVNNI
	avx2.packGemv[quant.Q4_K], avx2.packTile[quant.Q4_K] = gemvQ4_KAVX2, tileQ4_KAVX2
	avx2.packGemv[quant.Q5_K], avx2.packTile[quant.Q5_K] = gemvQ5_KAVX2, tileQ5_KAVX2
	avx2.packGemv[quant.Q6_K], avx2.packTile[quant.Q6_K] = gemvQ6_KAVX2, tileQ6_KAVX2
	avxvnni.packGemv[quant.Q4_K], avxvnni.packTile[quant.Q4_K] = gemvQ4_KAVXVNNI, tileQ4_KAVXVNNI
	avxvnni.packGemv[quant.Q5_K], avxvnni.packTile[quant.Q5_K] = gemvQ5_KAVXVNNI, tileQ5_KAVXVNNI
	avxvnni.packGemv[quant.Q6_K], avxvnni.packTile[quant.Q6_K] = gemvQ6_KAVXVNNI, tileQ6_KAVXVNNI

	// avx512: the avx2 kernels, plus VNNI tiles of 4 weight rows x 2
	// activation rows (or 8 x 1) for MatMul.
	avx512 := &impl{name: "avx512", available: hasAVX512}
	*avx512 = *avx2
	avx512.name, avx512.available, avx512.sgemm = "avx512", hasAVX512, "avx512"
	avx512.tile[quant.Q8_0] = tileQ8_0VNNI
	avx512.tile[quant.Q4_0] = tileQ4_0VNNI
	avx512.tile[quant.Q5_0] = tileQ5_0VNNI
	avx512.tile[quant.IQ4_NL] = tileIQ4_NLVNNI
	avx512.tileRows[quant.Q4_0] = tileQ4_0x15VNNI
	avx512.tile4x4[quant.Q8_0] = tileQ8_0x4VNNI
	avx512.tile4x4[quant.Q5_0] = tileQ5_0x4VNNI
	avx512.tile4x4[quant.IQ4_NL] = tileIQ4_NLx4VNNI
	avx512.vecDot[quant.Q6_K] = dotQ6_KAVX512
	avx512.packGemv[quant.Q4_0] = gemvQ4_0x15PVNNI
	avx512.packTile[quant.Q4_0] = tileQ4_0x15P8 // eight activation rows at a time (pack8_amd64.go)
	avx512.packTileMin[quant.Q4_0] = 5          // from 5 rows, one eight-row pass costs less (pack8_amd64.go)
	// the packed matrix-vector kernels per activation row for Q8_0 and
	// Q5_0; no packed IQ4_NL kernels on avx512 (its file-layout tiles)
	avx512.packTile[quant.Q8_0], avx512.packTile[quant.Q5_0] = nil, nil
	avx512.packGemv[quant.IQ4_NL], avx512.packTile[quant.IQ4_NL] = nil, nil
	avx512.packGemv[quant.Q8_0] = gemvQ8_0x15P
	avx512.packGemv[quant.Q5_0] = gemvQ5_0x15P
	avx512.vecDot[quant.Q4_K] = dotQ4_KAVX512
	avx512.packGemv[quant.Q4_K], avx512.packTile[quant.Q4_K] = gemvQ4_KAVX512, tileQ4_KAVX512
	avx512.packGemv[quant.Q5_K], avx512.packTile[quant.Q5_K] = gemvQ5_KAVX512, tileQ5_KAVX512
	avx512.packGemv[quant.Q6_K], avx512.packTile[quant.Q6_K] = gemvQ6_KAVX512, tileQ6_KAVX512
	// the eight-row Q4_K and Q6_K tiles (packk8_amd64.go)
	avx512.packTile[quant.Q4_K], avx512.packTile[quant.Q6_K] = tileQ4_K8AVX512, tileQ6_K8AVX512
	avx512.attnDot = attnDotAVX512
	avx512.attnValues = attnValuesAVX512Go
	avx512.swiglu = swigluAVX512Go
	avx512.softmaxExp = softmaxExpAVX512Go
	return []*impl{avx2, avxvnni, avx512}
}

// cpuFeatures lists the CPU features the amd64 kernels look at.
func cpuFeatures() string {
	var f []string
	for _, id := range []cpuid.FeatureID{cpuid.AVX2, cpuid.FMA3, cpuid.F16C, cpuid.AVX512F,
		cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512VNNI, cpuid.AVXVNNI} {
		if cpuid.CPU.Supports(id) {
			f = append(f, strings.ToLower(id.String()))
		}
	}
	return strings.Join(f, " ")
}
