package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Encode serializes a model as a ModelProto: what Decode reads, written
// back (tensors as raw_data, external ones as references to their side
// files). Sparse initializers and sparse attribute tensors, which Decode
// only counts, cannot be written: such a model is an error, as is a
// message over protobuf's 2 GiB.
func Encode(m *Model) ([]byte, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	var e encoder
	b := e.model(nil, m)
	if e.err != nil {
		return nil, e.err
	}
	if len(b) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: the model encodes to %d bytes, more than protobuf's 2 GiB", ErrUnsupported, len(b))
	}
	return b, nil
}

type encoder struct{ err error }

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// appendMsg appends a nested message built by fn.
func appendMsg(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
	return appendBytes(b, num, fn(nil))
}

func (e *encoder) model(b []byte, m *Model) []byte {
	b = appendVarint(b, 1, m.IRVersion)
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 4, m.Domain)
	if m.ModelVersion != 0 {
		b = appendVarint(b, 5, m.ModelVersion)
	}
	b = appendString(b, 6, m.DocString)
	b = appendMsg(b, 7, func(b []byte) []byte { return e.graph(b, m.Graph) })
	for _, o := range m.OpsetImports {
		b = appendMsg(b, 8, func(b []byte) []byte { return opset(b, o) })
	}
	for _, p := range m.Metadata {
		b = appendMsg(b, 14, func(b []byte) []byte { return pair(b, p) })
	}
	for _, f := range m.Functions {
		b = appendMsg(b, 25, func(b []byte) []byte { return e.function(b, f) })
	}
	return b
}

func opset(b []byte, o OpsetID) []byte {
	b = appendString(b, 1, o.Domain)
	return appendVarint(b, 2, o.Version)
}

func pair(b []byte, p StringPair) []byte {
	b = appendString(b, 1, p.Key)
	return appendString(b, 2, p.Value)
}

func (e *encoder) graph(b []byte, g *Graph) []byte {
	if g.SparseInitializers > 0 && e.err == nil {
		e.err = fmt.Errorf("%w: sparse initializers cannot be written", ErrUnsupported)
	}
	for _, n := range g.Nodes {
		b = appendMsg(b, 1, func(b []byte) []byte { return e.node(b, n) })
	}
	b = appendString(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendMsg(b, 5, func(b []byte) []byte { return tensor(b, t) })
	}
	b = appendString(b, 10, g.DocString)
	for _, v := range g.Inputs {
		b = appendMsg(b, 11, func(b []byte) []byte { return valueInfo(b, v) })
	}
	for _, v := range g.Outputs {
		b = appendMsg(b, 12, func(b []byte) []byte { return valueInfo(b, v) })
	}
	for _, v := range g.ValueInfo {
		b = appendMsg(b, 13, func(b []byte) []byte { return valueInfo(b, v) })
	}
	return b
}

