package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type of a GGUF metadata value (gguf_metadata_value_type).
type ValueType uint32

// The GGUF metadata value types, numbered as in the file format.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var typeNames = [...]string{
	TypeUint8: "uint8", TypeInt8: "int8", TypeUint16: "uint16", TypeInt16: "int16",
	TypeUint32: "uint32", TypeInt32: "int32", TypeFloat32: "float32", TypeBool: "bool",
	TypeString: "string", TypeArray: "array", TypeUint64: "uint64", TypeInt64: "int64",
	TypeFloat64: "float64",
}

// String returns the type's name, e.g. "uint32", or "type(N)" for an invalid id.
func (t ValueType) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

func (t ValueType) valid() bool { return t <= TypeFloat64 }

// size returns the encoded size of a scalar of type t, the minimum encoded
// size for strings (the length prefix) and arrays (element type and count).
func (t ValueType) size() int64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64, TypeString:
		return 8
	case TypeArray:
		return 12
	}
	return 0
}

func (t ValueType) isSigned() bool {
	return t == TypeInt8 || t == TypeInt16 || t == TypeInt32 || t == TypeInt64
}

func (t ValueType) isUnsigned() bool {
	return t == TypeUint8 || t == TypeUint16 || t == TypeUint32 || t == TypeUint64
}

// Value is one GGUF metadata value: a scalar, a string or an array (whose
// elements may themselves be arrays). The zero Value is a uint8 0.
//
// Arrays keep their elements in typed Go slices, so a 150,000-entry vocabulary
// costs one []string, not 150,000 Values. Values are immutable: accessors that
// return slices return copies.
type Value struct {
	Type ValueType
	num  uint64 // integers (sign-extended for signed types), float bits, bool 0/1
	str  string
	arr  *array
}

// array holds the elements of an array value. vals is one of []uint8, []int8,
// []uint16, []int16, []uint32, []int32, []float32, []bool, []string,
// []uint64, []int64, []float64, or []Value when elem is TypeArray (or when
// NewArray was given elements of the wrong type; then bad says so).
type array struct {
	elem ValueType
	vals any
	bad  error
}

// NewUint8 returns a uint8 value.
func NewUint8(v uint8) Value { return Value{Type: TypeUint8, num: uint64(v)} }

// NewInt8 returns an int8 value.
func NewInt8(v int8) Value { return Value{Type: TypeInt8, num: uint64(int64(v))} }

// NewUint16 returns a uint16 value.
func NewUint16(v uint16) Value { return Value{Type: TypeUint16, num: uint64(v)} }

// NewInt16 returns an int16 value.
func NewInt16(v int16) Value { return Value{Type: TypeInt16, num: uint64(int64(v))} }

// NewUint32 returns a uint32 value.
func NewUint32(v uint32) Value { return Value{Type: TypeUint32, num: uint64(v)} }

// NewInt32 returns an int32 value.
func NewInt32(v int32) Value { return Value{Type: TypeInt32, num: uint64(int64(v))} }

// NewUint64 returns a uint64 value.
func NewUint64(v uint64) Value { return Value{Type: TypeUint64, num: v} }

// NewInt64 returns an int64 value.
func NewInt64(v int64) Value { return Value{Type: TypeInt64, num: uint64(v)} }

// NewFloat32 returns a float32 value.
func NewFloat32(v float32) Value {
	return Value{Type: TypeFloat32, num: uint64(math.Float32bits(v))}
}

// NewFloat64 returns a float64 value.
func NewFloat64(v float64) Value { return Value{Type: TypeFloat64, num: math.Float64bits(v)} }

// NewBool returns a bool value.
func NewBool(v bool) Value {
	if v {
		return Value{Type: TypeBool, num: 1}
	}
	return Value{Type: TypeBool}
}

// NewString returns a string value.
func NewString(s string) Value { return Value{Type: TypeString, str: s} }

func newTyped(elem ValueType, vals any) Value {
	return Value{Type: TypeArray, arr: &array{elem: elem, vals: vals}}
}

// NewStrings returns an array of strings (a copy of s).
func NewStrings(s []string) Value { return newTyped(TypeString, append([]string{}, s...)) }

// NewFloat32s returns an array of float32 (a copy of v).
func NewFloat32s(v []float32) Value { return newTyped(TypeFloat32, append([]float32{}, v...)) }

// NewInt32s returns an array of int32 (a copy of v).
func NewInt32s(v []int32) Value { return newTyped(TypeInt32, append([]int32{}, v...)) }

// NewUint8s returns an array of uint8 (a copy of v).
func NewUint8s(v []uint8) Value { return newTyped(TypeUint8, append([]uint8{}, v...)) }

// NewUint32s returns an array of uint32 (a copy of v).
func NewUint32s(v []uint32) Value { return newTyped(TypeUint32, append([]uint32{}, v...)) }

