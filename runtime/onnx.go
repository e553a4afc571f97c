package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// ONNX models (voice activity detection, OCR, wake words, classifiers,
// embedders) run through one API whatever executes them: LoadONNX returns an
// ONNXSession with named, typed inputs and outputs, and a backend does the
// arithmetic. Backends: "ort" (ONNX Runtime through cgo, see
// models/onnx/ort) and "go" (edgeai's own pure-Go interpreter on its SIMD
// kernels, models/onnx/exec, in every build including CGO_ENABLED=0).

// ErrONNXBackendUnavailable reports that the requested ONNX backend cannot
// run in this build or on this machine (for "ort": built without cgo, or the
// ONNX Runtime library was not found).
var ErrONNXBackendUnavailable = errors.New("runtime: ONNX backend unavailable")

var errONNXClosed = errors.New("runtime: ONNX session is closed")

// The names of the ONNX backends.
const (
	ONNXBackendORT = "ort" // ONNX Runtime (cgo)
	ONNXBackendGo  = "go"  // edgeai's pure-Go interpreter
)

// ONNXOptions configure LoadONNX. The zero value picks the first available
// backend and its default thread count.
type ONNXOptions struct {
	// Backend is ONNXBackendORT, ONNXBackendGo or "" for the first
	// available one (ort, then go).
	Backend string
	// Threads is the number of threads one Run uses; 0 is the backend's
	// default (all physical cores for ONNX Runtime, GOMAXPROCS for go).
	Threads int
	// ORTLibrary is the path of the ONNX Runtime shared library; "" uses
	// EDGEAI_ORT_LIB and then the usual locations.
	ORTLibrary string
	// MaxRunBytes bounds the memory of the tensors one Run of the go
	// backend holds at once: a run whose inputs call for more (a huge
	// batch) fails with a clear error before allocating it. 0 is the
	// default, half the memory available to the process (exec.
	// DefaultMaxRunBytes); negative means no bound. ONNX Runtime ignores
	// it (it reports its own allocation failures).
	MaxRunBytes int64
}

// TensorInfo describes an input or output of an ONNX model.
type TensorInfo struct {
	Name string
	Type TensorType
	// Shape has one entry per dimension, -1 where the size is dynamic; nil
	// when the model does not give the rank (HasShape false).
	Shape    []int64
	HasShape bool
	// DimNames holds the symbolic names of dynamic dimensions ("batch",
	// "N"), "" elsewhere; nil when no dimension is named.
	DimNames []string
}

// String formats the info as "name float32[1,N,64]".
func (ti TensorInfo) String() string {
	return ti.Name + " " + ti.Type.String() + ti.ShapeString()
}

