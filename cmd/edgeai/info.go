package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/internal/safeopen"
	"github.com/edgeai-go/edgeai/runtime"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/quant"
)

func init() {
	register(&command{name: "info", summary: "describe a GGUF model file: metadata, tensors, checksum", run: runInfo})
}

// infoNoFile, if set, is what "edgeai info" without a file prints (for
// example the CPU features the kernels detected).
var infoNoFile func(w io.Writer) error

// infoShown is how many elements of a metadata array info shows unless --full.
const infoShown = 8

// infoMaxString is how many bytes of a metadata string the text output shows unless --full.
const infoMaxString = 160

func runInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", stderr)
	asJSON := fs.Bool("json", false, "write one JSON object instead of text")
	withSHA := fs.Bool("sha256", false, "also compute the SHA-256 of the whole file")
	full := fs.Bool("full", false, "show every array element and whole strings")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edgeai info [--json] [--sha256] [--full] FILE.gguf")
		fmt.Fprintln(stderr, "\nDescribes a GGUF file: architecture, parameter count, file type, every")
		fmt.Fprintln(stderr, "metadata key and the tensor table. Without FILE it describes this machine.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		if infoNoFile != nil {
			return infoNoFile(stdout)
		}
		return fmt.Errorf("%w: edgeai info [--json] [--sha256] [--full] FILE.gguf", errUsage)
	case 1:
	default:
		return fmt.Errorf("%w: info takes one file, got %d", errUsage, len(pos))
	}
	path := pos[0]
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep := newInfoReport(path, f, *full)
	if *withSHA {
		if rep.SHA256, err = infoSHA256(ctx, path); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	return rep.writeText(stdout, f, *full)
}

// infoReport is what info prints; its JSON form is the --json output.
type infoReport struct {
	File         string          `json:"file"`
	Size         int64           `json:"size"`
	SHA256       string          `json:"sha256,omitempty"`
	Version      uint32          `json:"version"`
	Architecture string          `json:"architecture"`
	Parameters   int64           `json:"parameters"`
	FileType     *infoFileType   `json:"file_type"`
	Alignment    int64           `json:"alignment"`
	DataOffset   int64           `json:"data_offset"`
	TensorBytes  int64           `json:"tensor_bytes"`
	Metadata     []infoKV        `json:"metadata"`
	Tensors      []infoTensor    `json:"tensors"`
	TypeCounts   []infoTypeCount `json:"tensor_types"`
	Memory       *infoMemory     `json:"memory,omitempty"` // decoders: what a session needs
}

// infoMemory is what a decoder needs to run: its weight matrices and one
// session's cache at the default context, per KV cache type.
type infoMemory struct {
	Context      int              `json:"context"` // the default session context: min(trained, 4096)
	WeightsBytes int64            `json:"weights_bytes"`
	Cache        map[string]int64 `json:"cache_bytes"` // one session's cache by KV cache type (f16, q8_0, ...)
	Error        string           `json:"error,omitempty"`
}

type infoFileType struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

type infoKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"` // scalar, or infoArray
}

// infoArray is an array value, with its first elements unless --full.
type infoArray struct {
	ElemType  string `json:"elem_type"`
	Len       int    `json:"len"`
	Values    []any  `json:"values"`
	Truncated bool   `json:"truncated"`
}

type infoTensor struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Shape     []int64 `json:"shape"`
	Elements  int64   `json:"elements"`
	Bytes     int64   `json:"bytes"`
	Offset    int64   `json:"offset"` // relative to the data section
	Supported bool    `json:"supported"`
}

type infoTypeCount struct {
	Type    string `json:"type"`
	Tensors int    `json:"tensors"`
	Bytes   int64  `json:"bytes"`
}

