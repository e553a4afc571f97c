package energy

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// overlay is a fixture tree with files that tests change or deny.
type overlay struct {
	base fs.FS
	mu   sync.Mutex
	set  map[string]string
	deny map[string]bool
}

func newOverlay(t *testing.T, dir string) *overlay {
	t.Helper()
	if _, err := os.Stat("testdata/" + dir); err != nil {
		t.Fatal(err)
	}
	return &overlay{base: os.DirFS("testdata/" + dir), set: map[string]string{}, deny: map[string]bool{}}
}

func (o *overlay) write(name, v string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.set[name] = v + "\n"
}

func (o *overlay) Open(name string) (fs.File, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.deny[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	if v, ok := o.set[name]; ok {
		return fstest.MapFS{name: {Data: []byte(v)}}.Open(name)
	}
	return o.base.Open(name)
}

func (o *overlay) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(o.base, name) }

// fakeClock advances only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture returns a System over testdata/dir that samples never on its own
// (the tests drive every reading) and runs no programs.
func fixture(t *testing.T, dir string) (*System, *overlay, *fakeClock) {
	o := newOverlay(t, dir)
	clk := &fakeClock{t: time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)}
	return &System{Root: o, NumCPU: 4, Now: clk.now, SampleEvery: time.Hour}, o, clk
}

func names(cs []Candidate) string {
	var n []string
	for _, c := range cs {
		s := c.Info.Name
		if c.Meter == nil {
			s += "(unusable)"
		}
		n = append(n, s)
	}
	return strings.Join(n, " ")
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestRAPLIntelLaptop(t *testing.T) {
	s, o, clk := fixture(t, "rapl-intel-laptop")
	cs := s.Detect(context.Background())
	if got := names(cs); got != "rapl estimate(unusable)" {
		t.Fatalf("detected %q", got)
	}
	m, err := Select(cs, "")
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	// Only the package zone: not core/uncore (inside the package), not psys, not the mmio duplicate.
	if info.Kind != Measured || info.Scope != "cpu package" || !strings.Contains(info.Note, "intel-rapl:0") || strings.Contains(info.Note, "mmio") {
		t.Fatalf("info %+v", info)
	}
	sp, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "28275518452") // +12.5 J
	o.write("sys/class/powercap/intel-rapl:1/energy_uj", "99999999999") // psys: ignored
	clk.advance(2 * time.Second)
	got, err := sp.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.Joules, 12.5) || got.Duration != 2*time.Second || !near(got.Watts(), 6.25) {
		t.Fatalf("measured %+v, want 12.5 J over 2 s", got)
	}
}

func TestRAPLWrapAround(t *testing.T) {
	s, o, clk := fixture(t, "rapl-amd")
	m, err := Select(s.Detect(context.Background()), "rapl")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := m.Start() // energy_uj 65500000000 of a range 65532610987
	if err != nil {
		t.Fatal(err)
	}
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "7389013") // wrapped
	clk.advance(time.Second)
	got, err := sp.Stop()
	if err != nil {
		t.Fatal(err)
	}
	want := float64(65532610987-65500000000+7389013) / 1e6
	if !near(got.Joules, want) {
		t.Fatalf("wrap-around: %v J, want %v J", got.Joules, want)
	}
	// Without a known range a counter that goes back is an error, not a huge number.
	if _, err := delta(100, 50, 0); err == nil {
		t.Fatal("delta without range accepted a counter going back")
	}
	if d, err := delta(10, 30, 40); err != nil || d != 20 {
		t.Fatalf("delta(10, 30, 40) = %d, %v", d, err)
	}
}

func TestRAPLPolledWraps(t *testing.T) {
	// A span longer than one counter period: the periodic read (driven by
	// hand here, by a ticker in use) catches the first wrap, so two wraps
	// are counted.
	s, o, _ := fixture(t, "rapl-amd")
	m, err := Select(s.Detect(context.Background()), "rapl")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	const max = 65532610987
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "1000000") // wrapped once
	sp.(*counterSpan).poll()
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "65499000000")
	sp.(*counterSpan).poll()
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "2000000") // wrapped twice
	got, err := sp.Stop()
	if err != nil {
		t.Fatal(err)
	}
	want := float64((max-65500000000+1000000)+(65499000000-1000000)+(max-65499000000+2000000)) / 1e6
	if !near(got.Joules, want) || got.Samples != 4 {
		t.Fatalf("two wraps: %v J in %d reads, want %v J", got.Joules, got.Samples, want)
	}
}

