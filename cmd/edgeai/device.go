package main

import (
	"context"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/runtime/energy"
	"github.com/klauspost/cpuid/v2"
)

func init() { infoNoFile = writeDevice }

// deviceFeatures are the CPU features the kernels may use, by architecture,
// with the names users know them by.
var deviceFeatures = map[string][]struct {
	id   cpuid.FeatureID
	name string
}{
	"amd64": {{cpuid.AVX2, "AVX2"}, {cpuid.FMA3, "FMA"}, {cpuid.F16C, "F16C"}, {cpuid.AVX512F, "AVX-512F"}, {cpuid.AVX512BW, "AVX-512BW"},
		{cpuid.AVX512VL, "AVX-512VL"}, {cpuid.AVX512VNNI, "AVX-512 VNNI"}, {cpuid.AVXVNNI, "AVX-VNNI"}},
	"arm64": {{cpuid.ASIMD, "ASIMD"}, {cpuid.ASIMDDP, "ASIMDDP (dotprod)"}, {cpuid.ASIMDHP, "ASIMDHP"}, {cpuid.I8MM, "I8MM"}, {cpuid.SVE, "SVE"}},
}

// hostSystem returns the energy.System of this machine.
func hostSystem() *energy.System { return energy.Host(cpuid.CPU.BrandName, cpuid.CPU.VM()) }

// writeDevice is "edgeai info" without a file: the CPU, its features, the
// kernels chosen and the power meters found.
func writeDevice(w io.Writer) error {
	ew := &infoErrWriter{w: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format, a...) }
	c := cpuid.CPU
	brand := c.BrandName
	sys := hostSystem()
	if brand == "" {
		brand = sys.CPUBrand
	}
	if brand == "" {
		brand = "(unknown)"
	}
	p("platform:      %s/%s, %d logical CPUs usable (Go %s)\n", goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goruntime.Version())
	p("cpu:           %s\n", brand)
	if c.VendorString != "" {
		p("vendor:        %s, family %d model %d\n", c.VendorString, c.Family, c.Model)
	}
	if c.PhysicalCores > 0 {
		p("cores:         %d physical, %d threads per core, %d logical (cpuid)\n", c.PhysicalCores, c.ThreadsPerCore, c.LogicalCores)
	}
	if c.VM() {
		hv := c.HypervisorVendorString
		if hv == "" {
			hv = "a hypervisor"
		}
		p("virtualised:   yes (%s); cpuid's core counts may be the host's\n", hv)
	}
	if feats, ok := deviceFeatures[goruntime.GOARCH]; ok {
		var have, lack []string
		for _, f := range feats {
			if c.Supports(f.id) {
				have = append(have, f.name)
			} else {
				lack = append(lack, f.name)
			}
		}
		p("features:      %s\n", orNone(strings.Join(have, " ")))
		if len(lack) > 0 {
			p("missing:       %s\n", strings.Join(lack, " "))
		}
	}
	p("kernels:       %s\n", kernels.Features())
	if v := os.Getenv("EDGEAI_KERNELS"); v != "" {
		p("               (EDGEAI_KERNELS=%s)\n", v)
	}
	p("power meters:\n")
	cands := sys.Detect(context.Background())
	best, err := energy.Select(cands, "")
	for _, cand := range cands {
		mark := " "
		if best != nil && cand.Meter == best {
			mark = "*"
		}
		if cand.Meter != nil {
			p("  %s %s\n", mark, cand.Info)
		} else {
			p("    %s: unusable: %v\n", cand.Info.Name, cand.Problem)
		}
	}
	if err != nil {
		p("  no usable meter: %v\n", err)
	} else {
		p("  (* = used by edgeai bench unless --power-meter NAME, --watts W or --tdp W says otherwise)\n")
	}
	return ew.err
}

func orNone(s string) string {
	if s == "" {
		return "(none of those the kernels use)"
	}
	return s
}
