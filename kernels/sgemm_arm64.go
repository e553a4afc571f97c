//go:build !purego

package kernels

// sgemmArch returns the arm64 SGEMM implementations: NEON (every ARMv8-A
// CPU has it; hasASIMD is false only where the kernel path is forced off).
func sgemmArch() []*Sgemm {
	return []*Sgemm{{name: "neon", mr: 8, nr: 8, kind: microKindNEON, available: hasASIMD}}
}

func microArch(kind, k int, a, b, c []float32, ldc int, load bool) {
	if kind != microKindNEON {
		panic("kernels: no SGEMM micro kernel of kind " + itoa(kind))
	}
	sgemmMicroNEON(k, &a[0], &b[0], &c[0], ldc, load)
}

func microOffsArch(kind, k int, a, b []float32, offs []int, c []float32, ldc int, load bool) {
	if kind != microKindNEON {
		panic("kernels: no SGEMM micro kernel of kind " + itoa(kind))
	}
	sgemmMicroOffsNEON(k, &a[0], &b[0], &offs[0], &c[0], ldc, load)
}

// sgemmMicroNEON is the 8×8 micro kernel (see microGeneric for its meaning):
// k steps of 16 fused multiply-adds of 4 lanes.
//
//go:noescape
func sgemmMicroNEON(k int, a, b, c *float32, ldc int, load bool)

// sgemmMicroOffsNEON is sgemmMicroNEON reading row p of B at b+offs[p].
//
//go:noescape
func sgemmMicroOffsNEON(k int, a, b *float32, offs *int, c *float32, ldc int, load bool)
