package exec

import (
	"slices"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// TestOpAttrExtremes gives every operator each integer attribute it reads,
// set to extreme values (negative, zero, huge; lists empty, short, long),
// over the input mixes of TestOpArity: each outcome must be a result or an
// ordinary error. (The fuzzer found MaxUnpool indexing a short
// kernel_shape; this sweeps the registry for that class of bug.)
func TestOpAttrExtremes(t *testing.T) {
	names := make([]string, 0, len(registry))
	for n := range registry {
		if n != "If" && n != "Loop" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	candidates := []string{"axis", "axes", "perm", "split", "num_outputs", "keepdims", "k", "largest", "sorted",
		"exclusive", "reverse", "upper", "to", "kernel_shape", "pads", "strides", "dilations", "group",
		"transA", "transB", "hidden_size", "batch_dims", "blocksize", "block_size", "output_padding", "output_shape",
		"allowzero", "noop_with_empty_axes", "select_last_index", "p", "storage_order", "ceil_mode",
		"count_include_pad", "exclude_outside", "antialias", "saturate", "input_forget", "layout", "fmod",
		"stash_type", "consumed_inputs", "broadcast", "is_test", "spatial", "training_mode", "start", "end", "value_int", "value_ints"}
	ints := []int64{-1 << 40, -3, -1, 0, 1, 2, 5, 1 << 40}
	lists := [][]int64{{}, {0}, {-1}, {1 << 40}, {1, 1}, {0, 2, 1}, {3, 3, 3, 3}, {1, 2, 3, 4, 5, 6, 7}, {-1 << 40, 1 << 40, 1, 1}}
	mk := []func() *Tensor{
		func() *Tensor { return f32s([]int{2, 3}, 1, 2, 3, 4, 5, 6) },
		func() *Tensor { return f32s([]int{1, 2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8) },
		func() *Tensor { return &Tensor{Type: onnx.Int64, Shape: []int{2}, Data: []int64{1, 0}} },
		func() *Tensor { return f32s([]int{}, 2) },
	}
	runs := 0
	for _, name := range names {
		spec := registry[name]
		nin := max(spec.minIn, 1)
		if spec.maxIn >= 0 {
			nin = min(nin, spec.maxIn)
		}
		inputs := func(k int) []*Tensor {
			in := make([]*Tensor, nin)
			for i := range in {
				in[i] = mk[(k+i)%len(mk)]()
			}
			return in
		}
		for _, an := range candidates {
			// Does the operator read the attribute (as an int or a list)?
			var reads []onnx.AttrType
			for _, typ := range []onnx.AttrType{onnx.AttrInt, onnx.AttrInts} {
				a := &onnx.Attribute{Name: an, Type: typ, I: 1, Ints: []int64{1}}
				err := runOpTimedAttrs(13, name, 1, inputs(0), []*onnx.Attribute{a})
				if err == nil || !strings.Contains(err.Error(), "attribute \""+an+"\" of") {
					reads = append(reads, typ)
				}
			}
			if len(reads) == 0 {
				continue
			}
			for _, typ := range reads {
				var attrs []*onnx.Attribute
				if typ == onnx.AttrInt {
					for _, v := range ints {
						attrs = append(attrs, &onnx.Attribute{Name: an, Type: typ, I: v})
					}
				} else {
					for _, v := range lists {
						attrs = append(attrs, &onnx.Attribute{Name: an, Type: typ, Ints: v})
					}
				}
				for _, a := range attrs {
					for k := range mk {
						for _, opset := range []int64{9, 13, 21} {
							err := runOpTimedAttrs(opset, name, 1, inputs(k), []*onnx.Attribute{a})
							runs++
							if internalError(err) {
								t.Errorf("%s opset %d, %s = %v %v, inputs %d: %v", name, opset, an, a.I, a.Ints, k, err)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d runs", runs)
}
