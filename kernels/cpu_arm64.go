//go:build !purego

package kernels

import (
	"strings"

	"github.com/edgeai-go/edgeai/quant"
	"github.com/klauspost/cpuid/v2"
)

// The arm64 CPU features the kernels use, read once (cpuid reads the
// kernel's HWCAP on Linux).
var (
	// hasASIMD: Advanced SIMD (NEON). Go's arm64 baseline (ARMv8.0-A)
	// includes it and the Go runtime itself uses it, so it is assumed
	// where cpuid cannot tell (an OS without HWCAP).
	hasASIMD = cpuid.CPU.Supports(cpuid.ASIMD) || !cpuid.CPU.Supports(cpuid.FP)
	// hasDotProd: SDOT/UDOT (ARMv8.2 dotprod, Cortex-A76 / Raspberry Pi 5).
	hasDotProd = hasASIMD && cpuid.CPU.Supports(cpuid.ASIMDDP)
	// hasI8MM: SMMLA and friends (ARMv8.6 I8MM: Cortex-A510/A710/X2 and
	// later, Neoverse V1/N2, Apple M2+ under Linux).
	hasI8MM = hasDotProd && cpuid.CPU.Supports(cpuid.I8MM)
)

// archImpls returns the arm64 assembly implementations, least capable
// first: neon (Advanced SIMD), dotprod (NEON plus SDOT) and i8mm (dotprod
// plus an SMMLA prompt kernel for packed Q4_0), each marked available if
// this CPU can run it. Both are bit-identical to the generic
// implementation for every kernel they provide (tested).
func archImpls() []*impl {
	neon := &impl{name: "neon", available: hasASIMD, dot: dotF32NEON, axpy: axpyF32NEON, scale: scaleF32NEON,
		attnDot: attnDotNEON, attnValues: attnValuesNEONGo, swiglu: swigluNEONGo, softmaxExp: softmaxExpNEONGo}
	neon.vecDot[quant.Q8_0] = dotQ8_0NEON
	neon.vecDot[quant.Q4_0] = dotQ4_0NEON
	neon.vecDot[quant.Q5_0] = dotQ5_0NEON
	neon.vecDot[quant.Q4_K] = dotQ4_KNEON
	neon.vecDot[quant.Q5_K] = dotQ5_KNEON
	neon.vecDot[quant.Q6_K] = dotQ6_KNEON
	neon.vecDot[quant.F16] = dotF16NEON
	neon.vecDot[quant.IQ4_NL] = dotIQ4_NLNEON
	neon.vecDot[quant.Q4_1] = dotQ4_1NEON
	neon.vecDot[quant.Q5_1] = dotQ5_1NEON
	neon.vecDot[quant.Q3_K] = dotQ3_KNEON
	neon.vecDot[quant.Q2_K] = dotQ2_KNEON
	neon.vecDot[quant.IQ4_XS] = dotIQ4_XSNEON
	neon.vecDot[quant.BF16] = dotBF16NEON
	neon.tile[quant.Q8_0] = tileQ8_0NEON
	neon.tile[quant.Q4_0] = tileQ4_0NEON
	neon.tile[quant.Q5_0] = tileQ5_0NEON
	neon.tile[quant.IQ4_NL] = tileIQ4_NLNEON
	neon.quantize[quant.Q8_0] = quantizeQ8_0NEON
	neon.quantize[quant.Q8_1] = quantizeQ8_1NEON
	neon.quantize[quant.Q8_K] = quantizeQ8_KNEON
	neon.packGemv[quant.Q4_0] = gemvQ4_0x15PNEON
	neon.packGemv[quant.Q8_0] = gemvQ8_0x15PNEON

	dp := &impl{name: "dotprod", available: hasDotProd, dot: dotF32NEON, axpy: axpyF32NEON, scale: scaleF32NEON,
		attnDot: attnDotNEON, attnValues: attnValuesNEONGo, swiglu: swigluNEONGo, softmaxExp: softmaxExpNEONGo}
	dp.vecDot = neon.vecDot
	dp.quantize = neon.quantize
	dp.tile[quant.Q8_0] = tileQ8_0SDOT
	dp.tile[quant.Q4_0] = tileQ4_0SDOT
	dp.tile[quant.Q5_0] = tileQ5_0SDOT
	dp.tile[quant.IQ4_NL] = tileIQ4_NLSDOT
	dp.vecDot[quant.Q8_0] = dotQ8_0SDOT
	dp.vecDot[quant.Q4_0] = dotQ4_0SDOT
	dp.vecDot[quant.Q5_0] = dotQ5_0SDOT
	dp.vecDot[quant.Q4_K] = dotQ4_KSDOT
	dp.vecDot[quant.Q5_K] = dotQ5_KSDOT
	dp.vecDot[quant.Q6_K] = dotQ6_KSDOT
	dp.vecDot[quant.IQ4_NL] = dotIQ4_NLSDOT
	dp.vecDot[quant.Q4_1] = dotQ4_1SDOT
	dp.vecDot[quant.Q5_1] = dotQ5_1SDOT
	dp.vecDot[quant.Q3_K] = dotQ3_KSDOT
	dp.vecDot[quant.Q2_K] = dotQ2_KSDOT
	dp.vecDot[quant.IQ4_XS] = dotIQ4_XSSDOT
	dp.packGemv[quant.Q4_0] = gemvQ4_0x15PSDOT
	dp.packGemv[quant.Q8_0] = gemvQ8_0x15PSDOT

	i8 := *dp
	i8.name, i8.available = "i8mm", hasI8MM
	i8.packTile[quant.Q4_0] = tileQ4_0x15PI8MM

	for _, im := range []*impl{neon, dp, &i8} {
		for _, t := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q5_0, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.F16,
			quant.IQ4_NL, quant.Q4_1, quant.Q5_1, quant.Q3_K, quant.Q2_K,
			quant.IQ4_XS, quant.BF16} {
			im.exact[t] = true
		}
	}
	return []*impl{neon, dp, &i8}
}

// cpuFeatures lists the CPU features the arm64 kernels look at.
func cpuFeatures() string {
	var f []string
	for _, c := range []struct {
		name string
		has  bool
	}{{"asimd", hasASIMD}, {"asimddp", hasDotProd}, {"i8mm", hasI8MM}} {
		if c.has {
			f = append(f, c.name)
		}
	}
	return strings.Join(f, " ")
}
