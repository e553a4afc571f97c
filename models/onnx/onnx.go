// Package onnx reads ONNX model files (ModelProto) and serialized tensors
// (TensorProto) with a small, bounded protobuf decoder.
//
// Every length and count read from a file is checked against the bytes that
// remain before anything is allocated, and malformed input is an error
// wrapping ErrFormat, never a panic. Tensor data read by Decode aliases the
// input buffer: the caller must not modify the buffer while the model is in
// use.
//
// Tensors stored in side files ("external data") are resolved by ReadFile (or
// Model.LoadExternal) only from inside the model's directory: absolute paths,
// paths that climb out of it and symlinks that lead out of it are rejected
// (the CVE-2024-27318 class of bugs), and offsets and lengths are checked
// against the side file's size.
//
// The package parses and validates; running a model is the job of a backend
// (models/onnx/ort, reached through package runtime).
package onnx

import (
	"errors"
	"fmt"
)

// ErrFormat reports input that is not a well-formed ONNX protobuf message.
var ErrFormat = errors.New("onnx: malformed file")

// ErrUnsupported reports a well-formed feature this package does not handle
// (for example segmented tensors).
var ErrUnsupported = errors.New("onnx: unsupported")

// ErrExternalData reports an external-data reference that is unsafe (outside
// the model's directory) or inconsistent with its side file.
var ErrExternalData = errors.New("onnx: bad external data")

// Model is a decoded ModelProto.
type Model struct {
	IRVersion       int64
	OpsetImports    []OpsetID // operator sets the graph's nodes refer to
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	Metadata        []StringPair // metadata_props
	Functions       []*Function  // model-local functions

	// Dir is the directory external data is resolved against; ReadFile sets it.
	Dir string
}

// OpsetID names an operator set and its version. Domain "" is the default
// ONNX domain (also spelled "ai.onnx").
type OpsetID struct {
	Domain  string
	Version int64
}

// StringPair is a StringStringEntryProto (metadata and external-data keys).
type StringPair struct {
	Key, Value string
}

// Graph is a decoded GraphProto: nodes in topological order, initializers
// (constant tensors) and the typed inputs and outputs.
type Graph struct {
	Name         string
	Nodes        []*Node
	Initializers []*Tensor
	// SparseInitializers counts sparse initializers, which are parsed only
	// far enough to be skipped; backends that meet one report it.
	SparseInitializers int
	Inputs             []*ValueInfo
	Outputs            []*ValueInfo
	ValueInfo          []*ValueInfo // types of intermediate values, if recorded
	DocString          string
}

// Node is a decoded NodeProto: one operator application.
type Node struct {
	Name       string
	OpType     string
	Domain     string   // "" is the default ONNX domain
	Inputs     []string // "" marks an omitted optional input
	Outputs    []string
	Attributes []*Attribute
	DocString  string
}

// Attr returns the node's attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// AttrType is the AttributeProto.AttributeType enum.
type AttrType int32

// The attribute types of onnx.proto.
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

var attrTypeNames = map[AttrType]string{
	AttrUndefined: "UNDEFINED", AttrFloat: "FLOAT", AttrInt: "INT", AttrString: "STRING",
	AttrTensor: "TENSOR", AttrGraph: "GRAPH", AttrFloats: "FLOATS", AttrInts: "INTS",
	AttrStrings: "STRINGS", AttrTensors: "TENSORS", AttrGraphs: "GRAPHS",
	AttrSparseTensor: "SPARSE_TENSOR", AttrSparseTensors: "SPARSE_TENSORS",
	AttrTypeProto: "TYPE_PROTO", AttrTypeProtos: "TYPE_PROTOS",
}

// String returns the onnx.proto name of the attribute type.
func (t AttrType) String() string {
	if s, ok := attrTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("AttrType(%d)", int32(t))
}

// Attribute is a decoded AttributeProto. Type says which field holds the
// value; the others are zero.
type Attribute struct {
	Name        string
	RefAttrName string // set in function bodies that forward an attribute
	Type        AttrType
	F           float32
	I           int64
	S           []byte
	T           *Tensor
	G           *Graph
	TP          *TypeInfo
	Floats      []float32
	Ints        []int64
	Strings     [][]byte
	Tensors     []*Tensor
	Graphs      []*Graph
	TypeProtos  []*TypeInfo
	// SparseTensors counts sparse tensors (sparse_tensor and sparse_tensors),
	// which are skipped.
	SparseTensors int
	DocString     string
}

// ValueInfo is a decoded ValueInfoProto: a named, typed value.
type ValueInfo struct {
	Name      string
	Type      *TypeInfo // nil when the file gives no type
	DocString string
}

// TypeKind says which kind of value a TypeInfo describes.
type TypeKind uint8

// The value kinds of TypeProto.
const (
	KindUnknown TypeKind = iota
	KindTensor
	KindSequence
	KindMap
	KindOptional
	KindSparseTensor
	KindOpaque
)

var kindNames = [...]string{"unknown", "tensor", "sequence", "map", "optional", "sparse_tensor", "opaque"}

// String returns the kind's lower-case name.
func (k TypeKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("TypeKind(%d)", k)
}

// TypeInfo is a decoded TypeProto.
type TypeInfo struct {
	Kind TypeKind
	// Elem is the element type of a tensor or sparse tensor, or the key type
	// of a map.
	Elem DataType
	// Shape is the tensor's shape; HasShape is false when the file gives no
	// shape at all (rank unknown), as opposed to a rank-0 shape.
	Shape    []Dim
	HasShape bool
	// Inner is the element type of a sequence or optional, or the value type
	// of a map.
	Inner      *TypeInfo
	Denotation string
}

// String formats the type as, for example, "float32[1,N,64]" or
// "sequence(float32[?])".
func (t *TypeInfo) String() string {
	if t == nil {
		return "?"
	}
	switch t.Kind {
	case KindTensor, KindSparseTensor:
		s := t.Elem.String()
		if t.Kind == KindSparseTensor {
			s = "sparse " + s
		}
		if !t.HasShape {
			return s + "[?]"
		}
		return s + FormatShape(t.Shape)
	case KindSequence:
		return "sequence(" + t.Inner.String() + ")"
	case KindOptional:
		return "optional(" + t.Inner.String() + ")"
	case KindMap:
		return "map(" + t.Elem.String() + "," + t.Inner.String() + ")"
	}
	return t.Kind.String()
}

// Dim is one dimension of a tensor shape: a known size, a named symbolic
// size (Param), or unknown (both zero-valued with Known false).
type Dim struct {
	Value int64 // valid when Known
	Param string
	Known bool
}

// String returns the size, the symbolic name, or "?".
func (d Dim) String() string {
	switch {
	case d.Known:
		return fmt.Sprint(d.Value)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// FormatShape formats dims as "[d0,d1,...]".
func FormatShape(dims []Dim) string {
	b := []byte{'['}
	for i, d := range dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d.String()...)
	}
	return string(append(b, ']'))
}

// Function is a decoded FunctionProto: a model-local operator defined by a
// body of nodes.
type Function struct {
	Name         string
	Domain       string
	Overload     string
	Inputs       []string
	Outputs      []string
	Attributes   []string // attribute names without defaults
	AttrDefaults []*Attribute
	Nodes        []*Node
	OpsetImports []OpsetID
	DocString    string
}
