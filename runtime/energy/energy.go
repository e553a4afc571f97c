// Package energy measures the energy a computation takes on this device, with
// whatever meter the device has: Linux powercap RAPL counters, hwmon power and
// energy sensors, NVIDIA Jetson INA3221 rails, the Raspberry Pi 5 PMIC, a
// laptop battery while it discharges, a reading from an external meter, and,
// as the last resort, an estimate from the CPU's TDP and utilisation.
//
// Every Meter says what it measures (Info.Scope: package, board, wall, ...),
// how (Info.Method: a hardware counter or periodic samples) and whether the
// figure is measured or estimated (Info.Kind); callers must show that label
// next to every figure. Detect lists the meters of a System, usable or not,
// each unusable one with the reason (for example RAPL's root-only energy_uj);
// Select picks one by name or the best one found.
//
// The sysfs paths are read through System.Root, an fs.FS of the machine's "/",
// so that the meters are tested on fake trees under testdata that copy the
// kernel's file formats.
package energy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind tells whether a meter's figures are measured or estimated.
type Kind string

// The two kinds of meter.
const (
	Measured Kind = "measured" // read from a sensor or counter, or given by the user from one
	Estimate Kind = "estimate" // computed from a model (TDP x utilisation)
)

// Info describes a meter, for the user and for machine-readable output.
type Info struct {
	Name   string // unique, stable name usable with --power-meter: "rapl", "hwmon:amd_energy", "estimate", ...
	Kind   Kind
	Scope  string // what is measured: "cpu package", "board (PMIC rails)", "module input", "battery", ...
	Method string // how: "counter", "sampled every 500ms", "fixed reading", "model"
	Note   string // assumptions and what the figure misses
}

// String returns a one-line label such as "rapl (measured: cpu package, counter)".
func (i Info) String() string {
	s := fmt.Sprintf("%s (%s: %s, %s)", i.Name, i.Kind, i.Scope, i.Method)
	if i.Note != "" {
		s += "; " + i.Note
	}
	return s
}

// Measurement is the energy of one span of time.
type Measurement struct {
	Joules   float64
	Duration time.Duration
	Samples  int // readings taken (counter reads or power samples)
}

// Watts returns the mean power of the span (0 for an empty span).
func (m Measurement) Watts() float64 {
	if m.Duration <= 0 {
		return 0
	}
	return m.Joules / m.Duration.Seconds()
}

// Meter measures the energy of spans of time. A Meter may be used for one
// span at a time.
type Meter interface {
	// Info describes the meter.
	Info() Info
	// Start begins a span. Its Stop returns the energy since Start.
	Start() (Span, error)
}

// Span is a measurement in progress.
type Span interface {
	// Stop ends the span and returns its energy. It must be called exactly
	// once; it releases whatever Start acquired (a sampling goroutine).
	Stop() (Measurement, error)
}

// ErrNoMeter is returned by Select when no usable meter matches.
var ErrNoMeter = errors.New("energy: no usable power meter")

// ErrPermission wraps a meter that exists but cannot be read by this user.
var ErrPermission = errors.New("energy: permission denied")

// System is the machine the meters read. Host returns the real one; tests
// build one over a fixture tree.
type System struct {
	// Root is the machine's "/" (paths such as "sys/class/powercap" are read
	// from it).
	Root fs.FS
	// Command runs a program and returns its standard output (vcgencmd).
	// nil: no programs are run.
	Command func(ctx context.Context, name string, args ...string) ([]byte, error)
	// CPUTime returns the CPU time (user + system, all threads) this process
	// has used. nil: the estimate meter is not available.
	CPUTime func() (time.Duration, error)
	// NumCPU is the number of logical CPUs the process may use.
	NumCPU int
	// CPUBrand names the CPU (from cpuid or /proc/cpuinfo), for the TDP table.
	CPUBrand string
	// VM is true when the CPU reports a hypervisor.
	VM bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// SampleEvery overrides the sampling interval of sampled meters (tests);
	// 0 = each meter's own.
	SampleEvery time.Duration
}

// Host returns the System of this machine. brand and vm describe the CPU
// (the caller has cpuid); an empty brand is read from /proc/cpuinfo or the
// device tree where possible.
func Host(brand string, vm bool) *System {
	s := &System{Root: os.DirFS("/"), NumCPU: goruntime.NumCPU(), CPUBrand: brand, VM: vm, CPUTime: processCPUTime}
	s.Command = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		path, err := exec.LookPath(name)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, path, args...).Output()
	}
	if model := s.boardModel(); model != "" && (s.CPUBrand == "" || goruntime.GOARCH == "arm64" || goruntime.GOARCH == "arm") {
		s.CPUBrand = model
	}
	return s
}

