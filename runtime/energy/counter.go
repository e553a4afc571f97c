package energy

import (
	"fmt"
	"sync"
	"time"
)

// counterMeter reads cumulative energy counters in microjoules (RAPL
// energy_uj, hwmon energy*_input) and sums their increments. A counter that
// goes backwards has wrapped at its range (RAPL's max_energy_range_uj); a
// background read every pollEvery keeps at most one wrap between two reads.
type counterMeter struct {
	info      Info
	sys       *System
	counters  []counter
	pollEvery time.Duration
}

// counter is one cumulative energy register.
type counter struct {
	path    string // for messages
	read    func() (int64, error)
	maxUJ   int64 // the value after which it wraps to 0; 0 = unknown (an error if it goes back)
	lastUJ  int64
	totalUJ float64
}

func (m *counterMeter) Info() Info { return m.info }

// delta returns the increment from prev to cur of a counter wrapping after max.
func delta(prev, cur, max int64) (int64, error) {
	if cur >= prev {
		return cur - prev, nil
	}
	if max <= 0 || prev > max {
		return 0, fmt.Errorf("energy: counter went back from %d to %d and its range is unknown", prev, cur)
	}
	return max - prev + cur, nil
}

type counterSpan struct {
	m     *counterMeter
	start time.Time
	cs    []counter
	reads int

	mu   sync.Mutex
	err  error
	stop chan struct{}
	done chan struct{}
}

func (m *counterMeter) Start() (Span, error) {
	sp := &counterSpan{m: m, cs: append([]counter(nil), m.counters...), stop: make(chan struct{}), done: make(chan struct{})}
	for i := range sp.cs {
		v, err := sp.cs[i].read()
		if err != nil {
			return nil, fmt.Errorf("energy: %s: %w", m.info.Name, err)
		}
		sp.cs[i].lastUJ, sp.cs[i].totalUJ = v, 0
	}
	sp.reads = 1
	sp.start = m.sys.now()
	go func() {
		defer close(sp.done)
		if m.pollEvery <= 0 {
			<-sp.stop
			return
		}
		t := time.NewTicker(m.pollEvery)
		defer t.Stop()
		for {
			select {
			case <-sp.stop:
				return
			case <-t.C:
				sp.poll()
			}
		}
	}()
	return sp, nil
}

// poll reads every counter and adds its increment.
func (sp *counterSpan) poll() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err != nil {
		return
	}
	for i := range sp.cs {
		c := &sp.cs[i]
		v, err := c.read()
		if err == nil {
			var d int64
			d, err = delta(c.lastUJ, v, c.maxUJ)
			c.totalUJ += float64(d)
			c.lastUJ = v
		}
		if err != nil {
			sp.err = fmt.Errorf("energy: %s: %s: %w", sp.m.info.Name, c.path, err)
			return
		}
	}
	sp.reads++
}

func (sp *counterSpan) Stop() (Measurement, error) {
	close(sp.stop)
	<-sp.done
	sp.poll()
	end := sp.m.sys.now()
	if sp.err != nil {
		return Measurement{}, sp.err
	}
	var uj float64
	for _, c := range sp.cs {
		uj += c.totalUJ
	}
	return Measurement{Joules: uj / 1e6, Duration: end.Sub(sp.start), Samples: sp.reads}, nil
}
