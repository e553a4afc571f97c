package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/quant"
)

// ErrContextFull is returned when a forward pass would write past a cache.
var ErrContextFull = errors.New("context full")

// KV is one attention layer's key and value cache for one sequence, in
// one of the cache types (F32, F16, Q8_0, Q4_0). Row p of a full cache
// holds position p. A sliding-window cache (Window > 0) is a ring of Slots
// positions (the window and one pass of new positions), kept twice (rows r
// and r+Slots) so that any window is one run of consecutive rows: the
// attention reads it exactly as it reads a full cache.
type KV struct {
	KType, VType quant.Type
	KVHeads      int
	HeadDim      int // key head size
	ValueDim     int // value head size
	KDim, VDim   int // KVHeads x HeadDim (ValueDim)
	Slots        int // positions held
	Window       int // 0: a full cache; else the layer's window (a ring)
	KRow, VRow   int // bytes per row

	k, v   []byte    // rows of KRow (VRow) bytes
	kf, vf []float32 // F32 views of k, v
	kh, vh []uint16  // F16 views
}

// NewKV allocates a cache of slots positions of kvHeads heads of the given
// types; window > 0 makes it a sliding-window ring.
func NewKV(slots, kvHeads, headDim, valueDim int, kt, vt quant.Type, window int) (*KV, error) {
	kv := &KV{KType: kt, VType: vt, KVHeads: kvHeads, HeadDim: headDim, ValueDim: valueDim,
		KDim: kvHeads * headDim, VDim: kvHeads * valueDim, Slots: slots, Window: window}
	var err error
	if kv.KRow, err = cacheRow(kt, headDim, kv.KDim); err != nil {
		return nil, fmt.Errorf("nn: K cache: %w", err)
	}
	if kv.VRow, err = cacheRow(vt, valueDim, kv.VDim); err != nil {
		return nil, fmt.Errorf("nn: V cache: %w", err)
	}
	rows := slots
	if window > 0 {
		rows *= 2
	}
	kv.k, kv.v = make([]byte, rows*kv.KRow), make([]byte, rows*kv.VRow)
	kv.kf, kv.kh = views(kt, kv.k)
	kv.vf, kv.vh = views(vt, kv.v)
	return kv, nil
}

// KVBytes returns the memory NewKV(slots, ...) allocates.
func KVBytes(slots, kvHeads, headDim, valueDim int, kt, vt quant.Type, window int) int64 {
	kr, _ := cacheRow(kt, headDim, kvHeads*headDim)
	vr, _ := cacheRow(vt, valueDim, kvHeads*valueDim)
	rows := int64(slots)
	if window > 0 {
		rows *= 2
	}
	return rows * int64(kr+vr)
}

// cacheRow returns the bytes of a row of dim values in cache type t, whose
// heads of head values must hold whole blocks.
func cacheRow(t quant.Type, head, dim int) (int, error) {
	switch t {
	case quant.F32, quant.F16, quant.Q8_0, quant.Q4_0:
	default:
		return 0, fmt.Errorf("cache type %v is not one of f32, f16, q8_0, q4_0", t)
	}
	tr, _ := t.Traits()
	if tr.BlockSize > 1 && head%tr.BlockSize != 0 {
		return 0, fmt.Errorf("cache type %v needs head sizes that are multiples of %d, not %d", t, tr.BlockSize, head)
	}
	return t.RowBytes(dim)
}

func views(t quant.Type, b []byte) ([]float32, []uint16) {
	switch t {
	case quant.F32:
		return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4), nil
	case quant.F16:
		return nil, unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
	}
	return nil, nil
}

// base returns the row of position p, where a window starting at p begins.
func (kv *KV) base(p int) int {
	if kv.Window > 0 {
		return p % kv.Slots
	}
	return p
}

// Store writes the keys and values of n consecutive positions from pos
// (k: n x KDim, v: n x VDim float32 rows), converted to the cache's types.
func (kv *KV) Store(pos, n int, k, v []float32) {
	for i := 0; i < n; i++ {
		r := kv.base(pos + i)
		kv.storeRow(r, k[i*kv.KDim:(i+1)*kv.KDim], v[i*kv.VDim:(i+1)*kv.VDim])
		if kv.Window > 0 {
			kv.storeRow(r+kv.Slots, k[i*kv.KDim:(i+1)*kv.KDim], v[i*kv.VDim:(i+1)*kv.VDim])
		}
	}
}

func (kv *KV) storeRow(r int, k, v []float32) {
	store(kv.KType, kv.k[r*kv.KRow:(r+1)*kv.KRow], kv.kf, kv.kh, r*kv.KDim, k)
	store(kv.VType, kv.v[r*kv.VRow:(r+1)*kv.VRow], kv.vf, kv.vh, r*kv.VDim, v)
}

func store(t quant.Type, row []byte, f []float32, h []uint16, off int, x []float32) {
	switch t {
	case quant.F32:
		copy(f[off:off+len(x)], x)
	case quant.F16:
		kernels.F16s(h[off:off+len(x)], x)
	default:
		if err := quant.Quantize(t, x, row); err != nil {
			panic("nn: KV cache: " + err.Error()) // sizes were checked by NewKV
		}
	}
}

