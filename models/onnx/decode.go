package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDepth bounds the nesting of graphs (If/Loop/Scan bodies) and of types
// (sequence of sequence of ...), so hostile input cannot exhaust the stack.
const maxDepth = 64

// Decode decodes a serialized ModelProto. Tensor data in the result aliases
// data. External data is left unresolved (see Model.LoadExternal).
func Decode(data []byte) (*Model, error) {
	var d decoder
	m := &Model{}
	err := eachField(data, func(f field) error {
		var err error
		switch f.num {
		case 1:
			m.IRVersion, err = f.int64()
		case 2:
			m.ProducerName, err = f.string()
		case 3:
			m.ProducerVersion, err = f.string()
		case 4:
			m.Domain, err = f.string()
		case 5:
			m.ModelVersion, err = f.int64()
		case 6:
			m.DocString, err = f.string()
		case 7:
			if m.Graph != nil {
				return fmt.Errorf("%w: two graphs", ErrFormat)
			}
			m.Graph, err = d.graph(f)
		case 8:
			var o OpsetID
			o, err = d.opset(f)
			m.OpsetImports = append(m.OpsetImports, o)
		case 14:
			var p StringPair
			if err = d.spend(1); err == nil {
				p, err = stringPair(f)
			}
			m.Metadata = append(m.Metadata, p)
		case 25:
			var fn *Function
			fn, err = d.function(f)
			m.Functions = append(m.Functions, fn)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	m.SortNodes() // a cycle is left for Validate to report
	return m, nil
}

// field is one decoded protobuf field: its number, wire type and value
// (v for varint and fixed types, b for length-delimited ones).
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

func wireErr(n int) error {
	return fmt.Errorf("%w: %v", ErrFormat, protowire.ParseError(n))
}

// eachField calls fn for every field of the message in b. Groups (obsolete
// in proto3) are skipped with protowire's own depth limit.
func eachField(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireErr(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return wireErr(n)
			}
			b = b[n:]
			continue
		}
		if n < 0 {
			return wireErr(n)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) want(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("%w: field %d has wire type %d, want %d", ErrFormat, f.num, f.typ, t)
	}
	return nil
}

func (f field) int64() (int64, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return int64(f.v), nil
}

func (f field) int32() (int32, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return int32(f.v), nil
}

func (f field) bytes() ([]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	return f.b, nil
}

func (f field) string() (string, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return "", err
	}
	if !utf8.Valid(f.b) {
		return "", fmt.Errorf("%w: field %d: string is not UTF-8", ErrFormat, f.num)
	}
	return string(f.b), nil
}

// appendVarints appends a repeated varint field, packed or not.
func appendVarints(dst []int64, f field) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.v)), nil
	case protowire.BytesType:
		b := f.b
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, wireErr(n)
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: field %d: repeated varint has wire type %d", ErrFormat, f.num, f.typ)
}

// appendFixed32 appends a repeated fixed32/float field, packed or not.
func appendFixed32(dst []uint32, f field) ([]uint32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, uint32(f.v)), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return nil, fmt.Errorf("%w: field %d: packed fixed32 of %d bytes", ErrFormat, f.num, len(f.b))
		}
		for i := 0; i < len(f.b); i += 4 {
			dst = append(dst, binary.LittleEndian.Uint32(f.b[i:]))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: field %d: repeated fixed32 has wire type %d", ErrFormat, f.num, f.typ)
}

// appendFixed64 appends a repeated fixed64/double field, packed or not.
func appendFixed64(dst []uint64, f field) ([]uint64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, f.v), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return nil, fmt.Errorf("%w: field %d: packed fixed64 of %d bytes", ErrFormat, f.num, len(f.b))
		}
		for i := 0; i < len(f.b); i += 8 {
			dst = append(dst, binary.LittleEndian.Uint64(f.b[i:]))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: field %d: repeated fixed64 has wire type %d", ErrFormat, f.num, f.typ)
}

func stringPair(f field) (StringPair, error) {
	var p StringPair
	b, err := f.bytes()
	if err != nil {
		return p, err
	}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			p.Key, err = f.string()
		case 2:
			p.Value, err = f.string()
		}
		return err
	})
	return p, err
}