func newInfoReport(path string, f *gguf.File, full bool) *infoReport {
	rep := &infoReport{
		File:         path,
		Size:         f.Size(),
		Version:      f.Version,
		Architecture: f.Arch(),
		Parameters:   f.ParamCount(),
		Alignment:    f.Alignment,
		DataOffset:   f.DataOffset,
		Metadata:     []infoKV{},
		Tensors:      []infoTensor{},
		TypeCounts:   []infoTypeCount{},
	}
	if id, name, ok := f.FileType(); ok {
		rep.FileType = &infoFileType{id, name}
	}
	shown := infoShown
	if full {
		shown = -1
	}
	for _, kv := range f.KV {
		rep.Metadata = append(rep.Metadata, infoKV{kv.Key, kv.Value.Type.String(), infoJSONValue(kv.Value, shown)})
	}
	counts := map[quant.Type]*infoTypeCount{}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		rep.Tensors = append(rep.Tensors, infoTensor{
			Name: t.Name, Type: t.Type.String(), Shape: t.Shape, Elements: t.Elements(),
			Bytes: t.Size, Offset: t.Offset, Supported: t.Type.Check() == nil,
		})
		rep.TensorBytes += t.Size
		c := counts[t.Type]
		if c == nil {
			c = &infoTypeCount{Type: t.Type.String()}
			counts[t.Type] = c
		}
		c.Tensors++
		c.Bytes += t.Size
	}
	for _, c := range counts {
		rep.TypeCounts = append(rep.TypeCounts, *c)
	}
	rep.Memory = decoderMemory(f)
	sort.Slice(rep.TypeCounts, func(i, j int) bool {
		a, b := rep.TypeCounts[i], rep.TypeCounts[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Type < b.Type
	})
	return rep
}

// infoJSONValue converts a metadata value for encoding/json: non-finite floats
// become the strings "NaN", "+Inf" and "-Inf", arrays an infoArray of at most
// limit elements (all if limit < 0).
func infoJSONValue(v gguf.Value, limit int) any {
	if elem, ok := v.Elem(); ok {
		_, vals, _ := v.Array()
		a := infoArray{ElemType: elem.String(), Len: len(vals), Values: []any{}}
		if limit >= 0 && len(vals) > limit {
			vals, a.Truncated = vals[:limit], true
		}
		for _, e := range vals {
			a.Values = append(a.Values, infoJSONValue(e, limit))
		}
		return a
	}
	if v.Type == gguf.TypeFloat32 || v.Type == gguf.TypeFloat64 {
		x, _ := v.Float()
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "+Inf"
		case math.IsInf(x, -1):
			return "-Inf"
		}
		if v.Type == gguf.TypeFloat32 {
			// Print the float32's shortest form (1e-05, not 9.999999747378752e-06).
			return json.Number(strconv.FormatFloat(x, 'g', -1, 32))
		}
	}
	return v.Interface()
}

