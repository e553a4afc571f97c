package energy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hwmonPowerEvery is the sampling interval of hwmon power sensors and the
// Jetson rails (the INA3221 averages over its own conversion time).
const hwmonPowerEvery = 100 * time.Millisecond

// hwmonGPU are hwmon chips that measure a GPU, which edgeai does not use.
var hwmonGPU = map[string]bool{"amdgpu": true, "radeon": true, "nouveau": true, "i915": true, "xe": true}

var (
	hwmonPower  = regexp.MustCompile(`^power(\d+)_(input|average)$`)
	hwmonEnergy = regexp.MustCompile(`^energy(\d+)_input$`)
	hwmonIn     = regexp.MustCompile(`^in([123])_input$`)
)

// chip is one /sys/class/hwmon/hwmonN.
type chip struct {
	dir   string // sys/class/hwmon/hwmonN
	name  string
	files []string
}

func (c chip) has(f string) bool { return slices.Contains(c.files, f) }

func (s *System) hwmonChips() []chip {
	const dir = "sys/class/hwmon"
	entries, err := fs.ReadDir(s.Root, dir)
	if err != nil {
		return nil
	}
	var chips []chip
	for _, e := range entries {
		d := path.Join(dir, e.Name())
		name, err := readString(s.Root, path.Join(d, "name"))
		if err != nil {
			continue
		}
		fe, err := fs.ReadDir(s.Root, d)
		if err != nil {
			continue
		}
		c := chip{dir: d, name: name}
		for _, f := range fe {
			c.files = append(c.files, f.Name())
		}
		chips = append(chips, c)
	}
	slices.SortFunc(chips, func(a, b chip) int { return hwmonIndex(a.dir) - hwmonIndex(b.dir) })
	return chips
}

// hwmonIndex returns N of ".../hwmonN" for a numeric sort.
func hwmonIndex(dir string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(path.Base(dir), "hwmon"))
	return n
}

// detectHwmon finds the Jetson INA3221 rails, hwmon energy counters
// (amd_energy and the like) and hwmon power sensors (ACPI power_meter,
// INA2xx, zenpower, ...).
func (s *System) detectHwmon() []Candidate {
	chips := s.hwmonChips()
	var out []Candidate
	if c, ok := s.detectJetson(chips); ok {
		out = append(out, c)
	}
	seen := map[string]int{}
	unique := func(base string, c chip) string {
		seen[base]++
		if seen[base] > 1 {
			return base + "@" + path.Base(c.dir)
		}
		return base
	}
	for _, c := range chips {
		if c.name == "ina3221" {
			continue
		}
		if hwmonGPU[c.name] {
			if len(channels(c, hwmonPower)) > 0 {
				out = append(out, Candidate{Info: Info{Name: unique("hwmon:"+c.name, c), Kind: Measured, Scope: "GPU", Method: "sampled"},
					Problem: errors.New("measures a GPU, which edgeai does not use")})
			}
			continue
		}
		if ch := channels(c, hwmonEnergy); len(ch) > 0 {
			out = append(out, s.hwmonEnergyMeter(c, ch, unique("hwmon-energy:"+c.name, c)))
		}
		if ch := channels(c, hwmonPower); len(ch) > 0 {
			out = append(out, s.hwmonPowerMeter(c, ch, unique("hwmon:"+c.name, c)))
		}
	}
	return out
}

