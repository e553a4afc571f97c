package energy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// raplPoll is how often RAPL counters are read during a span so that a
// counter wraps at most once between two reads (max_energy_range_uj is about
// 262 kJ on Intel: 17 minutes at 250 W).
const raplPoll = 10 * time.Second

// raplZone matches the powercap zones of the intel-rapl driver, which AMD
// (Zen) processors use too: "intel-rapl:0" (a top-level zone) and
// "intel-rapl:0:2" (a subzone). intel-rapl-mmio zones duplicate the package
// zones on some Intel laptops and are not used.
var raplZone = regexp.MustCompile(`^intel-rapl:(\d+)(:\d+)?$`)

// raplRootOnly explains RAPL's permissions since Linux 5.10.
const raplRootOnly = "is readable by root only (since Linux 5.10, after the PLATYPUS power side channel, CVE-2020-8694): " +
	"run as root, or allow reading until the next reboot with `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj` " +
	"(this re-opens that side channel to local users), or choose another meter (--power-meter estimate, --watts W)"

// detectRAPL finds the RAPL package zones (and their dram subzones, which
// are outside the package) under sys/class/powercap. On machines without
// package zones it uses the psys (platform) zone.
func (s *System) detectRAPL() []Candidate {
	const dir = "sys/class/powercap"
	entries, err := fs.ReadDir(s.Root, dir)
	if err != nil {
		return nil
	}
	var pkgs, drams, psys []string
	for _, e := range entries {
		m := raplZone.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		name, err := readString(s.Root, path.Join(dir, e.Name(), "name"))
		if err != nil {
			continue
		}
		switch {
		case m[2] == "" && strings.HasPrefix(name, "package"):
			pkgs = append(pkgs, e.Name())
		case m[2] == "" && name == "psys":
			psys = append(psys, e.Name())
		case m[2] != "" && name == "dram":
			drams = append(drams, e.Name())
		}
	}
	zones, scope := append(pkgs, drams...), "cpu package"
	if len(drams) > 0 {
		scope = "cpu package + dram"
	}
	if len(pkgs) == 0 {
		zones, scope = psys, "platform (psys)"
	}
	if len(zones) == 0 {
		return nil
	}
	slices.Sort(zones)
	info := Info{Name: "rapl", Kind: Measured, Scope: scope, Method: "counter",
		Note: fmt.Sprintf("powercap zones %s; excludes the rest of the board and power-supply losses", strings.Join(zones, ", "))}
	m := &counterMeter{info: info, sys: s, pollEvery: s.every(raplPoll)}
	for _, z := range zones {
		p := path.Join(dir, z, "energy_uj")
		maxUJ, _ := readInt(s.Root, path.Join(dir, z, "max_energy_range_uj"))
		if _, err := readInt(s.Root, p); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				err = fmt.Errorf("%w: /%s %s", ErrPermission, p, raplRootOnly)
			}
			return []Candidate{{Info: info, Problem: err}}
		}
		m.counters = append(m.counters, counter{path: "/" + p, maxUJ: maxUJ, read: func() (int64, error) { return readInt(s.Root, p) }})
	}
	return []Candidate{{Info: info, Meter: m}}
}