func (rep *infoReport) writeText(w io.Writer, f *gguf.File, full bool) error {
	bw := &infoErrWriter{w: w}
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("file:          %s\n", rep.File)
	p("size:          %d bytes (%s)\n", rep.Size, infoBytes(rep.Size))
	if rep.SHA256 != "" {
		p("sha256:        %s\n", rep.SHA256)
	}
	p("gguf version:  %d\n", rep.Version)
	arch := rep.Architecture
	if arch == "" {
		arch = "(none: no general.architecture)"
	}
	p("architecture:  %s\n", arch)
	p("parameters:    %s (%d)\n", infoCount(rep.Parameters), rep.Parameters)
	if rep.FileType != nil {
		p("file type:     %s (%d)\n", rep.FileType.Name, rep.FileType.ID)
	} else {
		p("file type:     (not recorded)\n")
	}
	p("alignment:     %d\n", rep.Alignment)
	if len(rep.Tensors) > 0 {
		p("data:          %s of tensors from byte %d\n", infoBytes(rep.TensorBytes), rep.DataOffset)
	} else {
		p("data:          no tensors\n")
	}

	if m := rep.Memory; m != nil {
		if m.Error != "" {
			p("memory:        cannot load as a decoder: %s\n", m.Error)
		} else {
			p("memory:        weights %s; one session's cache at context %d: %s (f16), %s (q8_0), %s (f32)\n",
				infoBytes(m.WeightsBytes), m.Context, infoBytes(m.Cache["f16"]), infoBytes(m.Cache["q8_0"]), infoBytes(m.Cache["f32"]))
		}
	}

	p("\nmetadata (%d keys):\n", len(f.KV))
	kw := 0
	for _, kv := range f.KV {
		kw = max(kw, len(kv.Key))
	}
	shown := infoShown
	if full {
		shown = -1
	}
	for _, kv := range f.KV {
		s := kv.Value.Format(shown)
		if !full && kv.Value.Type == gguf.TypeString && len(s) > infoMaxString {
			str, _ := kv.Value.Str()
			s = s[:infoMaxString] + fmt.Sprintf("... (%d bytes)", len(str))
		}
		p("  %-*s  %-7s  %s\n", kw, kv.Key, kv.Value.Type, s)
	}

	p("\ntensors (%d):\n", len(rep.Tensors))
	if len(rep.Tensors) > 0 {
		nw, tw, sw := len("NAME"), len("TYPE"), len("SHAPE")
		shapes := make([]string, len(rep.Tensors))
		for i, t := range rep.Tensors {
			shapes[i] = infoShape(t.Shape)
			nw, tw, sw = max(nw, len(t.Name)), max(tw, len(t.Type)+1), max(sw, len(shapes[i]))
		}
		p("  %-*s  %-*s  %-*s  %12s  %12s\n", nw, "NAME", tw, "TYPE", sw, "SHAPE", "BYTES", "OFFSET")
		unsupported := false
		for i, t := range rep.Tensors {
			typ := t.Type
			if !t.Supported {
				typ += "*"
				unsupported = true
			}
			p("  %-*s  %-*s  %-*s  %12d  %12d\n", nw, t.Name, tw, typ, sw, shapes[i], t.Bytes, t.Offset)
		}
		if unsupported {
			p("  * edgeai cannot decode this tensor type\n")
		}
		p("\ntensor types:\n")
		for _, c := range rep.TypeCounts {
			p("  %-*s  %4d tensors  %s\n", tw, c.Type, c.Tensors, infoBytes(c.Bytes))
		}
	}
	return bw.err
}

// infoShape formats a ggml shape as "64 x 512" (row length first).
func infoShape(shape []int64) string {
	if len(shape) == 0 {
		return "scalar"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return strings.Join(parts, " x ")
}

// infoCount formats n as e.g. 292.8K, 1.10B.
func infoCount(n int64) string {
	x := float64(n)
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fB", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fK", x/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// infoBytes formats n bytes in binary units, e.g. 1.13 MiB.
func infoBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	x, i := float64(n), -1
	for x >= unit && i < 5 {
		x /= unit
		i++
	}
	return fmt.Sprintf("%.2f %ciB", x, "KMGTPE"[i])
}

// infoSHA256 hashes the file at path, stopping if ctx is cancelled.
func infoSHA256(ctx context.Context, path string) (string, error) {
	fh, err := safeopen.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := fh.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// infoErrWriter remembers the first write error.
type infoErrWriter struct {
	w   io.Writer
	err error
}

func (e *infoErrWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// decoderMemory binds f's decoder (views into the mapping: cheap) and
// returns its memory figures, nil for files that are no decoder.
func decoderMemory(f *gguf.File) *infoMemory {
	if nn.IsEncoder(f.Arch()) || f.Arch() == "" {
		return nil
	}
	dec, err := nn.LoadDecoder(f)
	if err != nil {
		return &infoMemory{Error: err.Error()}
	}
	c := dec.Config()
	ctxSize := min(c.ContextLength, runtime.DefaultContextSize)
	m := &infoMemory{Context: ctxSize, WeightsBytes: dec.Weights().Bytes(), Cache: map[string]int64{}}
	for _, t := range []quant.Type{quant.F32, quant.F16, quant.Q8_0} {
		o := nn.CacheOptions{K: t, V: t, Batch: 64}
		if _, err := dec.NewCache(1, o); err == nil { // the type suits the heads
			m.Cache[strings.ToLower(t.String())] = dec.CacheBytes(ctxSize, o)
		}
	}
	return m
}
