package kernels

import (
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/quant"
)

// TestForcedPathDecides checks that what the kernels do follows the path in
// use, never the CPU alone: with a path forced (UseImpl here, as
// EDGEAI_KERNELS does at init), the float32 matrix product, the packing
// decision and the matrix kernels are that path's, so that forcing avx2 on
// an AVX-512 machine measures what an AVX2 laptop runs.
func TestForcedPathDecides(t *testing.T) {
	for _, im := range testImpls(t) {
		restore := UseImpl(im.name)
		g := CurrentSgemm()
		switch {
		case im.name == "generic" && g.Name() != "generic":
			t.Errorf("generic path: SGEMM %s", g.Name())
		case im.sgemm != "" && g.Name() != im.sgemm:
			t.Errorf("%s path: SGEMM %s, want %s", im.name, g.Name(), im.sgemm)
		}
		for typ := range numTypes {
			if PackPays(quant.Type(typ)) != (im.packGemv[typ] != nil) {
				t.Errorf("%s path: PackPays(%v) = %v", im.name, quant.Type(typ), PackPays(quant.Type(typ)))
			}
		}
		if Path() != im.name {
			t.Errorf("UseImpl(%s): Path() = %s", im.name, Path())
		}
		restore()
	}
}

// TestChoosePath checks EDGEAI_KERNELS's parsing: every path this CPU runs
// is chosen by its name, a path it lacks falls back with a note naming
// it, and a name of no path says so.
func TestChoosePath(t *testing.T) {
	for _, im := range impls {
		got, note := choose(" " + strings.ToUpper(im.name) + " ")
		if im.available {
			if got != im || note != "" {
				t.Errorf("choose(%s) = %s, %q", im.name, got.name, note)
			}
			continue
		}
		if got.name == im.name || !strings.Contains(note, im.name) || !strings.Contains(note, "lacks") {
			t.Errorf("choose(%s) on a CPU without it = %s, %q", im.name, got.name, note)
		}
		t.Logf("kernel path %s: not supported by this CPU (%s)", im.name, note)
	}
	if _, note := choose("avx9000"); !strings.Contains(note, "not a kernel path") {
		t.Errorf("choose(avx9000): note %q", note)
	}
}
