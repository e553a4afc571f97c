package nn

import (
	"errors"
	"fmt"
)

// ErrContextFull is returned when a forward pass would write past a cache.
var ErrContextFull = errors.New("context full")

// KV is one attention layer's key and value cache for one sequence: row p
// holds the keys (and values) of position p.
type KV struct {
	K     []float32 // capacity x KDim
	V     []float32 // capacity x VDim
	KDim  int       // KV heads x key head size
	VDim  int       // KV heads x value head size
	Slots int       // positions held
}

// NewKV allocates a cache of capacity positions.
func NewKV(capacity, kDim, vDim int) *KV {
	return &KV{K: make([]float32, capacity*kDim), V: make([]float32, capacity*vDim), KDim: kDim, VDim: vDim, Slots: capacity}
}

// Store writes the keys and values of n consecutive positions from pos
// (k: n x KDim, v: n x VDim).
func (kv *KV) Store(pos, n int, k, v []float32) {
	copy(kv.K[pos*kv.KDim:(pos+n)*kv.KDim], k[:n*kv.KDim])
	copy(kv.V[pos*kv.VDim:(pos+n)*kv.VDim], v[:n*kv.VDim])
}

// Bytes returns the cache's memory.
func (kv *KV) Bytes() int64 { return 4 * int64(len(kv.K)+len(kv.V)) }

// Cache is one sequence's state in a decoder: per layer, a KV cache for
// attention layers, or the rolling state of a recurrent layer (a short
// convolution's last inputs). Positions are filled in order: a forward pass
// continues at Len. A Cache is used by one forward pass at a time.
type Cache struct {
	KV   []*KV       // per layer; nil for layers without attention
	Conv [][]float32 // per layer; nil for layers without a rolling state

	capacity int // positions the cache holds
	n        int // positions filled
}

// NewCache returns an empty cache of capacity positions with layers layers;
// the architecture then fills KV and Conv.
func NewCache(layers, capacity int) *Cache {
	return &Cache{KV: make([]*KV, layers), Conv: make([][]float32, layers), capacity: capacity}
}

// Len returns the number of positions filled.
func (c *Cache) Len() int { return c.n }

// Cap returns the number of positions the cache holds.
func (c *Cache) Cap() int { return c.capacity }

// Recurrent reports whether the cache holds a rolling state, which a
// truncation cannot rewind.
func (c *Cache) Recurrent() bool {
	for _, s := range c.Conv {
		if s != nil {
			return true
		}
	}
	return false
}

// Truncate keeps the first n positions and reports whether it could: a KV
// cache simply forgets the rest; a rolling state can only be kept as it is
// (n = Len) or emptied (n = 0), so any other n leaves the cache unchanged
// and returns false (the caller evaluates the prefix again from Reset).
func (c *Cache) Truncate(n int) bool {
	switch {
	case n >= c.n:
		return true
	case n <= 0:
		c.Reset()
		return true
	case c.Recurrent():
		return false
	}
	c.n = n
	return true
}

// Reset empties the cache.
func (c *Cache) Reset() {
	c.n = 0
	for _, s := range c.Conv {
		clear(s)
	}
}

// Bytes returns the cache's memory.
func (c *Cache) Bytes() int64 {
	var b int64
	for _, kv := range c.KV {
		if kv != nil {
			b += kv.Bytes()
		}
	}
	for _, s := range c.Conv {
		b += 4 * int64(len(s))
	}
	return b
}

// advance records n more positions.
func (c *Cache) advance(n int) { c.n += n }

// check returns an error unless n tokens can be appended.
func (c *Cache) check(pos, n int) error {
	if pos != c.n {
		return fmt.Errorf("nn: a pass at position %d of a cache filled to %d (caches are filled in order)", pos, c.n)
	}
	if n > c.capacity-pos {
		return fmt.Errorf("nn: %w: %d tokens at position %d exceed the context of %d", ErrContextFull, n, pos, c.capacity)
	}
	return nil
}
