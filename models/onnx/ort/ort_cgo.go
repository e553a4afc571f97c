//go:build cgo && !purego

package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	ortgo "github.com/yalue/onnxruntime_go"
)

// Compiled reports whether this build contains the ONNX Runtime backend
// (cgo and not purego).
const Compiled = true

// lib is the process-wide ONNX Runtime environment: onnxruntime_go loads one
// library per process.
var lib struct {
	mu      sync.Mutex
	path    string // the library loaded, "" before
	version string
}

// Load loads the ONNX Runtime library (once per process) and returns the
// path it was loaded from and the library's version. library names the file
// to load; "" uses EDGEAI_ORT_LIB, then the usual locations. When nothing
// was named, an error wraps ErrUnavailable (nothing found, or what was found
// does not load, which the message says); a named library that fails to load
// is a plain error.
func Load(library string) (path, version string, err error) {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.path != "" {
		if library != "" && library != lib.path {
			return "", "", fmt.Errorf("ort: ONNX Runtime is already loaded from %s; one process loads one library (asked for %s)", lib.path, library)
		}
		return lib.path, lib.version, nil
	}
	named, source := library, "Options.Library"
	if named == "" {
		named, source = os.Getenv(EnvLibrary), EnvLibrary
	}
	if named != "" {
		if _, err := os.Stat(named); err != nil && isPath(named) {
			return "", "", fmt.Errorf("ort: %s=%s: %w; %s", source, named, err, InstallHint)
		}
		if err := initialize(named); err != nil {
			return "", "", fmt.Errorf("ort: %s=%s: %w; %s", source, named, err, InstallHint)
		}
		return lib.path, lib.version, nil
	}
	var tried []string
	var broken error // the first library found that does not work
	for _, c := range candidates() {
		if isPath(c) {
			if _, err := os.Stat(c); err != nil {
				tried = append(tried, c)
				continue
			}
		}
		err := initialize(c)
		if err == nil {
			return lib.path, lib.version, nil
		}
		tried = append(tried, c)
		if broken == nil && (isPath(c) || !strings.Contains(err.Error(), "Error loading ONNX shared library")) {
			broken = fmt.Errorf("%s: %w", c, err)
		}
	}
	if broken != nil {
		// Nothing was named, so this is still "unavailable" (a caller may
		// fall back to another backend), but the error says what is wrong.
		return "", "", fmt.Errorf("%w: found ONNX Runtime but it does not load: %w; %s", ErrUnavailable, broken, InstallHint)
	}
	return "", "", notFound(tried)
}

func initialize(path string) error {
	ortgo.SetSharedLibraryPath(path)
	if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelFatal()); err != nil {
		if strings.Contains(err.Error(), "API base") {
			return fmt.Errorf("%w (onnxruntime_go v1.27.0 needs ONNX Runtime 1.24 or later)", err)
		}
		return err
	}
	lib.path = path
	lib.version = ortgo.GetVersion()
	return nil
}

// Session is a model loaded into ONNX Runtime. Run is safe for concurrent
// use; Close waits for running calls to finish.
type Session struct {
	mu      sync.RWMutex
	s       *ortgo.DynamicAdvancedSession
	inputs  []IO
	outputs []IO
}

// NewSession loads a model (the bytes of its .onnx file) into ONNX Runtime.
// dir is the directory external data is read from (ONNX Runtime reads it
// itself; the caller has checked the references). inputs and outputs name
// the values Run takes and returns, in that order.
func NewSession(model []byte, dir string, inputs, outputs []IO, opts Options) (*Session, error) {
	if _, _, err := Load(opts.Library); err != nil {
		return nil, err
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return nil, fmt.Errorf("ort: threads: %w", err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("ort: threads: %w", err)
		}
	}
	if dir != "" {
		if err := so.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", dir); err != nil {
			return nil, fmt.Errorf("ort: external data folder: %w", err)
		}
	}
	in := make([]string, len(inputs))
	for i, v := range inputs {
		in[i] = v.Name
	}
	out := make([]string, len(outputs))
	for i, v := range outputs {
		out[i] = v.Name
	}
	s, err := ortgo.NewDynamicAdvancedSessionWithONNXData(model, in, out, so)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	return &Session{s: s, inputs: inputs, outputs: outputs}, nil
}