func TestRAPLRootOnly(t *testing.T) {
	s, o, _ := fixture(t, "rapl-intel-laptop")
	o.deny["sys/class/powercap/intel-rapl:0/energy_uj"] = true
	cs := s.Detect(context.Background())
	if cs[0].Info.Name != "rapl" || cs[0].Meter != nil {
		t.Fatalf("a root-only RAPL must be listed as unusable: %q", names(cs))
	}
	_, err := Select(cs, "rapl")
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "root only") || !strings.Contains(err.Error(), "CVE-2020-8694") {
		t.Fatalf("error %v does not explain the root-only energy_uj", err)
	}
	// Auto selection says why nothing is usable.
	if _, err := Select(cs, ""); !errors.Is(err, ErrNoMeter) || !strings.Contains(err.Error(), "root only") {
		t.Fatalf("auto selection error %v", err)
	}
}

func TestRAPLXeonDram(t *testing.T) {
	s, o, clk := fixture(t, "rapl-xeon-2s")
	m, err := Select(s.Detect(context.Background()), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Scope != "cpu package + dram" {
		t.Fatalf("scope %q", m.Info().Scope)
	}
	sp, _ := m.Start()
	o.write("sys/class/powercap/intel-rapl:0/energy_uj", "160621734391")  // +100 J
	o.write("sys/class/powercap/intel-rapl:1/energy_uj", "171191662804")  // +90 J
	o.write("sys/class/powercap/intel-rapl:0:0/energy_uj", "38529442081") // +10 J
	o.write("sys/class/powercap/intel-rapl:1:0/energy_uj", "36185206543") // +8 J
	clk.advance(time.Second)
	got, err := sp.Stop()
	if err != nil || !near(got.Joules, 208) {
		t.Fatalf("two sockets + dram: %+v %v, want 208 J", got, err)
	}
}

func TestHwmon(t *testing.T) {
	s, o, clk := fixture(t, "hwmon-mixed")
	cs := s.Detect(context.Background())
	if got := names(cs); got != "hwmon-energy:amd_energy hwmon:power_meter hwmon:amdgpu(unusable) estimate(unusable)" {
		t.Fatalf("detected %q", got)
	}
	// amd_energy: only the socket counter (the cores are inside it).
	m, err := Select(cs, "hwmon-energy")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := m.Start()
	o.write("sys/class/hwmon/hwmon1/energy3_input", "103678911290") // +20 J
	o.write("sys/class/hwmon/hwmon1/energy1_input", "30771880864")  // a core: ignored
	clk.advance(time.Second)
	if got, err := sp.Stop(); err != nil || !near(got.Joules, 20) {
		t.Fatalf("amd_energy: %+v %v, want 20 J", got, err)
	}
	// ACPI power meter: power1_average in µW, sampled and integrated.
	m, err = Select(cs, "hwmon:power_meter")
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().Scope != "system input (ACPI power meter)" {
		t.Fatalf("scope %q", m.Info().Scope)
	}
	sp, _ = m.Start() // 84 W
	clk.advance(time.Second)
	o.write("sys/class/hwmon/hwmon2/power1_average", "96000000")
	sp.(*sampledSpan).take() // 96 W after 1 s
	clk.advance(time.Second)
	got, err := sp.Stop() // 96 W after 2 s
	if err != nil || !near(got.Joules, 90+96) || got.Samples != 3 {
		t.Fatalf("power_meter: %+v %v, want 186 J (trapezoid)", got, err)
	}
	if _, err := Select(cs, "hwmon:amdgpu"); err == nil || !strings.Contains(err.Error(), "GPU") {
		t.Fatalf("amdgpu: %v", err)
	}
}

func TestJetson(t *testing.T) {
	for _, tc := range []struct {
		dir, scope string
		watts      float64
	}{
		{"jetson-orin-nano", "module input (VDD_IN)", 5.064 * 1.288},
		{"jetson-agx-orin", "sum of INA3221 rails", 4.976*1.004 + 4.976*0.200 + 4.984*0.808 + 4.984*0.160},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			s, _, clk := fixture(t, tc.dir)
			cs := s.Detect(context.Background())
			if cs[0].Info.Name != "jetson" {
				t.Fatalf("detected %q", names(cs))
			}
			m, _ := Select(cs, "")
			if m.Info().Scope != tc.scope {
				t.Fatalf("scope %q, want %q", m.Info().Scope, tc.scope)
			}
			sp, _ := m.Start()
			clk.advance(10 * time.Second)
			got, err := sp.Stop()
			if err != nil || !near(got.Watts(), tc.watts) {
				t.Fatalf("%+v %v: %v W, want %v W", got, err, got.Watts(), tc.watts)
			}
		})
	}
}

