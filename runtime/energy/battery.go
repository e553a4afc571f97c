package energy

import (
	"fmt"
	"io/fs"
	"path"
	"time"
)

// batteryEvery is the sampling interval of a battery: fuel gauges update
// power_now every second or several.
const batteryEvery = time.Second

// detectBattery finds laptop batteries (sys/class/power_supply/*, type
// Battery). One is usable while it discharges: its power_now (µW), or
// current_now (µA) × voltage_now (µV), is what the whole laptop draws.
func (s *System) detectBattery() []Candidate {
	const dir = "sys/class/power_supply"
	entries, err := fs.ReadDir(s.Root, dir)
	if err != nil {
		return nil
	}
	var out []Candidate
	for _, e := range entries {
		d := path.Join(dir, e.Name())
		if t, err := readString(s.Root, path.Join(d, "type")); err != nil || t != "Battery" {
			continue
		}
		if sc, err := readString(s.Root, path.Join(d, "scope")); err == nil && sc == "Device" {
			continue // a mouse's or a keyboard's battery
		}
		info := Info{Name: "battery:" + e.Name(), Kind: Measured, Scope: "whole laptop (battery discharge)",
			Method: "sampled every " + s.every(batteryEvery).String(),
			Note:   "includes the screen and everything else running; the fuel gauge updates slowly, so prefer runs of a minute or more"}
		read := func() (float64, error) {
			st, err := readString(s.Root, path.Join(d, "status"))
			if err != nil {
				return 0, err
			}
			if st != "Discharging" {
				return 0, fmt.Errorf("the battery is not discharging (status %q): unplug the charger to measure with it", st)
			}
			if uw, err := readInt(s.Root, path.Join(d, "power_now")); err == nil {
				return float64(uw) / 1e6, nil
			}
			ua, err := readInt(s.Root, path.Join(d, "current_now"))
			if err != nil {
				return 0, fmt.Errorf("neither power_now nor current_now: %w", err)
			}
			uv, err := readInt(s.Root, path.Join(d, "voltage_now"))
			if err != nil {
				return 0, err
			}
			if ua < 0 { // some drivers sign the discharge current
				ua = -ua
			}
			return float64(ua) * float64(uv) / 1e12, nil
		}
		if _, err := read(); err != nil {
			out = append(out, Candidate{Info: info, Problem: err})
			continue
		}
		out = append(out, Candidate{Info: info, Meter: &sampledMeter{info: info, sys: s, every: s.every(batteryEvery), watts: read}})
	}
	return out
}