// Close releases the session. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// Run runs the model on inputs (in the order given to NewSession) and
// returns the outputs in theirs. Cancelling ctx stops ONNX Runtime at its
// next check (between operators).
func (s *Session) Run(ctx context.Context, inputs []Value) (_ []Value, err error) {
	defer func() {
		// A panic inside onnxruntime_go must not kill the host program.
		if p := recover(); p != nil {
			err = fmt.Errorf("ort: onnxruntime_go panicked: %v", p)
		}
	}()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return nil, errors.New("ort: session is closed")
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("ort: %d inputs, the session takes %d", len(inputs), len(s.inputs))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ins := make([]ortgo.Value, len(inputs))
	outs := make([]ortgo.Value, len(s.outputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, v := range inputs {
		ov, err := toORT(v)
		if err != nil {
			return nil, fmt.Errorf("ort: input %q: %w", s.inputs[i].Name, err)
		}
		ins[i] = ov
	}
	if len(inputs) == 0 {
		// onnxruntime_go's Run indexes the empty input list; a model without
		// inputs runs through an I/O binding with outputs of declared shape.
		if err := s.runBound(outs); err != nil {
			return nil, err
		}
		return s.results(outs)
	}
	for i, o := range s.outputs {
		ov, err := preallocate(o)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", o.Name, err)
		}
		outs[i] = ov
	}

	var ro *ortgo.RunOptions
	if ctx.Done() != nil {
		var err error
		if ro, err = ortgo.NewRunOptions(); err != nil {
			return nil, fmt.Errorf("ort: run options: %w", err)
		}
		var mu sync.Mutex
		finished := false
		stop := context.AfterFunc(ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if !finished {
				ro.Terminate()
			}
		})
		defer func() {
			stop()
			mu.Lock()
			finished = true
			mu.Unlock()
			ro.Destroy()
		}()
	}
	if err := s.s.RunWithOptions(ins, outs, ro); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ort: %w", ctx.Err())
		}
		return nil, fmt.Errorf("ort: %w", err)
	}
	return s.results(outs)
}

// results converts the outputs of a run.
func (s *Session) results(outs []ortgo.Value) ([]Value, error) {
	res := make([]Value, len(outs))
	for i, ov := range outs {
		v, err := fromORT(ov, s.outputs[i].Type)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", s.outputs[i].Name, err)
		}
		res[i] = v
	}
	return res, nil
}

// runBound runs a model without inputs, filling outs with buffers of the
// outputs' declared shapes.
func (s *Session) runBound(outs []ortgo.Value) error {
	b, err := s.s.CreateIoBinding()
	if err != nil {
		return fmt.Errorf("ort: %w", err)
	}
	defer b.Destroy()
	for i, o := range s.outputs {
		v, err := preallocate(o)
		if err == nil && v == nil {
			v, err = allocStatic(o)
		}
		if err != nil {
			return fmt.Errorf("ort: output %q of a model without inputs: %w", o.Name, err)
		}
		outs[i] = v
		if err := b.BindOutput(o.Name, v); err != nil {
			return fmt.Errorf("ort: output %q: %w", o.Name, err)
		}
	}
	if err := s.s.RunWithBinding(b); err != nil {
		return fmt.Errorf("ort: %w", err)
	}
	return nil
}

func emptyTensor[T ortgo.TensorData](dims []int64) (ortgo.Value, error) {
	return ortgo.NewEmptyTensor[T](ortgo.Shape(dims))
}

// allocStatic allocates a tensor of o's declared static shape.
func allocStatic(o IO) (ortgo.Value, error) {
	if !o.Tensor || !o.HasShape {
		return nil, errors.New("shape not declared")
	}
	if _, err := staticCount(o.Dims); err != nil {
		return nil, err
	}
	switch o.Type {
	case Float32:
		return emptyTensor[float32](o.Dims)
	case Float64:
		return emptyTensor[float64](o.Dims)
	case Int8:
		return emptyTensor[int8](o.Dims)
	case Uint8:
		return emptyTensor[uint8](o.Dims)
	case Int16:
		return emptyTensor[int16](o.Dims)
	case Uint16:
		return emptyTensor[uint16](o.Dims)
	case Int32:
		return emptyTensor[int32](o.Dims)
	case Uint32:
		return emptyTensor[uint32](o.Dims)
	case Int64:
		return emptyTensor[int64](o.Dims)
	case Uint64:
		return emptyTensor[uint64](o.Dims)
	case Bool:
		return emptyTensor[bool](o.Dims)
	}
	return nil, fmt.Errorf("%v outputs cannot be preallocated", typeName(o.Type))
}