func (e *encoder) node(b []byte, n *Node) []byte {
	for _, s := range n.Inputs {
		b = appendBytes(b, 1, []byte(s)) // "" (an omitted input) is kept
	}
	for _, s := range n.Outputs {
		b = appendBytes(b, 2, []byte(s))
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for _, a := range n.Attributes {
		b = appendMsg(b, 5, func(b []byte) []byte { return e.attr(b, a) })
	}
	b = appendString(b, 6, n.DocString)
	return appendString(b, 7, n.Domain)
}

func (e *encoder) attr(b []byte, a *Attribute) []byte {
	if a.SparseTensors > 0 && e.err == nil {
		e.err = fmt.Errorf("%w: attribute %q: sparse tensors cannot be written", ErrUnsupported, a.Name)
	}
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = appendVarint(b, 3, a.I)
	case AttrString:
		b = appendBytes(b, 4, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMsg(b, 5, func(b []byte) []byte { return tensor(b, a.T) })
		}
	case AttrGraph:
		if a.G != nil {
			b = appendMsg(b, 6, func(b []byte) []byte { return e.graph(b, a.G) })
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendBytes(b, 7, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendBytes(b, 8, p)
	case AttrStrings:
		for _, s := range a.Strings {
			b = appendBytes(b, 9, s)
		}
	case AttrTensors:
		for _, t := range a.Tensors {
			b = appendMsg(b, 10, func(b []byte) []byte { return tensor(b, t) })
		}
	case AttrGraphs:
		for _, g := range a.Graphs {
			b = appendMsg(b, 11, func(b []byte) []byte { return e.graph(b, g) })
		}
	case AttrTypeProto:
		if a.TP != nil {
			b = appendMsg(b, 14, func(b []byte) []byte { return typeInfo(b, a.TP) })
		}
	case AttrTypeProtos:
		for _, t := range a.TypeProtos {
			b = appendMsg(b, 15, func(b []byte) []byte { return typeInfo(b, t) })
		}
	}
	b = appendString(b, 13, a.DocString)
	b = appendVarint(b, 20, int64(a.Type))
	return appendString(b, 21, a.RefAttrName)
}

func tensor(b []byte, t *Tensor) []byte {
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendBytes(b, 1, p)
	}
	b = appendVarint(b, 2, int64(t.Type))
	for _, s := range t.Strings {
		b = appendBytes(b, 6, s)
	}
	b = appendString(b, 8, t.Name)
	if t.External != nil && t.Raw == nil {
		kv := []StringPair{{"location", t.External.Location}, {"offset", fmt.Sprint(t.External.Offset)}}
		if t.External.Length >= 0 {
			kv = append(kv, StringPair{"length", fmt.Sprint(t.External.Length)})
		}
		if t.External.Checksum != "" {
			kv = append(kv, StringPair{"checksum", t.External.Checksum})
		}
		for _, p := range kv {
			b = appendMsg(b, 13, func(b []byte) []byte { return pair(b, p) })
		}
		b = appendVarint(b, 14, 1)
	} else if t.Type != String {
		b = appendBytes(b, 9, t.Raw)
	}
	return appendString(b, 12, t.DocString)
}

func valueInfo(b []byte, v *ValueInfo) []byte {
	b = appendString(b, 1, v.Name)
	if v.Type != nil {
		b = appendMsg(b, 2, func(b []byte) []byte { return typeInfo(b, v.Type) })
	}
	return appendString(b, 3, v.DocString)
}

func typeInfo(b []byte, t *TypeInfo) []byte {
	shape := func(b []byte) []byte {
		for _, d := range t.Shape {
			b = appendMsg(b, 1, func(b []byte) []byte {
				switch {
				case d.Known:
					b = appendVarint(b, 1, d.Value)
				case d.Param != "":
					b = appendString(b, 2, d.Param)
				}
				return b
			})
		}
		return b
	}
	tensorType := func(b []byte) []byte {
		b = appendVarint(b, 1, int64(t.Elem))
		if t.HasShape {
			b = appendMsg(b, 2, shape)
		}
		return b
	}
	inner := func(b []byte) []byte {
		if t.Inner != nil {
			b = appendMsg(b, 1, func(b []byte) []byte { return typeInfo(b, t.Inner) })
		}
		return b
	}
	switch t.Kind {
	case KindTensor:
		b = appendMsg(b, 1, tensorType)
	case KindSparseTensor:
		b = appendMsg(b, 8, tensorType)
	case KindSequence:
		b = appendMsg(b, 4, inner)
	case KindOptional:
		b = appendMsg(b, 9, inner)
	case KindMap:
		b = appendMsg(b, 5, func(b []byte) []byte {
			b = appendVarint(b, 1, int64(t.Elem))
			if t.Inner != nil {
				b = appendMsg(b, 2, func(b []byte) []byte { return typeInfo(b, t.Inner) })
			}
			return b
		})
	}
	return appendString(b, 6, t.Denotation)
}

func (e *encoder) function(b []byte, f *Function) []byte {
	b = appendString(b, 1, f.Name)
	for _, s := range f.Inputs {
		b = appendBytes(b, 4, []byte(s))
	}
	for _, s := range f.Outputs {
		b = appendBytes(b, 5, []byte(s))
	}
	for _, s := range f.Attributes {
		b = appendBytes(b, 6, []byte(s))
	}
	for _, n := range f.Nodes {
		b = appendMsg(b, 7, func(b []byte) []byte { return e.node(b, n) })
	}
	b = appendString(b, 8, f.DocString)
	for _, o := range f.OpsetImports {
		b = appendMsg(b, 9, func(b []byte) []byte { return opset(b, o) })
	}
	b = appendString(b, 10, f.Domain)
	for _, a := range f.AttrDefaults {
		b = appendMsg(b, 11, func(b []byte) []byte { return e.attr(b, a) })
	}
	return appendString(b, 13, f.Overload)
}