// NewArray returns an array of elements of type elem. Every element must have
// type elem; if one does not, Write reports the error.
func NewArray(elem ValueType, vals []Value) Value {
	a := &array{elem: elem}
	for i, v := range vals {
		if v.Type != elem {
			a.bad = fmt.Errorf("array of %s: element %d has type %s", elem, i, v.Type)
		}
	}
	if !elem.valid() {
		a.bad = fmt.Errorf("array of invalid element type %s", elem)
	}
	if a.bad != nil || elem == TypeArray {
		a.vals = append([]Value{}, vals...)
		return Value{Type: TypeArray, arr: a}
	}
	n := len(vals)
	switch elem {
	case TypeUint8:
		s := make([]uint8, n)
		for i, v := range vals {
			s[i] = uint8(v.num)
		}
		a.vals = s
	case TypeInt8:
		s := make([]int8, n)
		for i, v := range vals {
			s[i] = int8(v.num)
		}
		a.vals = s
	case TypeUint16:
		s := make([]uint16, n)
		for i, v := range vals {
			s[i] = uint16(v.num)
		}
		a.vals = s
	case TypeInt16:
		s := make([]int16, n)
		for i, v := range vals {
			s[i] = int16(v.num)
		}
		a.vals = s
	case TypeUint32:
		s := make([]uint32, n)
		for i, v := range vals {
			s[i] = uint32(v.num)
		}
		a.vals = s
	case TypeInt32:
		s := make([]int32, n)
		for i, v := range vals {
			s[i] = int32(v.num)
		}
		a.vals = s
	case TypeFloat32:
		s := make([]float32, n)
		for i, v := range vals {
			s[i] = math.Float32frombits(uint32(v.num))
		}
		a.vals = s
	case TypeBool:
		s := make([]bool, n)
		for i, v := range vals {
			s[i] = v.num != 0
		}
		a.vals = s
	case TypeString:
		s := make([]string, n)
		for i, v := range vals {
			s[i] = v.str
		}
		a.vals = s
	case TypeUint64:
		s := make([]uint64, n)
		for i, v := range vals {
			s[i] = v.num
		}
		a.vals = s
	case TypeInt64:
		s := make([]int64, n)
		for i, v := range vals {
			s[i] = int64(v.num)
		}
		a.vals = s
	case TypeFloat64:
		s := make([]float64, n)
		for i, v := range vals {
			s[i] = math.Float64frombits(v.num)
		}
		a.vals = s
	}
	return Value{Type: TypeArray, arr: a}
}

// Uint returns v as a uint64 if v is an integer of any width holding a
// non-negative value.
func (v Value) Uint() (uint64, bool) {
	switch {
	case v.Type.isUnsigned():
		return v.num, true
	case v.Type.isSigned() && int64(v.num) >= 0:
		return v.num, true
	}
	return 0, false
}

// Int returns v as an int64 if v is an integer whose value fits.
func (v Value) Int() (int64, bool) {
	switch {
	case v.Type.isSigned():
		return int64(v.num), true
	case v.Type.isUnsigned() && v.num <= math.MaxInt64:
		return int64(v.num), true
	}
	return 0, false
}

// Float returns v as a float64 if v is a float32, float64 or integer
// (integers are converted, possibly rounding).
func (v Value) Float() (float64, bool) {
	switch {
	case v.Type == TypeFloat32:
		return float64(math.Float32frombits(uint32(v.num))), true
	case v.Type == TypeFloat64:
		return math.Float64frombits(v.num), true
	case v.Type.isSigned():
		return float64(int64(v.num)), true
	case v.Type.isUnsigned():
		return float64(v.num), true
	}
	return 0, false
}

// Bool returns v if it is a bool.
func (v Value) Bool() (bool, bool) {
	if v.Type != TypeBool {
		return false, false
	}
	return v.num != 0, true
}

// Str returns v if it is a string.
func (v Value) Str() (string, bool) {
	if v.Type != TypeString {
		return "", false
	}
	return v.str, true
}

// Len returns the number of elements of an array, and 0 for other values.
func (v Value) Len() int {
	if v.Type != TypeArray || v.arr == nil {
		return 0
	}
	return lenOf(v.arr.vals)
}

// Elem returns the element type of an array value.
func (v Value) Elem() (ValueType, bool) {
	if v.Type != TypeArray {
		return 0, false
	}
	if v.arr == nil {
		return TypeUint8, true // a Value{Type: TypeArray} is an empty uint8 array
	}
	return v.arr.elem, true
}

// Array returns the element type and the elements of an array value, one
// Value each. The typed accessors (Strings, Float32s, Int32s) avoid boxing
// every element.
func (v Value) Array() (ValueType, []Value, bool) {
	if v.Type != TypeArray {
		return 0, nil, false
	}
	if v.arr == nil {
		return TypeUint8, []Value{}, true
	}
	n := lenOf(v.arr.vals)
	out := make([]Value, n)
	for i := range out {
		out[i] = v.index(i)
	}
	return v.arr.elem, out, true
}

// Strings returns a copy of an array of strings.
func (v Value) Strings() ([]string, bool) {
	if v.Type != TypeArray || v.arr == nil {
		return nil, false
	}
	s, ok := v.arr.vals.([]string)
	if !ok || v.arr.bad != nil {
		return nil, false
	}
	return append([]string{}, s...), true
}

