package quantize

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/quant"
)

// keepFloat32 lists the inputs that stay float32 in a float16 model:
// (operator, input index) pairs whose type the operator fixes to float.
var keepFloat32 = map[string][]int{
	"Resize":   {2}, // scales
	"Upsample": {1}, // scales
}

// Float16 converts m (which it modifies) to float16: float32 weights and
// constants become float16 (values beyond float16's range saturate to
// ±65504), casts to float32 inside the graph become casts to float16, and
// the graph's float32 inputs and outputs keep their type, with casts
// inserted after the inputs and before the outputs (so callers feed and
// read float32 as before). The recorded types of intermediate values
// (value_info) are dropped, since they would say float32.
func Float16(m *onnx.Model) (*onnx.Model, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("quantize: no graph")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	g := m.Graph
	hoistConstants(g)
	names := map[string]bool{}
	for _, t := range g.Initializers {
		names[t.Name] = true
	}
	for _, v := range g.Inputs {
		names[v.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			names[o] = true
		}
	}
	fresh := func(base string) string {
		name := base
		for i := 1; names[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		names[name] = true
		return name
	}
	// Initializers that must stay float32 (and, if other nodes read them
	// too, get a float16 copy for those).
	keep32 := map[string]bool{}
	read16 := map[string]bool{}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if isKept(n.OpType, i) {
				keep32[in] = true
			} else {
				read16[in] = true
			}
		}
	}
	var extra []*onnx.Tensor
	rename16 := map[string]string{}
	for _, t := range g.Initializers {
		if t.Type != onnx.Float {
			continue
		}
		if keep32[t.Name] {
			if read16[t.Name] {
				c, err := toHalf(t)
				if err != nil {
					return nil, err
				}
				c.Name = fresh(t.Name + "_fp16")
				rename16[t.Name] = c.Name
				extra = append(extra, c)
			}
			continue
		}
		c, err := toHalf(t)
		if err != nil {
			return nil, err
		}
		*t = *c
	}
	g.Initializers = append(g.Initializers, extra...)
	var nodes []*onnx.Node
	// Graph inputs: float32 outside, float16 inside.
	inMap := map[string]string{}
	for _, v := range g.Inputs {
		if isInit(g, v.Name) || v.Type == nil || v.Type.Kind != onnx.KindTensor || v.Type.Elem != onnx.Float {
			continue
		}
		h := fresh(v.Name + "_fp16")
		inMap[v.Name] = h
		nodes = append(nodes, castNode(fresh("graph_input_cast_"+v.Name), v.Name, h, onnx.Float16))
	}
	// Graph outputs: the producer writes a float16 value, cast back.
	outMap := map[string]string{}
	for _, v := range g.Outputs {
		if v.Type != nil && v.Type.Kind == onnx.KindTensor && v.Type.Elem == onnx.Float {
			outMap[v.Name] = fresh(v.Name + "_fp16")
		}
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if h, ok := inMap[in]; ok && !isKept(n.OpType, i) {
				n.Inputs[i] = h
			}
			if h, ok := outMap[in]; ok {
				n.Inputs[i] = h
			}
			if h, ok := rename16[in]; ok && !isKept(n.OpType, i) {
				n.Inputs[i] = h
			}
		}
		for i, o := range n.Outputs {
			if h, ok := outMap[o]; ok {
				n.Outputs[i] = h
			}
		}
		var pre []*onnx.Node
		if n.Domain == "" || n.Domain == "ai.onnx" {
			switch n.OpType {
			case "Cast":
				for _, a := range n.Attributes {
					if a.Name == "to" && a.I == int64(onnx.Float) {
						a.I = int64(onnx.Float16)
					}
				}
			case "Constant", "ConstantOfShape":
				for _, a := range n.Attributes {
					if a.T != nil && a.T.Type == onnx.Float {
						c, err := toHalf(a.T)
						if err != nil {
							return nil, err
						}
						*a.T = *c
					}
					if n.OpType == "Constant" && (a.Name == "value_float" || a.Name == "value_floats") {
						return nil, fmt.Errorf("quantize: Constant %q with %s: not converted", n.Name, a.Name)
					}
				}
			}
			// Inputs that must be float32 but are computed in the graph.
			for _, i := range keepFloat32[n.OpType] {
				if i < len(n.Inputs) && n.Inputs[i] != "" && !isInit(g, n.Inputs[i]) {
					f := fresh(n.Inputs[i] + "_fp32")
					pre = append(pre, castNode(fresh(n.Inputs[i]+"_cast_fp32"), n.Inputs[i], f, onnx.Float))
					n.Inputs[i] = f
				}
			}
		}
		for _, a := range n.Attributes {
			for _, sg := range append(slices.Clone(a.Graphs), a.G) {
				if sg != nil {
					renameRefs(sg, inMap)
					renameRefs(sg, rename16)
					if err := subgraph16(sg); err != nil {
						return nil, err
					}
				}
			}
		}
		nodes = append(nodes, pre...)
		nodes = append(nodes, n)
	}
	for name, h := range outMap {
		nodes = append(nodes, castNode(fresh("graph_output_cast_"+name), h, name, onnx.Float))
	}
	g.Nodes = nodes
	g.ValueInfo = nil
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: the float16 model is invalid: %w", err)
	}
	return m, nil
}