func TestBattery(t *testing.T) {
	for _, tc := range []struct {
		dir, name string
		watts     float64
		problem   string
	}{
		{"battery-discharging", "battery:BAT0", 9.873, ""},
		{"battery-current", "battery:BAT1", 0.812 * 15.21, ""},
		{"battery-charging", "battery:BAT0", 0, "not discharging"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			s, o, clk := fixture(t, tc.dir)
			cs := s.Detect(context.Background())
			if len(cs) != 2 || cs[0].Info.Name != tc.name { // the battery and the estimate; no mouse battery
				t.Fatalf("detected %q", names(cs))
			}
			m, err := Select(cs, "battery")
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("error %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sp, _ := m.Start()
			clk.advance(4 * time.Second)
			got, err := sp.Stop()
			if err != nil || !near(got.Watts(), tc.watts) {
				t.Fatalf("%+v %v, want %v W", got, err, tc.watts)
			}
			// Plugging the charger in during a run is an error, not a silent 0.
			sp, _ = m.Start()
			o.write("sys/class/power_supply/"+strings.TrimPrefix(tc.name, "battery:")+"/status", "Charging")
			if _, err := sp.Stop(); err == nil || !strings.Contains(err.Error(), "not discharging") {
				t.Fatalf("charging mid-run: %v", err)
			}
		})
	}
}

func TestPi5(t *testing.T) {
	out, err := os.ReadFile("testdata/pi5/pmic_read_adc.txt")
	if err != nil {
		t.Fatal(err)
	}
	rails, err := ParsePMIC(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rails) != 12 {
		t.Fatalf("%d rails, want 12 (EXT5V and BATT have no current)", len(rails))
	}
	for _, r := range rails {
		if r.Name == "EXT5V" || r.Name == "BATT" {
			t.Fatalf("rail %s has no current and must be left out", r.Name)
		}
	}
	// Sum of V×I over the 12 paired rails (computed independently with Python).
	if w := PMICWatts(rails); math.Abs(w-3.2051502010643) > 1e-9 {
		t.Fatalf("PMIC power %v W", w)
	}

	s, _, clk := fixture(t, "pi5")
	calls := 0
	s.Command = func(ctx context.Context, name string, args ...string) ([]byte, error) {
		calls++
		if name != "vcgencmd" || strings.Join(args, " ") != "pmic_read_adc" {
			t.Errorf("ran %s %v", name, args)
		}
		return out, nil
	}
	cs := s.Detect(context.Background())
	m, err := Select(cs, "")
	if err != nil || m.Info().Name != "pi5-pmic" || !strings.Contains(m.Info().Note, "5 V input") {
		t.Fatalf("%q: %v", names(cs), err)
	}
	sp, _ := m.Start()
	clk.advance(3 * time.Second)
	got, err := sp.Stop()
	if err != nil || math.Abs(got.Joules-3*3.2051502010643) > 1e-9 {
		t.Fatalf("%+v %v", got, err)
	}

	// A Pi 4 (no PMIC ADC): vcgencmd answers with an error.
	pi4, _ := os.ReadFile("testdata/pi5/pmic_read_adc_pi4.txt")
	if _, err := ParsePMIC(pi4); err == nil || !strings.Contains(err.Error(), "Command not registered") {
		t.Fatalf("Pi 4 output: %v", err)
	}
	// Not a Raspberry Pi: vcgencmd is not even run.
	s2, _, _ := fixture(t, "rapl-amd")
	s2.Command = func(context.Context, string, ...string) ([]byte, error) {
		t.Error("vcgencmd run on a PC")
		return nil, nil
	}
	s2.Detect(context.Background())
	_ = calls
}

func TestFixed(t *testing.T) {
	s, _, clk := fixture(t, "pi5")
	m, err := s.NewFixed(7.5, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := m.Start()
	clk.advance(4 * time.Second)
	got, _ := sp.Stop()
	if !near(got.Joules, 30) || m.Info().Kind != Measured {
		t.Fatalf("%+v %+v", got, m.Info())
	}
	for _, w := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := s.NewFixed(w, ""); err == nil {
			t.Errorf("--watts %v accepted", w)
		}
	}
}