// channels returns the files of c matching re, one per channel number
// (power*_input preferred over power*_average), sorted.
func channels(c chip, re *regexp.Regexp) []string {
	byCh := map[string]string{}
	for _, f := range c.files {
		m := re.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		if old, ok := byCh[m[1]]; !ok || strings.HasSuffix(f, "_input") && !strings.HasSuffix(old, "_input") {
			byCh[m[1]] = f
		}
	}
	var out []string
	for _, f := range byCh {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// label returns the channel label of file ("power1_input" -> power1_label).
func (s *System) label(c chip, file string) string {
	i := strings.IndexByte(file, '_')
	l, _ := readString(s.Root, path.Join(c.dir, file[:i]+"_label"))
	return l
}

func (s *System) hwmonEnergyMeter(c chip, files []string, name string) Candidate {
	// amd_energy reports every core and every socket; the sockets hold the cores.
	var sockets []string
	for _, f := range files {
		if strings.HasPrefix(s.label(c, f), "Esocket") {
			sockets = append(sockets, f)
		}
	}
	if len(sockets) > 0 {
		files = sockets
	}
	info := Info{Name: name, Kind: Measured, Scope: "cpu (hwmon " + c.name + ")", Method: "counter",
		Note: fmt.Sprintf("%s/%s", "/"+c.dir, strings.Join(files, ",")) + "; excludes the rest of the board"}
	m := &counterMeter{info: info, sys: s, pollEvery: s.every(raplPoll)}
	for _, f := range files {
		p := path.Join(c.dir, f)
		if _, err := readInt(s.Root, p); err != nil {
			return Candidate{Info: info, Problem: permissionHint(err)}
		}
		m.counters = append(m.counters, counter{path: "/" + p, read: func() (int64, error) { return readInt(s.Root, p) }})
	}
	return Candidate{Info: info, Meter: m}
}

func (s *System) hwmonPowerMeter(c chip, files []string, name string) Candidate {
	scope := "hwmon " + c.name
	if c.name == "power_meter" {
		scope = "system input (ACPI power meter)"
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, path.Join(c.dir, f))
	}
	info := Info{Name: name, Kind: Measured, Scope: scope, Method: "sampled every " + s.every(hwmonPowerEvery).String(),
		Note: "sum of " + "/" + c.dir + "/{" + strings.Join(files, ",") + "}"}
	read := func() (float64, error) {
		var uw int64
		for _, p := range paths {
			v, err := readInt(s.Root, p)
			if err != nil {
				return 0, err
			}
			uw += v
		}
		return float64(uw) / 1e6, nil
	}
	if _, err := read(); err != nil {
		return Candidate{Info: info, Problem: permissionHint(err)}
	}
	return Candidate{Info: info, Meter: &sampledMeter{info: info, sys: s, every: s.every(hwmonPowerEvery), watts: read}}
}

func permissionHint(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %v (run as root or make the file readable)", ErrPermission, err)
	}
	return err
}

// rail is one INA3221 channel: bus voltage in mV and current in mA.
type rail struct {
	label      string
	inV, currA string // file paths
}

// jetsonInput are the labels of the rail that carries a Jetson module's whole
// input power; the other rails are parts of it.
var jetsonInput = []string{"VDD_IN", "VIN", "POM_5V_IN", "VDD_IN_5V"}

// detectJetson finds the INA3221 rails of an NVIDIA Jetson (driver ina3221:
// in[123]_label, in[123]_input in mV, curr[123]_input in mA). When a rail
// carries the module's input (VDD_IN on Orin Nano/NX) only it is used; else
// the rails are added up.
func (s *System) detectJetson(chips []chip) (Candidate, bool) {
	var rails []rail
	for _, c := range chips {
		if c.name != "ina3221" {
			continue
		}
		for _, f := range c.files {
			m := hwmonIn.FindStringSubmatch(f)
			if m == nil || !c.has("curr"+m[1]+"_input") {
				continue
			}
			if en, err := readString(s.Root, path.Join(c.dir, "in"+m[1]+"_enable")); err == nil && en == "0" {
				continue
			}
			l, _ := readString(s.Root, path.Join(c.dir, "in"+m[1]+"_label"))
			if l == "" || l == "NC" {
				continue
			}
			rails = append(rails, rail{label: l, inV: path.Join(c.dir, f), currA: path.Join(c.dir, "curr"+m[1]+"_input")})
		}
	}
	if len(rails) == 0 {
		return Candidate{}, false
	}
	scope, used := "sum of INA3221 rails", rails
	for _, r := range rails {
		if slices.Contains(jetsonInput, r.label) {
			scope, used = "module input ("+r.label+")", []rail{r}
			break
		}
	}
	var labels []string
	for _, r := range used {
		labels = append(labels, r.label)
	}
	info := Info{Name: "jetson", Kind: Measured, Scope: scope, Method: "sampled every " + s.every(hwmonPowerEvery).String(),
		Note: "INA3221 rails " + strings.Join(labels, "+") + "; the carrier board is not measured"}
	read := func() (float64, error) {
		var w float64
		for _, r := range used {
			mv, err := readInt(s.Root, r.inV)
			if err != nil {
				return 0, err
			}
			ma, err := readInt(s.Root, r.currA)
			if err != nil {
				return 0, err
			}
			w += float64(mv) * float64(ma) / 1e6
		}
		return w, nil
	}
	if _, err := read(); err != nil {
		return Candidate{Info: info, Problem: permissionHint(err)}, true
	}
	return Candidate{Info: info, Meter: &sampledMeter{info: info, sys: s, every: s.every(hwmonPowerEvery), watts: read}}, true
}