// staticCount returns the element count of a fully static shape.
func staticCount(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("dynamic shape %v", dims)
		}
		if d != 0 && n > (1<<40)/d {
			return 0, fmt.Errorf("shape %v is too large", dims)
		}
		n *= d
	}
	return n, nil
}

// checkShape checks that a value's data has exactly the shape's element
// count, before any of it reaches C.
func checkShape(v Value, n int) error {
	want := int64(1)
	for _, d := range v.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", v.Shape)
		}
		if d != 0 && want > (1<<62)/d {
			return fmt.Errorf("shape %v overflows", v.Shape)
		}
		want *= d
	}
	if int64(n) != want {
		return fmt.Errorf("%d elements for shape %v (%d elements)", n, v.Shape, want)
	}
	return nil
}

func newTensor[T ortgo.TensorData](shape []int64, d []T) (ortgo.Value, error) {
	if len(shape) == 0 {
		return ortgo.NewScalar(d[0])
	}
	return ortgo.NewTensor(ortgo.Shape(shape), d)
}

// toORT wraps a Value as an ONNX Runtime tensor; numeric data is shared,
// not copied.
func toORT(v Value) (ortgo.Value, error) {
	n, err := dataLen(v.Data)
	if err != nil {
		return nil, err
	}
	if err := checkShape(v, n); err != nil {
		return nil, err
	}
	if want, ok := goType[v.Type]; !ok || want != fmt.Sprintf("%T", v.Data) {
		return nil, fmt.Errorf("element type %d does not match data %T", v.Type, v.Data)
	}
	switch d := v.Data.(type) {
	case []float32:
		return newTensor(v.Shape, d)
	case []float64:
		return newTensor(v.Shape, d)
	case []int8:
		return newTensor(v.Shape, d)
	case []uint8:
		return newTensor(v.Shape, d)
	case []int16:
		return newTensor(v.Shape, d)
	case []int32:
		return newTensor(v.Shape, d)
	case []uint32:
		return newTensor(v.Shape, d)
	case []int64:
		return newTensor(v.Shape, d)
	case []uint64:
		return newTensor(v.Shape, d)
	case []bool:
		return newTensor(v.Shape, d)
	case []uint16:
		if v.Type == Uint16 {
			return newTensor(v.Shape, d)
		}
		// float16 and bfloat16: onnxruntime_go has no Go type for them, so
		// they go in as bytes with an explicit element type.
		if len(v.Shape) == 0 || len(d) == 0 {
			return nil, fmt.Errorf("%v scalars and empty %v tensors are not supported by onnxruntime_go v1.27.0", typeName(v.Type), typeName(v.Type))
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 2*len(d))
		return ortgo.NewCustomDataTensor(ortgo.Shape(v.Shape), b, ortgo.TensorElementDataType(v.Type))
	case []string:
		if len(v.Shape) == 0 {
			return nil, errors.New("string scalars are not supported by onnxruntime_go v1.27.0")
		}
		t, err := ortgo.NewStringTensor(ortgo.Shape(v.Shape))
		if err != nil {
			return nil, err
		}
		if err := t.SetContents(d); err != nil {
			t.Destroy()
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("unsupported data %T", v.Data)
}

// preallocate returns an output buffer for the outputs onnxruntime_go
// v1.27.0 cannot allocate itself: rank-0 tensors (its Shape type rejects an
// empty shape) and float16/bfloat16 tensors (it copies one byte per element).
// Both need the declared shape; other outputs are left to ONNX Runtime.
func preallocate(o IO) (ortgo.Value, error) {
	if !o.Tensor || !o.HasShape {
		return nil, nil
	}
	if len(o.Dims) == 0 {
		switch o.Type {
		case Float32:
			return ortgo.NewEmptyScalar[float32]()
		case Float64:
			return ortgo.NewEmptyScalar[float64]()
		case Int8:
			return ortgo.NewEmptyScalar[int8]()
		case Uint8:
			return ortgo.NewEmptyScalar[uint8]()
		case Int16:
			return ortgo.NewEmptyScalar[int16]()
		case Uint16:
			return ortgo.NewEmptyScalar[uint16]()
		case Int32:
			return ortgo.NewEmptyScalar[int32]()
		case Uint32:
			return ortgo.NewEmptyScalar[uint32]()
		case Int64:
			return ortgo.NewEmptyScalar[int64]()
		case Uint64:
			return ortgo.NewEmptyScalar[uint64]()
		case Bool:
			return ortgo.NewEmptyScalar[bool]()
		}
		return nil, fmt.Errorf("%v scalar outputs are not supported by onnxruntime_go v1.27.0", typeName(o.Type))
	}
	if o.Type != Float16 && o.Type != BFloat16 {
		return nil, nil
	}
	n, err := staticCount(o.Dims)
	if err != nil {
		return nil, fmt.Errorf("%v outputs need a static shape with onnxruntime_go v1.27.0: %w", typeName(o.Type), err)
	}
	if n == 0 || n > 1<<31 {
		return nil, fmt.Errorf("%v output of %d elements is not supported by onnxruntime_go v1.27.0", typeName(o.Type), n)
	}
	return ortgo.NewCustomDataTensor(ortgo.Shape(o.Dims), make([]byte, 2*n), ortgo.TensorElementDataType(o.Type))
}

func fromTensor[T ortgo.TensorData](typ ElemType, t *ortgo.Tensor[T]) Value {
	return Value{Type: typ, Shape: t.GetShape(), Data: t.GetData()}
}

func fromScalar[T ortgo.TensorData](typ ElemType, s *ortgo.Scalar[T]) Value {
	return Value{Type: typ, Shape: []int64{}, Data: []T{s.GetData()}}
}

// fromORT converts an output to a Value. The data of Go-allocated tensors
// is taken over (they stay valid after Destroy); nothing is copied again.
func fromORT(v ortgo.Value, declared ElemType) (Value, error) {
	switch t := v.(type) {
	case *ortgo.Tensor[float32]:
		return fromTensor(Float32, t), nil
	case *ortgo.Tensor[float64]:
		return fromTensor(Float64, t), nil
	case *ortgo.Tensor[int8]:
		return fromTensor(Int8, t), nil
	case *ortgo.Tensor[uint8]:
		return fromTensor(Uint8, t), nil
	case *ortgo.Tensor[int16]:
		return fromTensor(Int16, t), nil
	case *ortgo.Tensor[uint16]:
		return fromTensor(Uint16, t), nil
	case *ortgo.Tensor[int32]:
		return fromTensor(Int32, t), nil
	case *ortgo.Tensor[uint32]:
		return fromTensor(Uint32, t), nil
	case *ortgo.Tensor[int64]:
		return fromTensor(Int64, t), nil
	case *ortgo.Tensor[uint64]:
		return fromTensor(Uint64, t), nil
	case *ortgo.Tensor[bool]:
		return fromTensor(Bool, t), nil
	case *ortgo.Scalar[float32]:
		return fromScalar(Float32, t), nil
	case *ortgo.Scalar[float64]:
		return fromScalar(Float64, t), nil
	case *ortgo.Scalar[int8]:
		return fromScalar(Int8, t), nil
	case *ortgo.Scalar[uint8]:
		return fromScalar(Uint8, t), nil
	case *ortgo.Scalar[int16]:
		return fromScalar(Int16, t), nil
	case *ortgo.Scalar[uint16]:
		return fromScalar(Uint16, t), nil
	case *ortgo.Scalar[int32]:
		return fromScalar(Int32, t), nil
	case *ortgo.Scalar[uint32]:
		return fromScalar(Uint32, t), nil
	case *ortgo.Scalar[int64]:
		return fromScalar(Int64, t), nil
	case *ortgo.Scalar[uint64]:
		return fromScalar(Uint64, t), nil
	case *ortgo.Scalar[bool]:
		return fromScalar(Bool, t), nil
	case *ortgo.StringTensor:
		s, err := t.GetContents()
		if err != nil {
			return Value{}, err
		}
		return Value{Type: String, Shape: t.GetShape(), Data: s}, nil
	case *ortgo.CustomDataTensor:
		typ := ElemType(t.DataType())
		if typ != Float16 && typ != BFloat16 {
			return Value{}, fmt.Errorf("element type %v is not supported", typeName(typ))
		}
		b := t.GetData()
		d := make([]uint16, len(b)/2)
		for i := range d {
			d[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		return Value{Type: typ, Shape: t.GetShape(), Data: d}, nil
	}
	return Value{}, fmt.Errorf("ONNX Runtime returned %T (declared %v); only tensors are supported", v, typeName(declared))
}
