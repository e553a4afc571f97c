package energy

import (
	"fmt"
	"sync"
	"time"
)

// sampledMeter reads an instantaneous power (watts) every `every` and
// integrates it over the span with the trapezoid rule, including a reading at
// Start and one at Stop.
type sampledMeter struct {
	info  Info
	sys   *System
	every time.Duration
	watts func() (float64, error)
}

func (m *sampledMeter) Info() Info { return m.info }

type sample struct {
	t time.Time
	w float64
}

type sampledSpan struct {
	m    *sampledMeter
	mu   sync.Mutex
	pts  []sample
	err  error
	stop chan struct{}
	done chan struct{}
}

func (m *sampledMeter) Start() (Span, error) {
	w, err := m.watts()
	if err != nil {
		return nil, fmt.Errorf("energy: %s: %w", m.info.Name, err)
	}
	sp := &sampledSpan{m: m, pts: []sample{{m.sys.now(), w}}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		t := time.NewTicker(m.every)
		defer t.Stop()
		for {
			select {
			case <-sp.stop:
				return
			case <-t.C:
				sp.take()
			}
		}
	}()
	return sp, nil
}

func (sp *sampledSpan) take() {
	w, err := sp.m.watts()
	now := sp.m.sys.now()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err != nil {
		if sp.err == nil {
			sp.err = fmt.Errorf("energy: %s: %w", sp.m.info.Name, err)
		}
		return
	}
	sp.pts = append(sp.pts, sample{now, w})
}

func (sp *sampledSpan) Stop() (Measurement, error) {
	close(sp.stop)
	<-sp.done
	sp.take()
	if sp.err != nil {
		return Measurement{}, sp.err
	}
	return integrate(sp.pts), nil
}

// integrate returns the trapezoid-rule energy of the samples.
func integrate(pts []sample) Measurement {
	var j float64
	for i := 1; i < len(pts); i++ {
		dt := pts[i].t.Sub(pts[i-1].t).Seconds()
		j += dt * (pts[i].w + pts[i-1].w) / 2
	}
	m := Measurement{Joules: j, Samples: len(pts)}
	if len(pts) > 0 {
		m.Duration = pts[len(pts)-1].t.Sub(pts[0].t)
	}
	return m
}

// fixedMeter is --watts W: a constant power read from an external meter.
type fixedMeter struct {
	info  Info
	sys   *System
	watts float64
}

// NewFixed returns a meter of a constant power w watts, as read by the user
// on an external (wall) meter during a run. It is labelled measured with the
// scope given ("wall" if empty).
func (s *System) NewFixed(w float64, scope string) (Meter, error) {
	if !(w > 0) || w > 100000 {
		return nil, fmt.Errorf("energy: --watts %g: must be a positive power in watts", w)
	}
	if scope == "" {
		scope = "wall (external meter)"
	}
	return &fixedMeter{sys: s, watts: w, info: Info{Name: "watts", Kind: Measured, Scope: scope, Method: "fixed reading",
		Note: fmt.Sprintf("%g W given with --watts for the whole run; idle is not measured (give it with --idle-watts)", w)}}, nil
}

func (m *fixedMeter) Info() Info { return m.info }

type fixedSpan struct {
	m     *fixedMeter
	start time.Time
}

func (m *fixedMeter) Start() (Span, error) { return &fixedSpan{m, m.sys.now()}, nil }

func (sp *fixedSpan) Stop() (Measurement, error) {
	d := sp.m.sys.now().Sub(sp.start)
	return Measurement{Joules: sp.m.watts * d.Seconds(), Duration: d, Samples: 1}, nil
}