// maxItems bounds the number of decoded objects (nodes, attributes,
// tensors, types, dimensions, names) in one model. Each costs a few dozen
// bytes of memory for a few bytes of input; the budget keeps a hostile file
// from turning 100 MB into gigabytes. Real models stay far below it (a
// 32-layer transformer has some 10^4 nodes).
const maxItems = 1 << 20

// decoder carries the nesting depth and the item budget through the
// recursive messages.
type decoder struct {
	depth int
	items int
}

func (d *decoder) spend(n int) error {
	d.items += n
	if d.items > maxItems {
		return fmt.Errorf("%w: more than %d nodes, attributes, tensors and names", ErrFormat, maxItems)
	}
	return nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrFormat, maxDepth)
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

func (d *decoder) opset(f field) (OpsetID, error) {
	var o OpsetID
	if err := d.spend(1); err != nil {
		return o, err
	}
	b, err := f.bytes()
	if err != nil {
		return o, err
	}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			o.Domain, err = f.string()
		case 2:
			o.Version, err = f.int64()
		}
		return err
	})
	return o, err
}

func (d *decoder) graph(f field) (*Graph, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	g := &Graph{}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			var n *Node
			n, err = d.node(f)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name, err = f.string()
		case 5:
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			var t *Tensor
			t, err = d.tensor(b)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 15:
			if err = f.want(protowire.BytesType); err == nil {
				g.SparseInitializers++
			}
		case 10:
			g.DocString, err = f.string()
		case 11, 12, 13:
			var v *ValueInfo
			v, err = d.valueInfo(f)
			if err != nil {
				return fmt.Errorf("value info: %w", err)
			}
			switch f.num {
			case 11:
				g.Inputs = append(g.Inputs, v)
			case 12:
				g.Outputs = append(g.Outputs, v)
			default:
				g.ValueInfo = append(g.ValueInfo, v)
			}
		}
		return err
	})
	if err != nil {
		if g.Name != "" {
			return nil, fmt.Errorf("graph %q: %w", g.Name, err)
		}
		return nil, err
	}
	return g, nil
}

