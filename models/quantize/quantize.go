// Package quantize converts GGUF models between tensor types: F32, F16 or
// BF16 weights (or already quantized ones, decoded first) to Q8_0, Q4_0,
// Q4_K_M and the other llama.cpp schemes, with llama.cpp's rules for which
// tensors get which type.
//
// The conversion is bit-exact with llama-quantize (b4748) without an
// importance matrix: the same type for every tensor (Plan), the same
// quantized bytes (quant.Quantize is ggml's reference), the same metadata
// changes and the same file layout, so that converting llama.cpp's F32 test
// model reproduces its Q8_0, Q4_0 and K-quant files byte for byte.
//
// Conversion streams: a few chunks of rows per worker are in memory at a
// time, whatever the model's size, and WriteFile never leaves a partial
// file behind (it writes a temporary file and renames it when complete).
package quantize

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// QuantizationVersion is the value written to general.quantization_version
// (ggml's GGML_QNT_VERSION).
const QuantizationVersion = 2

// chunkValues is the number of values a worker converts at a time (1 MiB of
// float32): small enough to bound memory, large enough to amortise
// scheduling.
const chunkValues = 1 << 18

// Options control a conversion.
type Options struct {
	// Type is the scheme, e.g. Q4_K_M. It is written to general.file_type.
	Type FileType
	// Pure gives every quantizable tensor the scheme's default type, without
	// the mixing rules (llama-quantize --pure).
	Pure bool
	// Overrides forces the type of named tensors that would be converted,
	// e.g. {"output.weight": quant.Q8_0} (llama-quantize
	// --output-tensor-type and --token-embedding-type).
	Overrides map[string]quant.Type
	// Threads converting rows in parallel; 0 means runtime.NumCPU().
	Threads int
	// Progress, if set, is called after each chunk is written (from the
	// goroutine that called Convert).
	Progress func(Progress)
	// Warn, if set, receives warnings: already quantized tensors that are
	// decoded and re-encoded, fallback types.
	Warn func(msg string)
}

// Progress reports how far a conversion is.
type Progress struct {
	Tensor  int    // index of the tensor being written, in output order
	Tensors int    // number of tensors
	Name    string // its name
	Done    int64  // bytes of the output file written
	Total   int64  // bytes the output file will have
}

// Report describes a finished conversion.
type Report struct {
	Tensors     []Choice // in output order
	InBytes     int64    // bytes of tensor data read
	OutBytes    int64    // bytes of the output file
	Fallbacks   int      // tensors that got a fallback type
	Requantized int      // already quantized tensors decoded and re-encoded
	Duration    time.Duration
}

// Metadata returns the key/values a converted model carries: the source's,
// without general.quantization_version, general.file_type and the split keys,
// followed by general.quantization_version and general.file_type = ft, as
// llama.cpp writes them.
func Metadata(kv []gguf.KV, ft FileType) []gguf.KV {
	out := make([]gguf.KV, 0, len(kv)+2)
	for _, e := range kv {
		switch e.Key {
		case "general.quantization_version", "general.file_type", "split.no", "split.count", "split.tensors.count":
			continue
		}
		out = append(out, e)
	}
	return append(out,
		gguf.KV{Key: "general.quantization_version", Value: gguf.NewUint32(QuantizationVersion)},
		gguf.KV{Key: "general.file_type", Value: gguf.NewUint32(uint32(ft))})
}

// ggmlShape returns shape as ggml writes it: without trailing dimensions of
// 1, and at least one dimension.
func ggmlShape(shape []int64) []int64 {
	if len(shape) == 0 {
		return []int64{1}
	}
	return shape[:nDims(shape)]
}

// job is one chunk of rows of one tensor.
type job struct {
	t           int // index in the plan
	src         int // index in the source
	first, n    int64
	last        bool   // last chunk of its tensor: pad after it
	out         []byte // the converted bytes (a pooled buffer or a raw view)
	pooled      bool
	err         error
	done        chan struct{}
	convert     bool
	from, to    quant.Type
	rowLen      int64
	name        string
	outRowBytes int64
}