// Bytes returns the cache's memory.
func (kv *KV) Bytes() int64 { return int64(len(kv.k) + len(kv.v)) }

// CacheOptions configure a sequence's cache.
type CacheOptions struct {
	K, V quant.Type // the KV cache types: F32 (the zero value), F16, Q8_0 or Q4_0
	// Batch is the most tokens one pass appends (the workspace's
	// MaxTokens): a sliding-window ring holds window + Batch - 1 positions.
	Batch int
}

// slots returns the positions a layer's KV cache holds for a context of
// ctxLen and a window (0: none), and the window it keeps (0 when the ring
// would be no smaller than the whole context).
func (o CacheOptions) slots(ctxLen, window int) (int, int) {
	if window <= 0 {
		return ctxLen, 0
	}
	n := window + max(o.Batch, 1) - 1
	if n >= ctxLen {
		return ctxLen, 0
	}
	return n, window
}

// Cache is one sequence's state in a decoder: per layer, a KV cache for
// attention layers, or the rolling state of a recurrent layer (a short
// convolution's last inputs). Positions are filled in order: a forward pass
// continues at Len. A Cache is used by one forward pass at a time.
type Cache struct {
	KV   []*KV       // per layer; nil for layers without attention
	Conv [][]float32 // per layer; nil for layers without a rolling state

	capacity int // positions the cache holds
	n        int // positions filled
	batch    int // the most positions a pass may append (CacheOptions.Batch)
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

// Truncate keeps the first n positions and reports whether it could: a full
// KV cache simply forgets the rest; a sliding-window ring only when the
// window before position n is still in it; a rolling state can only be kept
// as it is (n = Len) or emptied (n = 0). When it cannot, the cache is left
// unchanged and Truncate returns false (the caller evaluates the prefix
// again from Reset).
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
	for _, kv := range c.KV {
		if kv != nil && kv.Window > 0 && n-kv.Window+1 < c.n-kv.Slots {
			return false // positions the window at n needs were overwritten
		}
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

// rings reports whether a layer keeps a sliding-window ring.
func (c *Cache) rings() bool {
	for _, kv := range c.KV {
		if kv != nil && kv.Window > 0 {
			return true
		}
	}
	return false
}

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

// Save writes the cache's state to w: per layer, the filled positions' keys
// and values in position order (for a ring, those it still holds), or the
// rolling state; Load reads it back into a cache of the same geometry. The
// format is raw rows in the cache's own types; the caller writes a header
// that identifies the model and the geometry (runtime's prompt cache).
func (c *Cache) Save(w io.Writer) error {
	for i := range c.KV {
		if kv := c.KV[i]; kv != nil {
			lo := kv.first(c.n)
			for p := lo; p < c.n; p++ {
				r := kv.base(p)
				if _, err := w.Write(kv.k[r*kv.KRow : (r+1)*kv.KRow]); err != nil {
					return err
				}
				if _, err := w.Write(kv.v[r*kv.VRow : (r+1)*kv.VRow]); err != nil {
					return err
				}
			}
		}
		if s := c.Conv[i]; s != nil {
			if err := binary.Write(w, binary.LittleEndian, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// SavedBytes returns the bytes Save writes for a cache filled to n
// positions.
func (c *Cache) SavedBytes(n int) int64 {
	var b int64
	for i := range c.KV {
		if kv := c.KV[i]; kv != nil {
			b += int64(n-kv.first(n)) * int64(kv.KRow+kv.VRow)
		}
		b += 4 * int64(len(c.Conv[i]))
	}
	return b
}

// Load replaces the cache's content by n positions read from r, as Save
// wrote them for a cache of the same geometry; it reads exactly
// SavedBytes(n) bytes. On error the cache is left empty.
func (c *Cache) Load(r io.Reader, n int) error {
	if n < 0 || n > c.capacity {
		return fmt.Errorf("nn: a saved cache of %d positions does not fit a context of %d", n, c.capacity)
	}
	c.Reset()
	for i := range c.KV {
		if kv := c.KV[i]; kv != nil {
			for p := kv.first(n); p < n; p++ {
				row := kv.base(p)
				if _, err := io.ReadFull(r, kv.k[row*kv.KRow:(row+1)*kv.KRow]); err != nil {
					c.Reset()
					return err
				}
				if _, err := io.ReadFull(r, kv.v[row*kv.VRow:(row+1)*kv.VRow]); err != nil {
					c.Reset()
					return err
				}
				if kv.Window > 0 { // the ring's second copy
					copy(kv.k[(row+kv.Slots)*kv.KRow:(row+kv.Slots+1)*kv.KRow], kv.k[row*kv.KRow:(row+1)*kv.KRow])
					copy(kv.v[(row+kv.Slots)*kv.VRow:(row+kv.Slots+1)*kv.VRow], kv.v[row*kv.VRow:(row+1)*kv.VRow])
				}
			}
		}
		if s := c.Conv[i]; s != nil {
			if err := binary.Read(r, binary.LittleEndian, s); err != nil {
				c.Reset()
				return err
			}
		}
	}
	c.n = n
	return nil
}

// first returns the first position of n filled ones the cache still holds.
func (kv *KV) first(n int) int {
	if kv.Window > 0 {
		return max(0, n-kv.Slots)
	}
	return 0
}