func (s *System) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *System) every(own time.Duration) time.Duration {
	if s.SampleEvery > 0 {
		return s.SampleEvery
	}
	return own
}

// boardModel returns the device-tree model ("Raspberry Pi 5 Model B Rev 1.0"),
// or "".
func (s *System) boardModel() string {
	for _, p := range []string{"proc/device-tree/model", "sys/firmware/devicetree/base/model"} {
		if b, err := fs.ReadFile(s.Root, p); err == nil {
			return strings.TrimRight(strings.TrimSpace(string(b)), "\x00")
		}
	}
	return ""
}

// readString reads a small sysfs file and trims it.
func readString(fsys fs.FS, path string) (string, error) {
	b, err := fs.ReadFile(fsys, path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readInt reads a sysfs file holding one integer.
func readInt(fsys fs.FS, path string) (int64, error) {
	s, err := readString(fsys, path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("energy: %s: %q is not an integer", path, s)
	}
	return v, nil
}

// Candidate is a meter found on the System. Meter is nil when it cannot be
// used; Problem then says why (and what to do about it).
type Candidate struct {
	Info    Info
	Meter   Meter
	Problem error
}

// Detect lists the meters of s, best first: RAPL, Jetson INA3221, the
// Raspberry Pi 5 PMIC, hwmon energy counters, hwmon power sensors, a
// discharging battery, and the estimate. Meters that exist but cannot be used
// are listed with their Problem; meters that do not exist are not listed.
func (s *System) Detect(ctx context.Context) []Candidate {
	var out []Candidate
	out = append(out, s.detectRAPL()...)
	out = append(out, s.detectHwmon()...) // Jetson rails first, then energy, then power
	out = append(out, s.detectPi(ctx)...)
	out = append(out, s.detectBattery()...)
	slices.SortStableFunc(out, func(a, b Candidate) int { return priority(a.Info.Name) - priority(b.Info.Name) })
	if m, err := s.NewEstimate(0, ""); err == nil {
		out = append(out, Candidate{Info: m.Info(), Meter: m})
	} else {
		out = append(out, Candidate{Info: Info{Name: "estimate", Kind: Estimate, Scope: "cpu", Method: "model"}, Problem: err})
	}
	return out
}

// priority orders meters by how directly they measure a computation's energy.
func priority(name string) int {
	switch {
	case name == "rapl":
		return 0
	case name == "jetson":
		return 1
	case name == "pi5-pmic":
		return 2
	case strings.HasPrefix(name, "hwmon-energy:"):
		return 3
	case strings.HasPrefix(name, "hwmon:"):
		return 4
	case strings.HasPrefix(name, "battery:"):
		return 5
	}
	return 9
}

// Select returns the meter named name (or the first whose name starts with
// name followed by ":"), or the best usable one when name is "" or "auto".
// A named meter that exists but cannot be used returns its Problem.
func Select(cands []Candidate, name string) (Meter, error) {
	if name == "" || name == "auto" {
		for _, c := range cands {
			if c.Meter != nil {
				return c.Meter, nil
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrNoMeter, describeProblems(cands))
	}
	var found []Candidate
	for _, c := range cands {
		if c.Info.Name == name || strings.HasPrefix(c.Info.Name, name+":") {
			found = append(found, c)
		}
	}
	for _, c := range found {
		if c.Meter != nil {
			return c.Meter, nil
		}
	}
	if len(found) > 0 {
		return nil, fmt.Errorf("energy: meter %q: %w", name, found[0].Problem)
	}
	names := make([]string, 0, len(cands))
	for _, c := range cands {
		names = append(names, c.Info.Name)
	}
	return nil, fmt.Errorf("%w named %q on this machine (found: %s; also --watts W)", ErrNoMeter, name, strings.Join(names, ", "))
}

func describeProblems(cands []Candidate) string {
	var p []string
	for _, c := range cands {
		if c.Problem != nil {
			p = append(p, c.Info.Name+": "+c.Problem.Error())
		}
	}
	if len(p) == 0 {
		return "none found"
	}
	return strings.Join(p, "; ")
}

// MeasureIdle measures the mean power over d while the caller does nothing,
// for the "above idle" figures. It returns early with ctx's error.
func MeasureIdle(ctx context.Context, m Meter, d time.Duration) (Measurement, error) {
	sp, err := m.Start()
	if err != nil {
		return Measurement{}, err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		sp.Stop()
		return Measurement{}, ctx.Err()
	case <-t.C:
	}
	return sp.Stop()
}
