// Package npy reads and writes NumPy's .npy files (format versions 1.0, 2.0
// and 3.0) holding numeric or boolean arrays.
//
// Arrays are held as raw little-endian, row-major bytes: big-endian files
// are byte-swapped and Fortran-order files transposed on reading. Lengths in
// a file are checked before anything is allocated, and the data allocation
// grows only as bytes actually arrive.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/internal/safeopen"
)

// ErrFormat reports a file that is not a .npy file this package can read.
var ErrFormat = errors.New("npy: malformed file")

// maxHeader bounds the header dictionary (NumPy writes well under 1 KiB).
const maxHeader = 1 << 20

var magic = []byte("\x93NUMPY")

// Array is an n-dimensional array. Descr is the little-endian NumPy type
// string: "<f4", "<f8", "<f2", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4",
// "<i8", "<u8" or "|b1". Data holds the elements row-major, little-endian.
type Array struct {
	Descr string
	Shape []int64
	Data  []byte
}

// itemSize returns the bytes per element of a normalised descr, or 0.
func itemSize(descr string) int {
	switch descr {
	case "|i1", "|u1", "|b1":
		return 1
	case "<f2", "<i2", "<u2":
		return 2
	case "<f4", "<i4", "<u4":
		return 4
	case "<f8", "<i8", "<u8":
		return 8
	}
	return 0
}

// normalise maps a NumPy descr to the little-endian form this package uses
// and reports whether the file's data is big-endian.
func normalise(descr string) (string, bool, error) {
	if len(descr) < 3 {
		return "", false, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, descr)
	}
	order, kind, size := descr[0], descr[1], descr[2:]
	if kind == '?' { // numpy's bool is "|b1", also spelled "?"
		kind, size = 'b', "1"
	}
	switch size {
	case "1":
		order = '|'
	case "2", "4", "8":
	default:
		return "", false, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, descr)
	}
	big := false
	switch order {
	case '<', '|':
	case '>':
		big = true
	case '=':
		big = binary.NativeEndian.Uint16([]byte{0, 1}) == 1
	default:
		return "", false, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, descr)
	}
	if size == "1" {
		order = '|'
	} else {
		order = '<'
	}
	d := string([]byte{order, kind}) + size
	if itemSize(d) == 0 {
		return "", false, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, descr)
	}
	return d, big, nil
}

// NumElements returns the product of the shape.
func NumElements(shape []int64) (int64, error) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative dimension in %v", ErrFormat, shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64/8 {
			return 0, fmt.Errorf("%w: shape %v overflows", ErrFormat, shape)
		}
		n = lo
	}
	return int64(n), nil
}

// ReadFile reads a .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := safeopen.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Read reads one array from r.
func Read(r io.Reader) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("%w: not a .npy file", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		v := binary.LittleEndian.Uint32(b[:])
		if v > maxHeader {
			return nil, fmt.Errorf("%w: header of %d bytes", ErrFormat, v)
		}
		hlen = int(v)
	default:
		return nil, fmt.Errorf("%w: format version %d.%d", ErrFormat, pre[6], pre[7])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	descr, fortran, shape, err := parseHeader(string(header))
	if err != nil {
		return nil, err
	}
	d, big, err := normalise(descr)
	if err != nil {
		return nil, err
	}
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	size := n * int64(itemSize(d))
	// Read through a limit so the buffer grows with the bytes that arrive,
	// not with what the header claims.
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%w: %d data bytes, %s%v needs %d", ErrFormat, len(data), d, shape, size)
	}
	if big {
		swap(data, itemSize(d))
	}
	if fortran && len(shape) > 1 {
		data = transpose(data, shape, itemSize(d))
	}
	return &Array{Descr: d, Shape: shape, Data: data}, nil
}

func swap(data []byte, size int) {
	for i := 0; i+size <= len(data); i += size {
		for a, b := i, i+size-1; a < b; a, b = a+1, b-1 {
			data[a], data[b] = data[b], data[a]
		}
	}
}

