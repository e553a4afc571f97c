package runtime

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// ONNXModelInfo describes an ONNX model file without running it (see
// InspectONNX).
type ONNXModelInfo struct {
	Path            string
	Size            int64 // bytes of the .onnx file
	IRVersion       int64
	Producer        string // producer name and version
	Domain          string
	ModelVersion    int64
	Opsets          []ONNXOpset
	Inputs, Outputs []TensorInfo
	// NonTensor lists inputs and outputs that are not tensors (sequences,
	// maps, optionals), as "name type"; LoadONNX refuses such models.
	NonTensor       []string
	Nodes           int   // nodes, counting nested graphs and local functions
	Initializers    int   // initializers of the main graph
	Constants       int   // constant tensors: initializers and tensor attributes, nested too
	Parameters      int64 // elements in the constant tensors
	ExternalTensors int   // tensors whose data lives in side files
	Functions       []string
	Ops             []ONNXOpCount
	Metadata        [][2]string
	// Invalid is the structural problem models/onnx's validation found
	// (order, undefined values, unimported domains), or "".
	Invalid string
}

// ONNXOpset is an operator set a model imports ("" is the default domain).
type ONNXOpset struct {
	Domain  string
	Version int64
}

// ONNXOpCount is how many nodes of a model apply one operator.
type ONNXOpCount struct {
	Domain string
	OpType string
	Count  int
}

// String returns "OpType" or "domain.OpType".
func (c ONNXOpCount) String() string {
	if c.Domain == "" {
		return c.OpType
	}
	return c.Domain + "." + c.OpType
}

// InspectONNX reads an ONNX model and describes it: opsets, inputs and
// outputs with shapes, operator histogram, size. It checks external data
// references but runs nothing; see CheckONNXBackend for whether a backend
// can run the model.
func InspectONNX(path string) (*ONNXModelInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	info := &ONNXModelInfo{
		Path: path, Size: st.Size(), IRVersion: m.IRVersion,
		Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		Domain:   m.Domain, ModelVersion: m.ModelVersion,
		Nodes: m.NumNodes(), Initializers: len(m.Graph.Initializers),
		ExternalTensors: len(m.ExternalTensors()),
	}
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		info.Opsets = append(info.Opsets, ONNXOpset{Domain: d, Version: o.Version})
	}
	init := map[string]bool{}
	for _, t := range m.Graph.Initializers {
		init[t.Name] = true
	}
	for _, t := range m.Tensors() {
		info.Constants++
		info.Parameters += t.NumElements()
	}
	add := func(dst *[]TensorInfo, v *onnx.ValueInfo) {
		ti, err := tensorInfo(v)
		if err != nil {
			info.NonTensor = append(info.NonTensor, v.Name+" "+v.Type.String())
			return
		}
		*dst = append(*dst, ti)
	}
	for _, v := range m.Graph.Inputs {
		if !init[v.Name] {
			add(&info.Inputs, v)
		}
	}
	for _, v := range m.Graph.Outputs {
		add(&info.Outputs, v)
	}
	for _, f := range m.Functions {
		info.Functions = append(info.Functions, f.Domain+"."+f.Name)
	}
	for _, c := range m.Ops() {
		info.Ops = append(info.Ops, ONNXOpCount{Domain: c.Domain, OpType: c.OpType, Count: c.Count})
	}
	for _, p := range m.Metadata {
		info.Metadata = append(info.Metadata, [2]string{p.Key, p.Value})
	}
	if err := m.Validate(); err != nil {
		info.Invalid = err.Error()
	}
	return info, nil
}

// CheckONNXBackend reports whether the named backend can run the model at
// path, by loading it (ONNX Runtime, for one, checks every operator and type
// when it builds a session) and closing it again. The error says why not.
func CheckONNXBackend(ctx context.Context, path, backend string, opts ONNXOptions) error {
	opts.Backend = backend
	s, err := LoadONNX(ctx, path, opts)
	if err != nil {
		return err
	}
	return s.Close()
}