// ShapeString formats the shape as "[1,N,64]", "?" for an unnamed dynamic
// dimension, "[?]" for an unknown rank.
func (ti TensorInfo) ShapeString() string {
	if !ti.HasShape {
		return "[?]"
	}
	parts := make([]string, len(ti.Shape))
	for i, d := range ti.Shape {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case ti.DimNames != nil && ti.DimNames[i] != "":
			parts[i] = ti.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ONNXSession is a loaded ONNX model. Run is safe for concurrent use; Close
// releases the backend's resources once the running calls have returned.
type ONNXSession struct {
	path    string
	backend string
	inputs  []TensorInfo
	outputs []TensorInfo

	mu     sync.RWMutex
	engine onnxEngine // nil once closed
}

// onnxModel is what a backend gets to open: the parsed model, its bytes and
// the public description of its inputs and outputs.
type onnxModel struct {
	path    string
	dir     string
	data    []byte
	model   *onnx.Model
	inputs  []TensorInfo
	outputs []TensorInfo
}

// onnxEngine runs a loaded model. run takes the inputs and returns the
// outputs in the order of onnxModel.inputs and .outputs, already checked
// against them; it must be safe for concurrent use.
type onnxEngine interface {
	run(ctx context.Context, inputs []*Tensor) ([]*Tensor, error)
	close() error
}

// onnxBackend is one way of running ONNX models.
type onnxBackend struct {
	name string
	// available reports nil if the backend can run in this process.
	available func(opts ONNXOptions) error
	// open loads the model.
	open func(ctx context.Context, m *onnxModel, opts ONNXOptions) (onnxEngine, error)
}

var onnxBackends = map[string]*onnxBackend{}

// onnxBackendOrder is the order "" (auto) tries the backends in.
var onnxBackendOrder = []string{ONNXBackendORT, ONNXBackendGo}

func registerONNXBackend(b *onnxBackend) {
	if _, dup := onnxBackends[b.name]; dup {
		panic("runtime: duplicate ONNX backend " + b.name)
	}
	onnxBackends[b.name] = b
}

// ONNXBackends returns the names of the ONNX backends, in the order
// ONNXOptions{Backend: ""} tries them.
func ONNXBackends() []string {
	return slices.Clone(onnxBackendOrder)
}

// ONNXBackendAvailable returns nil if the named backend can run in this
// process with opts, or an error (wrapping ErrONNXBackendUnavailable when
// it is simply absent) saying why not and how to fix it.
func ONNXBackendAvailable(name string, opts ONNXOptions) error {
	b, ok := onnxBackends[name]
	if !ok {
		return fmt.Errorf("runtime: unknown ONNX backend %q (have %s)", name, strings.Join(onnxBackendOrder, ", "))
	}
	return b.available(opts)
}

// hfTokenizerFiles are the files tokenizer.LoadHF may read in a directory.
var hfTokenizerFiles = []string{"tokenizer.json", "sentencepiece.bpe.model", "spiece.model", "vocab.txt", "tokenizer_config.json"}

// regularIfPresent fails if one of the named files of dir exists and is not
// a regular file (a FIFO would block the read that follows forever).
func regularIfPresent(dir string, names ...string) error {
	for _, n := range names {
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			continue // absent (or unreadable): the reader reports it
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: %w", p, onnx.ErrNotRegular)
		}
	}
	return nil
}

// readONNX reads, decodes and checks an ONNX model file.
func readONNX(path string) (*onnxModel, error) {
	data, err := onnx.ReadRegularFile(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	m, err := onnx.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	m.Dir = filepath.Dir(path)
	if err := m.CheckExternal(); err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	om := &onnxModel{path: path, dir: m.Dir, data: data, model: m}
	init := map[string]bool{}
	for _, t := range m.Graph.Initializers {
		init[t.Name] = true
	}
	for _, v := range m.Graph.Inputs {
		if init[v.Name] {
			continue // an initializer with a default value, not a real input
		}
		ti, err := tensorInfo(v)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s: input %w", path, err)
		}
		om.inputs = append(om.inputs, ti)
	}
	for _, v := range m.Graph.Outputs {
		ti, err := tensorInfo(v)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s: output %w", path, err)
		}
		om.outputs = append(om.outputs, ti)
	}
	return om, nil
}

// tensorInfo converts a graph input or output; only tensors are supported.
func tensorInfo(v *onnx.ValueInfo) (TensorInfo, error) {
	ti := TensorInfo{Name: v.Name}
	if v.Type == nil {
		return ti, fmt.Errorf("%q has no type in the model", v.Name)
	}
	if v.Type.Kind != onnx.KindTensor {
		return ti, fmt.Errorf("%q is a %s value; only tensors are supported", v.Name, v.Type)
	}
	ti.Type = TensorType(v.Type.Elem)
	if _, ok := tensorTypes[ti.Type]; !ok {
		return ti, fmt.Errorf("%q has element type %v, which is not supported", v.Name, v.Type.Elem)
	}
	if v.Type.HasShape {
		ti.HasShape = true
		ti.Shape = make([]int64, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			ti.Shape[i] = -1
			if d.Known && d.Value >= 0 {
				ti.Shape[i] = d.Value
			} else if d.Param != "" {
				if ti.DimNames == nil {
					ti.DimNames = make([]string, len(v.Type.Shape))
				}
				ti.DimNames[i] = d.Param
			}
		}
	}
	return ti, nil
}