func TestEstimate(t *testing.T) {
	s, _, clk := fixture(t, "pi5")
	var cpu time.Duration
	s.CPUTime = func() (time.Duration, error) { return cpu, nil }
	s.NumCPU = 2
	s.CPUBrand = "Intel(R) Xeon(R) Processor @ 2.50GHz"
	s.VM = true
	cs := s.Detect(context.Background())
	m, err := Select(cs, "")
	if err != nil || m.Info().Name != "estimate" || m.Info().Kind != Estimate {
		t.Fatalf("%q: %v", names(cs), err)
	}
	if !strings.Contains(m.Info().Note, "4 W per logical CPU x 2") {
		t.Fatalf("note %q does not state the assumption", m.Info().Note)
	}
	sp, _ := m.Start()
	clk.advance(2 * time.Second)
	cpu += 3 * time.Second // 75% of 2 CPUs over 2 s
	got, _ := sp.Stop()
	if !near(got.Joules, 8*0.75*2) {
		t.Fatalf("%+v, want 12 J", got)
	}
	// Utilisation is capped at 1.
	sp, _ = m.Start()
	clk.advance(time.Second)
	cpu += 5 * time.Second
	if got, _ := sp.Stop(); !near(got.Joules, 8) {
		t.Fatalf("%+v, want 8 J at the cap", got)
	}
	// A given TDP.
	m, err = s.NewEstimate(20, "")
	if err != nil || !strings.Contains(m.Info().Note, "20 W") || !strings.Contains(m.Info().Note, "--tdp") {
		t.Fatalf("%v %+v", err, m)
	}
	if _, err := s.NewEstimate(-3, ""); err == nil {
		t.Fatal("negative TDP accepted")
	}
}

func TestGuessTDP(t *testing.T) {
	for _, tc := range []struct {
		brand string
		cpus  int
		vm    bool
		want  float64
	}{
		{"11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 8, false, 28},
		{"Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz", 8, false, 15},
		{"12th Gen Intel(R) Core(TM) i9-12900K", 24, false, 125},
		{"12th Gen Intel(R) Core(TM) i7-12700H", 20, false, 45},
		{"Intel(R) Core(TM) Ultra 7 155H", 22, false, 28},
		{"AMD Ryzen 7 5800X 8-Core Processor", 16, false, 105},
		{"AMD Ryzen 7 7840U w/ Radeon 780M Graphics", 16, false, 15},
		{"AMD Ryzen 5 5600G with Radeon Graphics", 12, false, 65},
		{"AMD EPYC 7B13", 4, true, 16},
		{"Intel(R) Xeon(R) Processor @ 2.50GHz", 2, true, 8},
		{"Raspberry Pi 5 Model B Rev 1.0", 4, false, 8},
		{"AMD Ryzen 7 5800X 8-Core Processor", 4, true, 16}, // a VM's slice: per CPU
		{"Some Future CPU", 3, false, 15},
		{"", 2, false, 10},
	} {
		got, src := GuessTDP(tc.brand, tc.cpus, tc.vm)
		if got != tc.want || src == "" {
			t.Errorf("GuessTDP(%q, %d, %v) = %v (%s), want %v", tc.brand, tc.cpus, tc.vm, got, src, tc.want)
		}
	}
}

func TestHostEstimate(t *testing.T) {
	// On this machine (whatever it is) the estimate works and measures real
	// CPU time: spin for a while and check the energy is positive and at
	// most TDP × wall.
	s := Host("", false)
	m, err := s.NewEstimate(10, "test")
	if err != nil {
		t.Skipf("no process CPU time here: %v", err)
	}
	sp, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	x := 0.0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x += math.Sqrt(x + 1)
	}
	got, err := sp.Stop()
	if err != nil {
		t.Fatal(err)
	}
	maxJ := 10 * got.Duration.Seconds()
	if got.Joules <= 0 || got.Joules > maxJ*1.0001 {
		t.Fatalf("spinning one core: %+v (max %v J) %v", got, maxJ, x)
	}
	idle, err := MeasureIdle(context.Background(), m, 50*time.Millisecond)
	if err != nil || idle.Watts() > got.Watts() {
		t.Fatalf("idle %+v %v above the busy %v W", idle, err, got.Watts())
	}
}

func TestSelectUnknown(t *testing.T) {
	s, _, _ := fixture(t, "rapl-amd")
	_, err := Select(s.Detect(context.Background()), "pi5-pmic")
	if !errors.Is(err, ErrNoMeter) || !strings.Contains(err.Error(), "found: rapl") {
		t.Fatalf("%v", err)
	}
}

func TestBackgroundReads(t *testing.T) {
	// The spans read their meters on their own between Start and Stop.
	for _, dir := range []string{"rapl-amd", "hwmon-mixed"} {
		s, _, _ := fixture(t, dir)
		s.SampleEvery = time.Millisecond
		m, err := Select(s.Detect(context.Background()), "")
		if err != nil {
			t.Fatal(err)
		}
		sp, err := m.Start()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		got, err := sp.Stop()
		if err != nil || got.Samples < 3 {
			t.Errorf("%s: %+v %v: no background reads", dir, got, err)
		}
	}
}
