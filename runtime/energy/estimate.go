package energy

import (
	"errors"
	"fmt"
	"time"
)

// estimateMeter is the last resort: power = TDP × this process's CPU
// utilisation, where utilisation is the CPU time the process used (all its
// threads, from getrusage) over the wall time × the logical CPUs the TDP
// covers. It counts only this process, so its idle power is about zero and
// "above idle" equals the total.
type estimateMeter struct {
	info Info
	sys  *System
	tdp  float64
}

// NewEstimate returns the estimate meter. tdpWatts is the power of all the
// machine's logical CPUs at full load; 0 looks it up with GuessTDP. source
// says where a given tdpWatts comes from ("--tdp" when empty).
func (s *System) NewEstimate(tdpWatts float64, source string) (Meter, error) {
	if s.CPUTime == nil {
		return nil, errors.New("energy: this platform cannot report the process's CPU time")
	}
	if s.NumCPU <= 0 {
		return nil, errors.New("energy: unknown number of CPUs")
	}
	if _, err := s.CPUTime(); err != nil {
		return nil, fmt.Errorf("energy: CPU time: %w", err)
	}
	switch {
	case tdpWatts == 0:
		tdpWatts, source = GuessTDP(s.CPUBrand, s.NumCPU, s.VM)
	case !(tdpWatts > 0) || tdpWatts > 10000:
		return nil, fmt.Errorf("energy: TDP %g W: must be a positive power in watts", tdpWatts)
	case source == "":
		source = "given with --tdp"
	}
	info := Info{Name: "estimate", Kind: Estimate, Scope: "cpu (this process)", Method: "TDP x CPU utilisation",
		Note: fmt.Sprintf("assumes %.3g W at full load on all %d CPUs (%s) scaled by this process's CPU time; "+
			"the idle floor, memory, disk and board are not counted", tdpWatts, s.NumCPU, source)}
	return &estimateMeter{info: info, sys: s, tdp: tdpWatts}, nil
}

func (m *estimateMeter) Info() Info { return m.info }

// TDP returns the full-load power the estimate assumes.
func (m *estimateMeter) TDP() float64 { return m.tdp }

type estimateSpan struct {
	m     *estimateMeter
	start time.Time
	cpu   time.Duration
}

func (m *estimateMeter) Start() (Span, error) {
	c, err := m.sys.CPUTime()
	if err != nil {
		return nil, fmt.Errorf("energy: estimate: %w", err)
	}
	return &estimateSpan{m: m, start: m.sys.now(), cpu: c}, nil
}

func (sp *estimateSpan) Stop() (Measurement, error) {
	c, err := sp.m.sys.CPUTime()
	if err != nil {
		return Measurement{}, fmt.Errorf("energy: estimate: %w", err)
	}
	wall := sp.m.sys.now().Sub(sp.start)
	used := max(c-sp.cpu, 0)
	// utilisation = used / (wall × CPUs), capped at 1 (CPU time is counted
	// in ticks on some systems and can overshoot a short span).
	capacity := wall.Seconds() * float64(sp.m.sys.NumCPU)
	u := 0.0
	if capacity > 0 {
		u = min(used.Seconds()/capacity, 1)
	}
	return Measurement{Joules: sp.m.tdp * u * wall.Seconds(), Duration: wall, Samples: 2}, nil
}
