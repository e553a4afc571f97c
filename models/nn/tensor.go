// Package nn holds what the architectures share, and only that: weight
// tensors viewed in place from the model file and their declarative binding
// (one error listing every missing tensor), validated hyperparameters (one
// error naming every bad key), where the weights live (Weights: mapped, or
// copied and packed), the worker-pool backed linear layer, RMSNorm and
// LayerNorm, the RoPE variants, attention over a KV cache with GQA, sliding
// windows and soft-capping, the activations, and the decoder interface.
//
// A decoder architecture (models/llama, models/qwen2, ...) implements
// Decoder with a Forward that reads top to bottom, one pass of a batch of
// tokens (Pass) from one or more sequences, each with its own Cache; Run
// splits a batch into passes of a Workspace's size. Workspaces (activations)
// and Caches (per sequence) are separate so that a server can decode many
// sequences in one pass.
package nn

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// Tensor is a weight tensor viewed in place from the model file, or copied
// from it at load (see runtime.WithMmap).
type Tensor struct {
	Name  string
	Type  quant.Type
	Shape []int64 // ggml ne order: Shape[0] is the row length
	Data  []byte  // raw blocks, a view into the memory map or a copy

	// Packed says Data is in the kernels' packed layout (kernels.Pack),
	// which only Linear's products read; see Pack.
	Packed bool

	// rows, if not nil, loads a row of Data from the model file on its
	// first use (Row): a token embedding copied by Weights.Copy.
	rows *lazyRows
}

// PackPays reports whether Pack would pack t: a matrix, not yet packed,
// of a type the kernels in use multiply faster packed.
func (t *Tensor) PackPays() bool {
	return !t.Packed && len(t.Shape) == 2 && kernels.PackGroup(t.Type) > 0 && kernels.PackPays(t.Type)
}

// Pack rearranges a copied weight matrix in place into the kernels' packed
// layout when the kernels in use multiply that layout faster
// (kernels.PackPays), and reports whether it did. Data must be writable
// memory (a copy, never the file's read-only mapping). Linear's products
// and Row read a packed tensor; Floats refuses it.
func (t *Tensor) Pack() bool {
	if !t.PackPays() {
		return false
	}
	kernels.Pack(t.Type, t.Data, t.Data, t.Rows(), t.Cols())
	t.Packed = true
	return true
}

// RowsView returns rows [r0, r1) of a two-dimensional, unpacked t as a
// tensor of its own, sharing t's bytes: one part of a fused projection
// (Phi-3's attn_qkv, its [gate; up]), multiplied and packed like any other
// matrix.
func (t *Tensor) RowsView(part string, r0, r1 int) (Tensor, error) {
	if len(t.Shape) != 2 || t.Packed || r0 < 0 || r1 > t.Rows() || r0 >= r1 {
		return Tensor{}, fmt.Errorf("nn: %s: rows [%d, %d) of a tensor of shape %v", t.Name, r0, r1, t.Shape)
	}
	rb := t.RowBytes()
	return Tensor{Name: t.Name + "[" + part + "]", Type: t.Type, Shape: []int64{t.Shape[0], int64(r1 - r0)},
		Data: t.Data[r0*rb : r1*rb : r1*rb]}, nil
}

// Cols returns the row length (Shape[0]).
func (t *Tensor) Cols() int { return int(t.Shape[0]) }

// Rows returns the number of rows (the product of Shape[1:]).
func (t *Tensor) Rows() int {
	r := 1
	for _, d := range t.Shape[1:] {
		r *= int(d)
	}
	return r
}

// RowBytes returns the bytes of one row.
func (t *Tensor) RowBytes() int {
	n, _ := t.Type.RowBytes(t.Cols())
	return n
}

// Row dequantizes row i into dst (len Cols()).
func (t *Tensor) Row(i int, dst []float32) error {
	rb := t.RowBytes()
	if i < 0 || i >= t.Rows() {
		return fmt.Errorf("nn: %s: row %d out of range [0,%d)", t.Name, i, t.Rows())
	}
	if t.Packed { // block by block (at most 256 bytes each: Q6_K's 210), into dst
		var blk [256]byte
		tr, _ := t.Type.Traits()
		n, bs := tr.BlockSize, tr.BlockBytes
		if n <= 0 || bs > len(blk) {
			return fmt.Errorf("nn: %s: packed %v rows cannot be read", t.Name, t.Type)
		}
		for b := range t.Cols() / n {
			kernels.PackedBlock(t.Type, t.Data, t.Rows(), t.Cols(), i, b, blk[:bs])
			if err := quant.Dequantize(t.Type, blk[:bs], dst[n*b:n*b+n]); err != nil {
				return fmt.Errorf("nn: %s: %w", t.Name, err)
			}
		}
		return nil
	}
	if t.rows != nil {
		if err := t.rows.load(i, t.Data[i*rb:(i+1)*rb]); err != nil {
			return fmt.Errorf("nn: %s: %w", t.Name, err)
		}
	}
	return quant.Dequantize(t.Type, t.Data[i*rb:(i+1)*rb], dst)
}