// transpose turns column-major data into row-major data.
func transpose(data []byte, shape []int64, size int) []byte {
	out := make([]byte, len(data))
	n := len(data) / size
	idx := make([]int64, len(shape))
	for i := 0; i < n; i++ { // i walks the column-major source
		// Row-major offset of the element with index idx.
		off := int64(0)
		for k := range shape {
			off = off*shape[k] + idx[k]
		}
		copy(out[off*int64(size):], data[i*size:(i+1)*size])
		for k := range idx { // advance idx in column-major order
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return out
}

// parseHeader parses the Python dict literal of a .npy header, for example
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(h string) (descr string, fortran bool, shape []int64, err error) {
	p := &parser{s: strings.TrimRight(h, " \n\x00")}
	bad := func(what string) error {
		return fmt.Errorf("%w: header %q: %s", ErrFormat, truncate(h), what)
	}
	if !p.eat('{') {
		return "", false, nil, bad("no dict")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return "", false, nil, bad("bad key")
		}
		if seen[key] {
			return "", false, nil, bad("repeated key " + key)
		}
		seen[key] = true
		switch key {
		case "descr":
			if descr, ok = p.str(); !ok {
				return "", false, nil, bad("bad descr")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
			default:
				return "", false, nil, bad("bad fortran_order")
			}
		case "shape":
			if shape, ok = p.tuple(); !ok {
				return "", false, nil, bad("bad shape")
			}
		default:
			return "", false, nil, bad("unknown key " + key)
		}
		if !p.eat(',') {
			if !p.eat('}') {
				return "", false, nil, bad("expected , or }")
			}
			break
		}
	}
	if p.skip(); p.i != len(p.s) {
		return "", false, nil, bad("trailing bytes")
	}
	if !seen["descr"] || !seen["shape"] || !seen["fortran_order"] {
		return "", false, nil, bad("missing key")
	}
	return descr, fortran, shape, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

type parser struct {
	s string
	i int
}

func (p *parser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *parser) eat(c byte) bool {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *parser) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

func (p *parser) tuple() ([]int64, bool) {
	if !p.eat('(') {
		return nil, false
	}
	shape := []int64{}
	for {
		if p.eat(')') {
			return shape, true
		}
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		// Python 2 era files may write 3L.
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil || len(shape) >= 64 {
			return nil, false
		}
		p.i = j
		p.eat('L')
		shape = append(shape, v)
		if !p.eat(',') {
			if !p.eat(')') {
				return nil, false
			}
			return shape, true
		}
	}
}

// Write writes a as a version 1.0 .npy file (2.0 if the header needs it).
func Write(w io.Writer, a *Array) error {
	size := itemSize(a.Descr)
	if size == 0 {
		return fmt.Errorf("npy: unsupported dtype %q", a.Descr)
	}
	n, err := NumElements(a.Shape)
	if err != nil {
		return err
	}
	if int64(len(a.Data)) != n*int64(size) {
		return fmt.Errorf("npy: %d data bytes, %s%v needs %d", len(a.Data), a.Descr, a.Shape, n*int64(size))
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.FormatInt(d, 10))
	}
	if len(a.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", a.Descr, sh.String())
	version, lenBytes := byte(1), 2
	total := len(magic) + 2 + lenBytes + len(dict) + 1
	pad := (64 - total%64) % 64
	if len(dict)+1+pad > math.MaxUint16 {
		version, lenBytes = 2, 4
		total = len(magic) + 2 + lenBytes + len(dict) + 1
		pad = (64 - total%64) % 64
	}
	hdr := append([]byte{}, magic...)
	hdr = append(hdr, version, 0)
	hl := len(dict) + pad + 1
	if lenBytes == 2 {
		hdr = binary.LittleEndian.AppendUint16(hdr, uint16(hl))
	} else {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(hl))
	}
	hdr = append(hdr, dict...)
	hdr = append(hdr, bytes.Repeat([]byte{' '}, pad)...)
	hdr = append(hdr, '\n')
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err = w.Write(a.Data)
	return err
}

// WriteFile writes a to path (see Write).
func WriteFile(path string, a *Array) error {
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
