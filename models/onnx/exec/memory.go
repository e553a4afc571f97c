package exec

import "fmt"

// DefaultMaxRunBytes returns the memory budget of one Run when
// Options.MaxRunBytes is 0: half the memory this process can still get, as
// far as the system tells (see availableMemory), or 8 GiB when it tells
// nothing. It is read when New is called.
func DefaultMaxRunBytes() int64 {
	avail := availableMemory()
	if avail <= 0 {
		return 8 << 30
	}
	return max(avail/2, 64<<20)
}

// estimate returns the most bytes of intermediate tensors the main graph
// holds at once for inputs of the given shapes, as far as the shapes can be
// told from them ahead of the run (the static inference of New, run again
// on the actual input shapes; a value whose shape depends on data counts
// as 0, and the arena's accounting catches it during the run).
func (e *Executor) estimate(inputs []*Tensor) (peak int64) {
	defer func() {
		if recover() != nil {
			peak = 0 // an inference that cannot handle these shapes: no estimate
		}
	}()
	info := make(map[int]vinfo, len(e.main.nodes)*2)
	for i, t := range inputs {
		info[e.inIDs[i]] = vinfo{typ: t.Type, rank: len(t.Shape), shape: t.Shape}
	}
	get := func(id int) vinfo {
		if c := e.consts[id]; c != nil {
			return infoOf(c)
		}
		if v, ok := info[id]; ok {
			return v
		}
		return vinfo{rank: -1}
	}
	size := func(v vinfo) int64 {
		if !v.known() {
			return 0
		}
		n := int64(elemSize(v.typ))
		for _, d := range v.shape {
			if d != 0 && n > (1<<62)/int64(d) {
				return 1 << 62
			}
			n *= int64(d)
		}
		return n
	}
	var live int64
	for i, n := range e.main.nodes {
		inf, ok := n.k.(inferer)
		in := make([]vinfo, len(n.in))
		for j, id := range n.in {
			if id < 0 {
				in[j] = vinfo{rank: -1, absent: true}
			} else {
				in[j] = get(id)
			}
		}
		out := make([]vinfo, len(n.out))
		for j := range out {
			out[j] = vinfo{rank: -1}
		}
		if ok && inf.infer(in, out) != nil {
			return peak // the run will report the error
		}
		for j, id := range n.out {
			if id >= 0 {
				info[id] = out[j]
				live += size(out[j])
			}
		}
		peak = max(peak, live)
		for _, id := range e.main.free[i] {
			live -= size(get(id))
		}
	}
	return peak
}

// cachedEstimate is estimate, remembered for the last input shapes.
func (e *Executor) cachedEstimate(inputs []*Tensor) int64 {
	var b []byte
	for _, t := range inputs {
		b = fmt.Appendf(b, "%d%v;", t.Type, t.Shape)
	}
	key := string(b)
	e.estMu.Lock()
	if e.estKey == key {
		v := e.estBytes
		e.estMu.Unlock()
		return v
	}
	e.estMu.Unlock()
	v := e.estimate(inputs)
	e.estMu.Lock()
	e.estKey, e.estBytes = key, v
	e.estMu.Unlock()
	return v
}