// LoadONNX loads the ONNX model at path on a backend (see ONNXOptions).
// External data must lie inside the model's directory.
func LoadONNX(ctx context.Context, path string, opts ONNXOptions) (*ONNXSession, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("runtime: negative thread count %d", opts.Threads)
	}
	om, err := readONNX(path)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names := onnxBackendOrder
	if opts.Backend != "" {
		if _, ok := onnxBackends[opts.Backend]; !ok {
			return nil, fmt.Errorf("runtime: unknown ONNX backend %q (have %s)", opts.Backend, strings.Join(onnxBackendOrder, ", "))
		}
		names = []string{opts.Backend}
	}
	var why []string
	for _, name := range names {
		b := onnxBackends[name]
		if err := b.available(opts); err != nil {
			if opts.Backend != "" || !errors.Is(err, ErrONNXBackendUnavailable) {
				return nil, err
			}
			why = append(why, err.Error())
			continue
		}
		eng, err := b.open(ctx, om, opts)
		if err != nil {
			return nil, fmt.Errorf("runtime: %s backend: %s: %w", name, path, err)
		}
		return &ONNXSession{path: path, backend: name, inputs: om.inputs, outputs: om.outputs, engine: eng}, nil
	}
	return nil, fmt.Errorf("%w: no ONNX backend can run here: %s", ErrONNXBackendUnavailable, strings.Join(why, "; "))
}

// Backend returns the name of the backend running the session.
func (s *ONNXSession) Backend() string { return s.backend }

// Path returns the model file's path.
func (s *ONNXSession) Path() string { return s.path }

// Inputs describes the model's inputs, in the model's order.
func (s *ONNXSession) Inputs() []TensorInfo { return cloneInfos(s.inputs) }

// Outputs describes the model's outputs, in the model's order.
func (s *ONNXSession) Outputs() []TensorInfo { return cloneInfos(s.outputs) }

func cloneInfos(in []TensorInfo) []TensorInfo {
	out := make([]TensorInfo, len(in))
	for i, ti := range in {
		ti.Shape = slices.Clone(ti.Shape)
		ti.DimNames = slices.Clone(ti.DimNames)
		out[i] = ti
	}
	return out
}

// Close releases the session's resources. It waits for running calls of
// Run and may be called more than once.
func (s *ONNXSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engine == nil {
		return nil
	}
	err := s.engine.close()
	s.engine = nil
	return err
}

// Run runs the model once. inputs maps every input name to a tensor whose
// type matches the model's and whose shape matches its static dimensions;
// the result maps every output name to a new tensor. The input tensors are
// not modified and may be reused after Run returns.
func (s *ONNXSession) Run(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error) {
	ordered, err := s.checkInputs(inputs)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.engine == nil {
		return nil, errONNXClosed
	}
	outs, err := s.engine.run(ctx, ordered)
	if err != nil {
		return nil, fmt.Errorf("runtime: %s: %w", filepath.Base(s.path), err)
	}
	if len(outs) != len(s.outputs) {
		return nil, fmt.Errorf("runtime: %s backend returned %d outputs, want %d", s.backend, len(outs), len(s.outputs))
	}
	res := make(map[string]*Tensor, len(outs))
	for i, t := range outs {
		res[s.outputs[i].Name] = t
	}
	return res, nil
}

// checkInputs orders the inputs as the model declares them and checks each
// one's type and shape.
func (s *ONNXSession) checkInputs(inputs map[string]*Tensor) ([]*Tensor, error) {
	ordered := make([]*Tensor, len(s.inputs))
	var missing []string
	for i, ti := range s.inputs {
		t, ok := inputs[ti.Name]
		if !ok || t == nil {
			missing = append(missing, ti.Name)
			continue
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("input %q: %w", ti.Name, err)
		}
		if t.Type != ti.Type {
			return nil, fmt.Errorf("runtime: input %q is %v, the model takes %v", ti.Name, t.Type, ti.Type)
		}
		if ti.HasShape {
			ok := len(t.Shape) == len(ti.Shape)
			for j := 0; ok && j < len(ti.Shape); j++ {
				ok = ti.Shape[j] < 0 || ti.Shape[j] == t.Shape[j]
			}
			if !ok {
				return nil, fmt.Errorf("runtime: input %q has shape %v, the model takes %s", ti.Name, t.Shape, ti.ShapeString())
			}
		}
		ordered[i] = t
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("runtime: missing input(s) %s", strings.Join(missing, ", "))
	}
	if len(inputs) > len(s.inputs) {
		var extra []string
		for name := range inputs {
			if !slices.ContainsFunc(s.inputs, func(ti TensorInfo) bool { return ti.Name == name }) {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("runtime: the model has no input(s) %s", strings.Join(extra, ", "))
	}
	return ordered, nil
}