func (d *decoder) node(f field) (*Node, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.spend(1); err != nil {
		return nil, err
	}
	n := &Node{}
	err = eachField(b, func(f field) error {
		var err error
		var s string
		switch f.num {
		case 1:
			if err = d.spend(1); err == nil {
				s, err = f.string()
				n.Inputs = append(n.Inputs, s)
			}
		case 2:
			if err = d.spend(1); err == nil {
				s, err = f.string()
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = f.string()
		case 4:
			n.OpType, err = f.string()
		case 7:
			n.Domain, err = f.string()
		case 6:
			n.DocString, err = f.string()
		case 5:
			var a *Attribute
			a, err = d.attribute(f)
			n.Attributes = append(n.Attributes, a)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", n.OpType, n.Name, err)
	}
	if n.OpType == "" {
		return nil, fmt.Errorf("%w: node %q has no op_type", ErrFormat, n.Name)
	}
	if n.Domain == "ai.onnx" {
		n.Domain = ""
	}
	return n, nil
}

func (d *decoder) attribute(f field) (*Attribute, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.spend(1); err != nil {
		return nil, err
	}
	a := &Attribute{}
	var fl []uint32
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			a.Name, err = f.string()
		case 21:
			a.RefAttrName, err = f.string()
		case 13:
			a.DocString, err = f.string()
		case 20:
			var t int32
			t, err = f.int32()
			a.Type = AttrType(t)
		case 2:
			if err = f.want(protowire.Fixed32Type); err == nil {
				a.F = math.Float32frombits(uint32(f.v))
			}
		case 3:
			a.I, err = f.int64()
		case 4:
			a.S, err = f.bytes()
		case 5:
			var tb []byte
			if tb, err = f.bytes(); err == nil {
				a.T, err = d.tensor(tb)
			}
		case 6:
			a.G, err = d.graph(f)
		case 14:
			a.TP, err = d.typeInfo(f)
		case 22, 23:
			if err = f.want(protowire.BytesType); err == nil {
				a.SparseTensors++
			}
		case 7:
			fl, err = appendFixed32(fl, f)
		case 8:
			a.Ints, err = appendVarints(a.Ints, f)
		case 9:
			var s []byte
			if s, err = f.bytes(); err == nil {
				err = d.spend(1)
			}
			a.Strings = append(a.Strings, s)
		case 10:
			var tb []byte
			if tb, err = f.bytes(); err == nil {
				var t *Tensor
				t, err = d.tensor(tb)
				a.Tensors = append(a.Tensors, t)
			}
		case 11:
			var g *Graph
			g, err = d.graph(f)
			a.Graphs = append(a.Graphs, g)
		case 15:
			var t *TypeInfo
			t, err = d.typeInfo(f)
			a.TypeProtos = append(a.TypeProtos, t)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	if len(fl) > 0 {
		a.Floats = make([]float32, len(fl))
		for i, v := range fl {
			a.Floats[i] = math.Float32frombits(v)
		}
	}
	if a.Name == "" {
		return nil, fmt.Errorf("%w: attribute without a name", ErrFormat)
	}
	if a.Type == AttrUndefined {
		// IR version < 3 files may omit the type; infer it from the field set.
		a.Type = a.inferType()
	}
	return a, nil
}

func (a *Attribute) inferType() AttrType {
	switch {
	case a.T != nil:
		return AttrTensor
	case a.G != nil:
		return AttrGraph
	case a.TP != nil:
		return AttrTypeProto
	case a.Floats != nil:
		return AttrFloats
	case a.Ints != nil:
		return AttrInts
	case a.Strings != nil:
		return AttrStrings
	case a.Tensors != nil:
		return AttrTensors
	case a.Graphs != nil:
		return AttrGraphs
	case a.S != nil:
		return AttrString
	case a.I != 0:
		return AttrInt
	case a.F != 0:
		return AttrFloat
	}
	return AttrUndefined
}

func (d *decoder) valueInfo(f field) (*ValueInfo, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.spend(1); err != nil {
		return nil, err
	}
	v := &ValueInfo{}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			v.Name, err = f.string()
		case 2:
			v.Type, err = d.typeInfo(f)
		case 3:
			v.DocString, err = f.string()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%q: %w", v.Name, err)
	}
	return v, nil
}

func (d *decoder) typeInfo(f field) (*TypeInfo, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.spend(1); err != nil {
		return nil, err
	}
	t := &TypeInfo{}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1: // tensor_type
			t.Kind = KindTensor
			err = d.tensorType(t, f)
		case 8: // sparse_tensor_type
			t.Kind = KindSparseTensor
			err = d.tensorType(t, f)
		case 4, 9: // sequence_type, optional_type
			t.Kind = KindSequence
			if f.num == 9 {
				t.Kind = KindOptional
			}
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			err = eachField(b, func(f field) error {
				var err error
				if f.num == 1 {
					t.Inner, err = d.typeInfo(f)
				}
				return err
			})
		case 5: // map_type
			t.Kind = KindMap
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			err = eachField(b, func(f field) error {
				var err error
				switch f.num {
				case 1:
					var k int32
					k, err = f.int32()
					t.Elem = DataType(k)
				case 2:
					t.Inner, err = d.typeInfo(f)
				}
				return err
			})
		case 7:
			if err = f.want(protowire.BytesType); err == nil {
				t.Kind = KindOpaque
			}
		case 6:
			t.Denotation, err = f.string()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (d *decoder) tensorType(t *TypeInfo, f field) error {
	b, err := f.bytes()
	if err != nil {
		return err
	}
	return eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			var e int32
			e, err = f.int32()
			t.Elem = DataType(e)
		case 2:
			t.HasShape = true
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			err = eachField(b, func(f field) error {
				if f.num != 1 {
					return nil
				}
				if err := d.spend(1); err != nil {
					return err
				}
				dim, err := dimension(f)
				t.Shape = append(t.Shape, dim)
				return err
			})
		}
		return err
	})
}

func dimension(f field) (Dim, error) {
	var d Dim
	b, err := f.bytes()
	if err != nil {
		return d, err
	}
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			d.Value, err = f.int64()
			d.Known = true
		case 2:
			d.Param, err = f.string()
		}
		return err
	})
	return d, err
}