// Convert writes src converted by opts to w as a GGUF file. On error
// (including ctx's cancellation) w holds a partial file: use WriteFile to get
// a file that is either complete or absent.
func Convert(ctx context.Context, src Source, w io.Writer, opts Options) (*Report, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tensors := src.Tensors()
	kv := src.Metadata()
	plan, err := Plan(HparamsFromMetadata(kv), tensors, opts)
	if err != nil {
		return nil, err
	}
	srcIndex := make(map[string]int, len(tensors))
	for i := range tensors {
		srcIndex[tensors[i].Name] = i
	}
	rep := &Report{Tensors: plan}
	outs := make([]outTensor, len(plan))
	raw, hasRaw := src.(RawSource)
	for i := range plan {
		c := &plan[i]
		if rowLen(&c.Tensor) <= 0 || c.Elements()%rowLen(&c.Tensor) != 0 {
			return nil, fmt.Errorf("quantize: tensor %q: invalid shape %v", c.Name, c.Shape)
		}
		rb, err := c.To.RowBytes(int(rowLen(&c.Tensor)))
		if err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", c.Name, err)
		}
		outs[i] = outTensor{name: c.Name, typ: c.To, shape: ggmlShape(c.Shape), size: int64(rb) * (c.Elements() / rowLen(&c.Tensor))}
		if inRB, err := c.Type.RowBytes(int(rowLen(&c.Tensor))); err == nil {
			rep.InBytes += int64(inRB) * (c.Elements() / rowLen(&c.Tensor))
		}
		if c.Fallback {
			rep.Fallbacks++
		}
		if c.Convert {
			if tr, _ := c.Type.Traits(); tr.Quantized {
				rep.Requantized++
			}
		}
	}
	if rep.Requantized > 0 && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("%d tensors are already quantized: they are decoded and quantized again, which loses more precision than converting the original F32/F16/BF16 weights", rep.Requantized))
	}
	if rep.Fallbacks > 0 && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("%d of the tensors have rows that cannot hold 256-value K-quant blocks and got a fallback type (as llama.cpp does)", rep.Fallbacks))
	}
	lay, err := makeLayout(Metadata(kv, opts.Type), outs)
	if err != nil {
		return nil, err
	}
	rep.OutBytes = lay.total

	threads := opts.Threads
	if threads <= 0 {
		threads = goruntime.NumCPU()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	inFlight := 2 * threads
	order := make(chan *job, inFlight)
	jobs := make(chan *job)
	bufs := make(chan []byte, inFlight+2)

	// Producer: cut every tensor into chunks, in output order.
	go func() {
		defer close(order)
		defer close(jobs)
		for ti := range plan {
			c := &plan[ti]
			rows := c.Elements() / rowLen(&c.Tensor)
			per := max(1, chunkValues/rowLen(&c.Tensor))
			outRB := outs[ti].size / max(rows, 1)
			for first := int64(0); first < rows || (first == 0 && rows == 0); first += per {
				j := &job{t: ti, src: srcIndex[c.Name], first: first, n: min(per, rows-first), done: make(chan struct{}),
					convert: c.Convert || !hasRaw, from: c.Type, to: c.To, rowLen: rowLen(&c.Tensor), name: c.Name, outRowBytes: outRB}
				j.last = first+per >= rows
				select {
				case order <- j:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- j:
				case <-ctx.Done():
					j.err = ctx.Err()
					close(j.done)
					return
				}
				if rows == 0 {
					break
				}
			}
		}
	}()

	// Workers.
	var wg sync.WaitGroup
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f32 []float32
			for j := range jobs {
				if err := ctx.Err(); err != nil {
					j.err = err
					close(j.done)
					continue
				}
				if !j.convert {
					j.out, j.err = raw.RawRows(j.src, j.first, j.n)
					close(j.done)
					continue
				}
				nv := j.n * j.rowLen
				if int64(cap(f32)) < nv {
					f32 = make([]float32, nv)
				}
				f32 = f32[:nv]
				need := int(j.n * j.outRowBytes)
				var b []byte
				select {
				case b = <-bufs:
				default:
				}
				if cap(b) < need {
					b = make([]byte, need)
				}
				j.out, j.pooled = b[:need], true
				if err := src.ReadRows(j.src, j.first, j.n, f32); err != nil {
					j.err = err
				} else if err := quant.Quantize(j.to, f32, j.out); err != nil {
					j.err = fmt.Errorf("quantize: tensor %q: %w", j.name, err)
				}
				close(j.done)
			}
		}()
	}

	// Writer: in order, on this goroutine.
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	var firstErr error
	write := func(b []byte) {
		if firstErr != nil {
			return
		}
		n, err := bw.Write(b)
		written += int64(n)
		if err != nil {
			firstErr = err
			cancel()
		}
	}
	var zeros [64]byte
	write(lay.header)
	tensorBytes := int64(0)
	lastReport := time.Time{}
	for j := range order {
		<-j.done
		if firstErr == nil && j.err != nil {
			firstErr = j.err
			cancel()
		}
		write(j.out)
		tensorBytes += int64(len(j.out))
		if j.last && firstErr == nil {
			if tensorBytes != outs[j.t].size {
				firstErr = fmt.Errorf("quantize: internal error: tensor %q: %d bytes written, %d expected", j.name, tensorBytes, outs[j.t].size)
				cancel()
			}
			for p := pad(tensorBytes, lay.align) - tensorBytes; p > 0; {
				k := min(p, int64(len(zeros)))
				write(zeros[:k])
				p -= k
			}
			tensorBytes = 0
		}
		if j.pooled {
			select {
			case bufs <- j.out[:0]:
			default:
			}
		}
		j.out = nil
		if opts.Progress != nil && firstErr == nil && (j.last || time.Since(lastReport) > 100*time.Millisecond) {
			lastReport = time.Now()
			opts.Progress(Progress{Tensor: j.t, Tensors: len(plan), Name: j.name, Done: written, Total: lay.total})
		}
	}
	wg.Wait()
	if firstErr == nil {
		if err := ctx.Err(); err != nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = bw.Flush()
	}
	if firstErr == nil && written != lay.total {
		firstErr = fmt.Errorf("quantize: internal error: wrote %d bytes, the layout has %d", written, lay.total)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// WriteFile converts src to the GGUF file path. The data goes to a temporary
// file in the same directory, which is synced and renamed to path only when
// complete: on any error or cancellation, path is left as it was.
func WriteFile(ctx context.Context, src Source, path string, opts Options) (rep *Report, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if rep, err = Convert(ctx, src, tmp, opts); err != nil {
		return nil, err
	}
	if err = tmp.Sync(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return nil, err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	syncDir(dir)
	return rep, nil
}

// syncDir makes a rename durable where the platform allows (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ErrSameFile is returned by ConvertFile when the output is the input.
var ErrSameFile = errors.New("quantize: the output file is the input file")

// ConvertFile converts the GGUF file in to out (see WriteFile).
func ConvertFile(ctx context.Context, in, out string, opts Options) (*Report, error) {
	if a, err := os.Stat(in); err == nil {
		if b, err := os.Stat(out); err == nil && os.SameFile(a, b) {
			return nil, ErrSameFile
		}
	}
	f, err := gguf.Open(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	defer f.Close()
	src, err := FileSource(f)
	if err != nil {
		return nil, fmt.Errorf("quantize: %s: %w", in, err)
	}
	return WriteFile(ctx, src, out, opts)
}