// renameRefs renames the outer values a nested graph (and the graphs
// nested in it) reads.
func renameRefs(g *onnx.Graph, names map[string]string) {
	if len(names) == 0 {
		return
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if r, ok := names[in]; ok {
				n.Inputs[i] = r
			}
		}
		for _, a := range n.Attributes {
			for _, sg := range append(slices.Clone(a.Graphs), a.G) {
				if sg != nil {
					renameRefs(sg, names)
				}
			}
		}
	}
	for _, o := range g.Outputs {
		if r, ok := names[o.Name]; ok {
			// A branch returning an outer value as it is: through an
			// Identity, since an output's name is its value's.
			g.Nodes = append(g.Nodes, &onnx.Node{OpType: "Identity", Inputs: []string{r}, Outputs: []string{o.Name + "_fp16_out"}})
			o.Name = o.Name + "_fp16_out"
		}
	}
}

// subgraph16 converts a nested graph (an If branch, a Loop body): its
// float32 constants, casts to float32 and declared float32 inputs and
// outputs become float16.
func subgraph16(g *onnx.Graph) error {
	hoistConstants(g)
	for _, t := range g.Initializers {
		if t.Type == onnx.Float {
			c, err := toHalf(t)
			if err != nil {
				return err
			}
			*t = *c
		}
	}
	for _, vs := range [][]*onnx.ValueInfo{g.Inputs, g.Outputs} {
		for _, v := range vs {
			if v.Type != nil && v.Type.Kind == onnx.KindTensor && v.Type.Elem == onnx.Float {
				v.Type.Elem = onnx.Float16
			}
		}
	}
	g.ValueInfo = nil
	for _, n := range g.Nodes {
		if n.Domain == "" || n.Domain == "ai.onnx" {
			switch n.OpType {
			case "Cast":
				for _, a := range n.Attributes {
					if a.Name == "to" && a.I == int64(onnx.Float) {
						a.I = int64(onnx.Float16)
					}
				}
			case "Constant", "ConstantOfShape":
				for _, a := range n.Attributes {
					if a.T != nil && a.T.Type == onnx.Float {
						c, err := toHalf(a.T)
						if err != nil {
							return err
						}
						*a.T = *c
					}
				}
			}
		}
		for _, a := range n.Attributes {
			for _, sg := range append(slices.Clone(a.Graphs), a.G) {
				if sg != nil {
					if err := subgraph16(sg); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func isKept(op string, i int) bool {
	for _, j := range keepFloat32[op] {
		if i == j {
			return true
		}
	}
	return false
}

func isInit(g *onnx.Graph, name string) bool {
	for _, t := range g.Initializers {
		if t.Name == name {
			return true
		}
	}
	return false
}

func castNode(name, in, out string, to onnx.DataType) *onnx.Node {
	return &onnx.Node{OpType: "Cast", Name: name, Inputs: []string{in}, Outputs: []string{out},
		Attributes: []*onnx.Attribute{{Name: "to", Type: onnx.AttrInt, I: int64(to)}}}
}

// toHalf returns a float16 copy of a float32 tensor.
func toHalf(t *onnx.Tensor) (*onnx.Tensor, error) {
	v, ok := floats(t)
	if !ok {
		return nil, fmt.Errorf("quantize: tensor %q: float32 data not readable (external data not loaded?)", t.Name)
	}
	raw := make([]byte, 2*len(v))
	for i, x := range v {
		if !math.IsInf(float64(x), 0) && x == x {
			x = min(max(x, -65504), 65504)
		}
		binary.LittleEndian.PutUint16(raw[2*i:], quant.F32ToF16(x))
	}
	return &onnx.Tensor{Name: t.Name, Type: onnx.Float16, Dims: t.Dims, Raw: raw, DocString: t.DocString}, nil
}