// Float32s returns an array of float32 or float64 as float32 (float64 values
// are rounded to float32).
func (v Value) Float32s() ([]float32, bool) {
	if v.Type != TypeArray || v.arr == nil || v.arr.bad != nil {
		return nil, false
	}
	switch s := v.arr.vals.(type) {
	case []float32:
		return append([]float32{}, s...), true
	case []float64:
		out := make([]float32, len(s))
		for i, x := range s {
			out[i] = float32(x)
		}
		return out, true
	}
	return nil, false
}

// Int32s returns an array of integers of any width as int32, if every element
// fits in an int32.
func (v Value) Int32s() ([]int32, bool) {
	if v.Type != TypeArray || v.arr == nil || v.arr.bad != nil {
		return nil, false
	}
	if s, ok := v.arr.vals.([]int32); ok {
		return append([]int32{}, s...), true
	}
	if !v.arr.elem.isSigned() && !v.arr.elem.isUnsigned() {
		return nil, false
	}
	n := lenOf(v.arr.vals)
	out := make([]int32, n)
	for i := range out {
		x, ok := v.index(i).Int()
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}

// index returns element i of an array value (i must be in range).
func (v Value) index(i int) Value {
	switch s := v.arr.vals.(type) {
	case []uint8:
		return NewUint8(s[i])
	case []int8:
		return NewInt8(s[i])
	case []uint16:
		return NewUint16(s[i])
	case []int16:
		return NewInt16(s[i])
	case []uint32:
		return NewUint32(s[i])
	case []int32:
		return NewInt32(s[i])
	case []float32:
		return NewFloat32(s[i])
	case []bool:
		return NewBool(s[i])
	case []string:
		return NewString(s[i])
	case []uint64:
		return NewUint64(s[i])
	case []int64:
		return NewInt64(s[i])
	case []float64:
		return NewFloat64(s[i])
	case []Value:
		return s[i]
	}
	return Value{}
}

func lenOf(vals any) int {
	switch s := vals.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// Equal reports whether v and o have the same type and contents. Floats are
// compared bit for bit, so a NaN equals the same NaN.
func (v Value) Equal(o Value) bool {
	if v.Type != o.Type {
		return false
	}
	switch v.Type {
	case TypeString:
		return v.str == o.str
	case TypeArray:
		ve, _ := v.Elem()
		oe, _ := o.Elem()
		n := v.Len()
		if ve != oe || n != o.Len() {
			return false
		}
		for i := 0; i < n; i++ {
			if !v.index(i).Equal(o.index(i)) {
				return false
			}
		}
		return true
	}
	return v.num == o.num
}

// maxShown is how many array elements String shows before summarising.
const maxShown = 8

// String formats v for people: numbers in Go syntax, strings quoted, arrays
// as "[elemtype × n] a, b, c" with at most 8 elements shown, then "...".
func (v Value) String() string {
	var b strings.Builder
	v.format(&b, maxShown)
	return b.String()
}

// Format formats v like String but shows up to limit array elements (all of
// them if limit < 0).
func (v Value) Format(limit int) string {
	var b strings.Builder
	v.format(&b, limit)
	return b.String()
}

func (v Value) format(b *strings.Builder, limit int) {
	switch {
	case v.Type.isSigned():
		b.WriteString(strconv.FormatInt(int64(v.num), 10))
	case v.Type.isUnsigned():
		b.WriteString(strconv.FormatUint(v.num, 10))
	case v.Type == TypeFloat32:
		b.WriteString(strconv.FormatFloat(float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32))
	case v.Type == TypeFloat64:
		b.WriteString(strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64))
	case v.Type == TypeBool:
		b.WriteString(strconv.FormatBool(v.num != 0))
	case v.Type == TypeString:
		b.WriteString(strconv.Quote(v.str))
	case v.Type == TypeArray:
		elem, _ := v.Elem()
		n := v.Len()
		fmt.Fprintf(b, "[%s × %d]", elem, n)
		shown := n
		if limit >= 0 && shown > limit {
			shown = limit
		}
		for i := 0; i < shown; i++ {
			if i == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(", ")
			}
			e := v.index(i)
			if e.Type == TypeArray {
				b.WriteByte('(')
				e.format(b, limit)
				b.WriteByte(')')
			} else {
				e.format(b, limit)
			}
		}
		if shown < n {
			b.WriteString(", ...")
		}
	default:
		fmt.Fprintf(b, "<%s>", v.Type)
	}
}

// Interface returns v as a plain Go value: uint64, int64, float64, bool,
// string, or for arrays a []any of those (nested for arrays of arrays).
func (v Value) Interface() any {
	switch {
	case v.Type.isSigned():
		return int64(v.num)
	case v.Type.isUnsigned():
		return v.num
	case v.Type == TypeFloat32, v.Type == TypeFloat64:
		f, _ := v.Float()
		return f
	case v.Type == TypeBool:
		return v.num != 0
	case v.Type == TypeString:
		return v.str
	case v.Type == TypeArray:
		n := v.Len()
		out := make([]any, n)
		for i := range out {
			out[i] = v.index(i).Interface()
		}
		return out
	}
	return nil
}
