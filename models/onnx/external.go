package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadFile reads and decodes the model at path, sets Model.Dir to its
// directory and checks every external-data reference (location inside the
// directory, side file present, offset and length inside it) without reading
// the side files; call LoadExternal to read them.
func ReadFile(path string) (*Model, error) {
	data, err := ReadRegularFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	m.Dir = dirOf(path)
	if err := m.CheckExternal(); err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

func dirOf(path string) string {
	d := filepath.Dir(path)
	if d == "" {
		return "."
	}
	return d
}

func externalRef(kv []StringPair) (*ExternalRef, error) {
	r := &ExternalRef{Length: -1}
	for _, p := range kv {
		switch p.Key {
		case "location":
			r.Location = p.Value
		case "offset", "length":
			v, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: %s %q", ErrExternalData, p.Key, p.Value)
			}
			if p.Key == "offset" {
				r.Offset = v
			} else {
				r.Length = v
			}
		case "checksum":
			r.Checksum = p.Value
		}
	}
	if r.Location == "" {
		return nil, fmt.Errorf("%w: no location", ErrExternalData)
	}
	return r, nil
}

// ExternalTensors returns every tensor of the model whose data lives in a
// side file: initializers and tensor attributes, in nested graphs and
// model-local functions too.
func (m *Model) ExternalTensors() []*Tensor {
	var out []*Tensor
	m.forEachTensor(func(t *Tensor) {
		if t.External != nil {
			out = append(out, t)
		}
	})
	return out
}

// CheckExternal checks every external-data reference against Model.Dir
// without reading the data: the location must be a local path inside the
// directory (no absolute path, no "..", no symlink leading out), the side
// file must exist and offset+length must lie inside it, and the length must
// equal the tensor's size.
func (m *Model) CheckExternal() error {
	ext := m.ExternalTensors()
	if len(ext) == 0 {
		return nil
	}
	r, err := openRoot(m.Dir)
	if err != nil {
		return err
	}
	defer r.close()
	for _, t := range ext {
		f, _, _, err := r.open(t)
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// LoadExternal reads the data of every external tensor into its Raw field,
// with the checks of CheckExternal.
func (m *Model) LoadExternal() error {
	ext := m.ExternalTensors()
	if len(ext) == 0 {
		return nil
	}
	r, err := openRoot(m.Dir)
	if err != nil {
		return err
	}
	defer r.close()
	for _, t := range ext {
		if err := r.load(t); err != nil {
			return err
		}
	}
	return nil
}

// root confines file access to one directory (os.Root refuses paths and
// symlinks that lead out of it).
type root struct {
	dir string
	r   *os.Root
}

func openRoot(dir string) (*root, error) {
	if dir == "" {
		dir = "."
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: model directory: %w", ErrExternalData, err)
	}
	return &root{dir: dir, r: r}, nil
}

func (r *root) close() { r.r.Close() }

// safeLocation checks an external-data location before any file access.
func safeLocation(loc string) (string, error) {
	if loc == "" || strings.ContainsRune(loc, 0) {
		return "", fmt.Errorf("%w: location %q", ErrExternalData, loc)
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, `\`) || filepath.VolumeName(loc) != "" {
		return "", fmt.Errorf("%w: location %q is absolute; it must be relative to the model's directory", ErrExternalData, loc)
	}
	p := filepath.FromSlash(loc)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: location %q leaves the model's directory", ErrExternalData, loc)
	}
	return p, nil
}

// open opens t's side file and checks its range; it returns the file, the
// offset and the length to read.
func (r *root) open(t *Tensor) (*os.File, int64, int64, error) {
	e := t.External
	p, err := safeLocation(e.Location)
	if err != nil {
		return nil, 0, 0, tensorErr(t, err)
	}
	f, err := r.r.OpenFile(p, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: %w", ErrExternalData, err))
		}
		// os.Root reports escapes (via symlinks too) as errors of its own.
		return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: location %q: %w", ErrExternalData, e.Location, err))
	}
	if err := checkRegular(f, e.Location); err != nil {
		f.Close()
		return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: location %w", ErrExternalData, err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: %w", ErrExternalData, err))
	}
	size := st.Size()
	want, err := t.Type.ByteSize(t.NumElements())
	if err != nil {
		f.Close()
		return nil, 0, 0, tensorErr(t, err)
	}
	n := e.Length
	if n < 0 {
		n = size - e.Offset
	}
	if e.Offset > size || n < 0 || n > size-e.Offset {
		f.Close()
		return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: offset %d length %d outside %q (%d bytes)", ErrExternalData, e.Offset, e.Length, e.Location, size))
	}
	if n != want {
		f.Close()
		return nil, 0, 0, tensorErr(t, fmt.Errorf("%w: %d bytes in %q, %v%v needs %d", ErrExternalData, n, e.Location, t.Type, t.Dims, want))
	}
	return f, e.Offset, n, nil
}

func (r *root) load(t *Tensor) error {
	f, off, n, err := r.open(t)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off); err != nil && !(err == io.EOF && n == 0) {
		return tensorErr(t, fmt.Errorf("%w: reading %q: %w", ErrExternalData, t.External.Location, err))
	}
	t.Raw = buf
	return nil
}

// forEachTensor calls fn for every tensor in the model: initializers and
// tensor attributes, in nested graphs and local functions too.
func (m *Model) forEachTensor(fn func(*Tensor)) {
	var attrs func(as []*Attribute)
	var graph func(g *Graph)
	attrs = func(as []*Attribute) {
		for _, a := range as {
			if a.T != nil {
				fn(a.T)
			}
			for _, t := range a.Tensors {
				fn(t)
			}
			if a.G != nil {
				graph(a.G)
			}
			for _, g := range a.Graphs {
				graph(g)
			}
		}
	}
	graph = func(g *Graph) {
		for _, t := range g.Initializers {
			fn(t)
		}
		for _, n := range g.Nodes {
			attrs(n.Attributes)
		}
	}
	if m.Graph != nil {
		graph(m.Graph)
	}
	for _, f := range m.Functions {
		attrs(f.AttrDefaults)
		for _, n := range f.Nodes {
			attrs(n.Attributes)
		}
	}
}

// Tensors returns every constant tensor of the model: initializers and
// tensor attributes (Constant values among them), in nested graphs and
// model-local functions too.
func (m *Model) Tensors() []*Tensor {
	var out []*Tensor
	m.forEachTensor(func(t *Tensor) { out = append(out, t) })
	return out
}