// Floats returns the whole tensor as float32 values: a copy (dequantized if
// need be), or a view into the file's mapping for an aligned F32 tensor
// larger than floatsViewMin bytes. Meant for small tensors (norm weights,
// biases): copying them keeps the mapping's pages out of the resident set
// once the weight matrices are copied (Weights.Copy), where reading a
// 2 KiB norm weight in place would fault in 64 KiB, or a whole 2 MiB folio
// of the page cache, around it.
func (t *Tensor) Floats() ([]float32, error) {
	n := t.Cols() * t.Rows()
	if t.Packed {
		return nil, fmt.Errorf("nn: %s: the values of a packed tensor cannot be read", t.Name)
	}
	if t.Type == quant.F32 && len(t.Data) > floatsViewMin && uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))%4 == 0 && len(t.Data) == 4*n {
		return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(t.Data))), n), nil
	}
	out := make([]float32, n)
	if err := quant.Dequantize(t.Type, t.Data, out); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", t.Name, err)
	}
	return out, nil
}

// floatsViewMin is the size above which Floats returns a view of an F32
// tensor rather than a copy.
const floatsViewMin = 1 << 20

// CheckShape returns an error unless t has exactly the given shape (ne order).
func (t *Tensor) CheckShape(shape ...int) error {
	ok := len(t.Shape) == len(shape)
	for i := 0; ok && i < len(shape); i++ {
		ok = t.Shape[i] == int64(shape[i])
	}
	if !ok {
		return fmt.Errorf("nn: tensor %s has shape %v, want %v", t.Name, t.Shape, shape)
	}
	return nil
}

// ErrMissingTensors is matched (errors.Is) by a *MissingTensorsError.
var ErrMissingTensors = errors.New("missing tensors")

// MissingTensorsError lists every tensor a model needs that its file lacks.
type MissingTensorsError struct {
	Names []string
}

func (e *MissingTensorsError) Error() string {
	return fmt.Sprintf("%v: %s", ErrMissingTensors, strings.Join(e.Names, ", "))
}

// Is makes errors.Is(err, ErrMissingTensors) true.
func (e *MissingTensorsError) Is(target error) bool { return target == ErrMissingTensors }

// Bind fills the Tensor and *Tensor fields of the struct pointed to by dst from
// the file, by their `gguf:"name"` tags. A tag may hold a %d verb, filled from
// layer; ",optional" marks a tensor that may be absent (a *Tensor field then
// stays nil). Every missing required tensor is listed in one
// *MissingTensorsError.
func Bind(f *gguf.File, dst any, layer int) error {
	var missing []string
	if err := bind(f, reflect.ValueOf(dst), layer, &missing); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &MissingTensorsError{Names: missing}
	}
	return nil
}

// BindModel binds top (layer-independent tensors) and then every element of
// layers with its index, and lists every missing tensor of all of them in
// one *MissingTensorsError.
func BindModel[L any](f *gguf.File, top any, layers []L) error {
	var missing []string
	if err := bind(f, reflect.ValueOf(top), 0, &missing); err != nil {
		return err
	}
	for i := range layers {
		if err := bind(f, reflect.ValueOf(&layers[i]), i, &missing); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		return &MissingTensorsError{Names: missing}
	}
	return nil
}

var tensorType = reflect.TypeOf(Tensor{})

func bind(f *gguf.File, v reflect.Value, layer int, missing *[]string) error {
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("nn: Bind wants a pointer to a struct, got %s", v.Type())
	}
	s := v.Elem()
	for i := 0; i < s.NumField(); i++ {
		field := s.Type().Field(i)
		tag, ok := field.Tag.Lookup("gguf")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		optional := opts == "optional"
		if strings.Contains(name, "%d") {
			name = fmt.Sprintf(name, layer)
		}
		ti, found := f.Tensor(name)
		if !found {
			if !optional {
				*missing = append(*missing, name)
			}
			continue
		}
		if err := kernels.Check(ti.Type); err != nil {
			return fmt.Errorf("nn: tensor %s: %w", name, err)
		}
		data, err := f.TensorData(ti)
		if err != nil {
			return fmt.Errorf("nn: tensor %s: %w", name, err)
		}
		t := Tensor{Name: name, Type: ti.Type, Shape: ti.Shape, Data: data}
		fv := s.Field(i)
		switch {
		case fv.Type() == tensorType:
			fv.Set(reflect.ValueOf(t))
		case fv.Type() == reflect.PointerTo(tensorType):
			fv.Set(reflect.ValueOf(&t))
		default:
			return fmt.Errorf("nn: field %s has a gguf tag but type %s", field.Name, fv.Type())
		}
	}
	return nil
}

// Checker collects the shape checks and float views of a model's tensors
// while it loads, so that every wrong shape is reported at once.
type Checker struct {
	errs []error
}

// Shape checks that t (if not nil) has exactly the given shape (ne order).
func (c *Checker) Shape(t *Tensor, shape ...int) {
	if t == nil {
		return
	}
	if err := t.CheckShape(shape...); err != nil {
		c.errs = append(c.errs, err)
	}
}

// Floats returns t's values as float32 (nil for a nil t), for small tensors
// (norm weights, biases).
func (c *Checker) Floats(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	f, err := t.Floats()
	if err != nil {
		c.errs = append(c.errs, err)
	}
	return f
}

// Add records an error (nil is ignored).
func (c *Checker) Add(err error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

// Err returns every recorded error joined, or nil.
func (c *Checker) Err() error { return errors.Join(c.errs...) }

// ErrIf returns an error with the formatted message if cond holds, else nil
// (for Checker.Add).
func ErrIf(cond bool, format string, args ...any) error {
	if cond {
		return fmt.Errorf(format, args...)
	}
	return nil
}