func (d *decoder) function(f field) (*Function, error) {
	b, err := f.bytes()
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	if err := d.spend(1); err != nil {
		return nil, err
	}
	fn := &Function{}
	err = eachField(b, func(f field) error {
		var err error
		var s string
		switch f.num {
		case 1:
			fn.Name, err = f.string()
		case 10:
			fn.Domain, err = f.string()
		case 13:
			fn.Overload, err = f.string()
		case 4, 5, 6:
			if err = d.spend(1); err != nil {
				return err
			}
			s, err = f.string()
			switch f.num {
			case 4:
				fn.Inputs = append(fn.Inputs, s)
			case 5:
				fn.Outputs = append(fn.Outputs, s)
			default:
				fn.Attributes = append(fn.Attributes, s)
			}
		case 11:
			var a *Attribute
			a, err = d.attribute(f)
			fn.AttrDefaults = append(fn.AttrDefaults, a)
		case 7:
			var n *Node
			n, err = d.node(f)
			fn.Nodes = append(fn.Nodes, n)
		case 9:
			var o OpsetID
			o, err = d.opset(f)
			fn.OpsetImports = append(fn.OpsetImports, o)
		case 8:
			fn.DocString, err = f.string()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("function %q: %w", fn.Name, err)
	}
	return fn, nil
}

// tensor decodes a TensorProto and normalises its values into Raw.
func (d *decoder) tensor(b []byte) (*Tensor, error) {
	if err := d.spend(1); err != nil {
		return nil, err
	}
	t := &Tensor{}
	var (
		floats   []uint32
		ints32   []int64
		ints64   []int64
		doubles  []uint64
		uints64  []int64
		raw      []byte
		hasRaw   bool
		ext      []StringPair
		location int32
		typed    int // number of typed-value fields present
	)
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			t.Dims, err = appendVarints(t.Dims, f)
		case 2:
			var v int32
			v, err = f.int32()
			t.Type = DataType(v)
		case 3:
			if err = f.want(protowire.BytesType); err == nil {
				err = fmt.Errorf("%w: segmented tensor", ErrUnsupported)
			}
		case 4:
			floats, err = appendFixed32(floats, f)
			typed |= 1
		case 5:
			ints32, err = appendVarints(ints32, f)
			typed |= 2
		case 6:
			var s []byte
			if s, err = f.bytes(); err == nil {
				err = d.spend(1)
			}
			t.Strings = append(t.Strings, s)
			typed |= 4
		case 7:
			ints64, err = appendVarints(ints64, f)
			typed |= 8
		case 8:
			t.Name, err = f.string()
		case 12:
			t.DocString, err = f.string()
		case 9:
			raw, err = f.bytes()
			hasRaw = true
		case 10:
			doubles, err = appendFixed64(doubles, f)
			typed |= 16
		case 11:
			uints64, err = appendVarints(uints64, f)
			typed |= 32
		case 13:
			var p StringPair
			if err = d.spend(1); err == nil {
				p, err = stringPair(f)
			}
			ext = append(ext, p)
		case 14:
			location, err = f.int32()
		}
		return err
	})
	if err != nil {
		return nil, tensorErr(t, err)
	}
	if !t.Type.Known() {
		return nil, tensorErr(t, fmt.Errorf("%w: element type %d", ErrUnsupported, int32(t.Type)))
	}
	n, err := NumElements(t.Dims)
	if err != nil {
		return nil, tensorErr(t, err)
	}
	if location == 1 { // EXTERNAL
		if hasRaw || typed != 0 {
			return nil, tensorErr(t, fmt.Errorf("%w: external tensor also holds data", ErrFormat))
		}
		if t.External, err = externalRef(ext); err != nil {
			return nil, tensorErr(t, err)
		}
		if t.Type == String {
			return nil, tensorErr(t, fmt.Errorf("%w: external string tensor", ErrFormat))
		}
		if _, err := t.Type.ByteSize(n); err != nil {
			return nil, tensorErr(t, err)
		}
		return t, nil
	} else if location != 0 {
		return nil, tensorErr(t, fmt.Errorf("%w: data_location %d", ErrFormat, location))
	}
	if t.Type == String {
		if hasRaw || typed&^4 != 0 {
			return nil, tensorErr(t, fmt.Errorf("%w: string tensor with numeric data", ErrFormat))
		}
		if int64(len(t.Strings)) != n {
			return nil, tensorErr(t, fmt.Errorf("%w: %d strings for %d elements", ErrFormat, len(t.Strings), n))
		}
		if t.Strings == nil {
			t.Strings = [][]byte{}
		}
		return t, nil
	}
	size, err := t.Type.ByteSize(n)
	if err != nil {
		return nil, tensorErr(t, err)
	}
	if hasRaw {
		if typed != 0 {
			return nil, tensorErr(t, fmt.Errorf("%w: both raw_data and typed data", ErrFormat))
		}
		if int64(len(raw)) != size {
			return nil, tensorErr(t, fmt.Errorf("%w: raw_data has %d bytes, %v%v needs %d", ErrFormat, len(raw), t.Type, t.Dims, size))
		}
		t.Raw = raw
		return t, nil
	}
	if typed&(typed-1) != 0 {
		return nil, tensorErr(t, fmt.Errorf("%w: values in several typed fields", ErrFormat))
	}
	// Every typed field holds at least one byte per element, so a count that
	// matches n also bounds size by the input length.
	count := func(k int) error {
		if int64(k) != n {
			return fmt.Errorf("%w: %d values for %v%v (%d elements)", ErrFormat, k, t.Type, t.Dims, n)
		}
		return nil
	}
	out := make([]byte, 0, min(size, int64(len(b))*8))
	switch t.Type {
	case Float, Complex64:
		if t.Type == Complex64 {
			n *= 2
		}
		if err = count(len(floats)); err == nil && typed&^1 != 0 {
			err = fmt.Errorf("%w: %v data outside float_data", ErrFormat, t.Type)
		}
		for _, v := range floats {
			out = binary.LittleEndian.AppendUint32(out, v)
		}
	case Double, Complex128:
		if t.Type == Complex128 {
			n *= 2
		}
		if err = count(len(doubles)); err == nil && typed&^16 != 0 {
			err = fmt.Errorf("%w: %v data outside double_data", ErrFormat, t.Type)
		}
		for _, v := range doubles {
			out = binary.LittleEndian.AppendUint64(out, v)
		}
	case Int64:
		if err = count(len(ints64)); err == nil && typed&^8 != 0 {
			err = fmt.Errorf("%w: int64 data outside int64_data", ErrFormat)
		}
		for _, v := range ints64 {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	case Uint32, Uint64:
		if err = count(len(uints64)); err == nil && typed&^32 != 0 {
			err = fmt.Errorf("%w: %v data outside uint64_data", ErrFormat, t.Type)
		}
		for _, v := range uints64 {
			if t.Type == Uint32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			} else {
				out = binary.LittleEndian.AppendUint64(out, uint64(v))
			}
		}
	case Int32, Int16, Int8, Uint16, Uint8, Bool, Float16, BFloat16,
		Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ, Float8E8M0:
		if err = count(len(ints32)); err == nil && typed&^2 != 0 {
			err = fmt.Errorf("%w: %v data outside int32_data", ErrFormat, t.Type)
		}
		for _, v := range ints32 {
			switch t.Type.Bits() {
			case 32:
				out = binary.LittleEndian.AppendUint32(out, uint32(v))
			case 16:
				out = binary.LittleEndian.AppendUint16(out, uint16(v))
			default:
				out = append(out, byte(v))
			}
		}
	default:
		err = fmt.Errorf("%w: %v values outside raw_data", ErrUnsupported, t.Type)
	}
	if err != nil {
		return nil, tensorErr(t, err)
	}
	if int64(len(out)) != size {
		return nil, tensorErr(t, fmt.Errorf("%w: %d bytes of values, want %d", ErrFormat, len(out), size))
	}
	t.Raw = out
	return t, nil
}

func tensorErr(t *Tensor, err error) error {
	if t.Name != "" {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return fmt.Errorf("tensor: %w", err)
}
