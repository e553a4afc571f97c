package energy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// piEvery is the sampling interval of the Raspberry Pi 5 PMIC: vcgencmd
// costs a few milliseconds of CPU per call, so it runs at a low rate.
const piEvery = time.Second

// pmicLine matches a line of `vcgencmd pmic_read_adc`:
//
//	VDD_CORE_A current(7)=0.75012000A
//	VDD_CORE_V volt(15)=0.86173300V
var pmicLine = regexp.MustCompile(`^\s*(\S+)_([AV])\s+(current|volt)\(\d+\)=([-+0-9.eE]+)([AV])\s*$`)

// PMICRail is one rail of the Raspberry Pi 5 PMIC.
type PMICRail struct {
	Name  string
	Volts float64
	Amps  float64
}

// ParsePMIC parses the output of `vcgencmd pmic_read_adc` into the rails
// that have both a current and a voltage (EXT5V, the 5 V input, has only a
// voltage and is left out). The indices in parentheses are ADC channels, not
// rails: rails are paired by name.
func ParsePMIC(out []byte) ([]PMICRail, error) {
	amps, volts := map[string]float64{}, map[string]float64{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := pmicLine.FindStringSubmatch(line)
		if m == nil {
			if strings.Contains(line, "error") {
				return nil, fmt.Errorf("energy: vcgencmd pmic_read_adc: %s", strings.TrimSpace(line))
			}
			continue
		}
		if m[2] != m[5] {
			continue // unit does not match the name's suffix
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		if _, a := amps[m[1]]; !a {
			if _, v := volts[m[1]]; !v {
				order = append(order, m[1])
			}
		}
		if m[2] == "A" {
			amps[m[1]] = v
		} else {
			volts[m[1]] = v
		}
	}
	var rails []PMICRail
	for _, n := range order {
		a, okA := amps[n]
		v, okV := volts[n]
		if okA && okV {
			rails = append(rails, PMICRail{Name: n, Volts: v, Amps: a})
		}
	}
	if len(rails) == 0 {
		return nil, errors.New("energy: vcgencmd pmic_read_adc: no rail with both a current and a voltage")
	}
	return rails, nil
}

// PMICWatts returns the sum of V × I over rails.
func PMICWatts(rails []PMICRail) float64 {
	var w float64
	for _, r := range rails {
		w += r.Volts * r.Amps
	}
	return w
}

// detectPi finds the Raspberry Pi 5 PMIC (also on the Pi 500 and CM5) through
// `vcgencmd pmic_read_adc`. It runs vcgencmd only on a Raspberry Pi.
func (s *System) detectPi(ctx context.Context) []Candidate {
	if s.Command == nil || !strings.Contains(s.boardModel(), "Raspberry Pi") {
		return nil
	}
	info := Info{Name: "pi5-pmic", Kind: Measured, Scope: "board (sum of PMIC rails)", Method: "sampled every " + s.every(piEvery).String(),
		Note: "vcgencmd pmic_read_adc: the rails the PMIC feeds; misses the 5 V input side, the PMIC's own conversion losses, " +
			"and USB/PCIe devices and the fan powered from 5 V (a wall meter reads more)"}
	read := func() (float64, error) {
		out, err := s.Command(ctx, "vcgencmd", "pmic_read_adc")
		if err != nil {
			return 0, fmt.Errorf("vcgencmd pmic_read_adc: %w", err)
		}
		rails, err := ParsePMIC(out)
		if err != nil {
			return 0, err
		}
		return PMICWatts(rails), nil
	}
	if _, err := read(); err != nil {
		return []Candidate{{Info: info, Problem: err}}
	}
	return []Candidate{{Info: info, Meter: &sampledMeter{info: info, sys: s, every: s.every(piEvery), watts: read}}}
}
