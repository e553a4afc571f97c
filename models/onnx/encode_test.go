package onnx

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny protobuf writer for building test models by hand: each helper
// appends one field.

type pb []byte

func (b pb) bytes(num protowire.Number, v []byte) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

func (b pb) varint(num protowire.Number, v int64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func (b pb) packed(num protowire.Number, vs ...int64) pb {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	return b.bytes(num, p)
}

func (b pb) fixed32(num protowire.Number, v uint32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// tensorPB builds a TensorProto.
func tensorPB(name string, typ DataType, dims []int64, raw []byte) pb {
	var t pb
	t = t.packed(1, dims...).varint(2, int64(typ)).str(8, name)
	if raw != nil {
		t = t.bytes(9, raw)
	}
	return t
}

// externalTensorPB builds a TensorProto whose data lives in a side file.
func externalTensorPB(name string, typ DataType, dims []int64, kv ...string) pb {
	t := pb(nil).packed(1, dims...).varint(2, int64(typ)).str(8, name)
	for i := 0; i+1 < len(kv); i += 2 {
		t = t.bytes(13, pb(nil).str(1, kv[i]).str(2, kv[i+1]))
	}
	return t.varint(14, 1)
}

// valueInfoPB builds a ValueInfoProto of a float tensor with static dims.
func valueInfoPB(name string, typ DataType, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		shape = shape.bytes(1, pb(nil).varint(1, d))
	}
	tt := pb(nil).varint(1, int64(typ)).bytes(2, shape)
	return pb(nil).str(1, name).bytes(2, pb(nil).bytes(1, tt))
}

// addModelPB builds "y = x + w" with w an initializer given as a TensorProto.
func addModelPB(w pb) []byte {
	node := pb(nil).str(1, "x").str(1, "w").str(2, "y").str(3, "add").str(4, "Add")
	g := pb(nil).bytes(1, node).str(2, "g").bytes(5, w).
		bytes(11, valueInfoPB("x", Float, 2)).bytes(12, valueInfoPB("y", Float, 2))
	return pb(nil).varint(1, 8).str(2, "edgeai-test").bytes(7, g).
		bytes(8, pb(nil).str(1, "").varint(2, 13))
}
