package quantize

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/quant"
)

// Tensor describes one tensor of a source model: Name, Type (the type it is
// stored in) and Shape (ggml "ne" order, Shape[0] is the row length). It is
// gguf's description, so that sources need not import this package; Offset
// and Size are ignored.
type Tensor = gguf.TensorInfo

// rowLen returns the number of values in one row (Shape[0], or 1 for a scalar).
func rowLen(t *Tensor) int64 {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[0]
}

// nDims is ggml_n_dims: the number of dimensions ignoring trailing ones (at
// least 1).
func nDims(shape []int64) int {
	n := len(shape)
	for n > 1 && shape[n-1] == 1 {
		n--
	}
	return max(n, 1)
}

// maxElements bounds a tensor's values (2^40, 4 TiB of float32).
const maxElements = 1 << 40

// checkShape rejects shapes a GGUF file cannot hold: more than 4 dimensions,
// a dimension below 1, or too many values.
func checkShape(t *Tensor) error {
	if len(t.Shape) > gguf.MaxDims {
		return fmt.Errorf("quantize: tensor %q: %d dimensions (at most %d)", t.Name, len(t.Shape), gguf.MaxDims)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 1 || d > maxElements || n > maxElements/d {
			return fmt.Errorf("quantize: tensor %q: invalid shape %v", t.Name, t.Shape)
		}
		n *= d
	}
	return nil
}

// Hparams are the hyperparameters the mixing rules look at.
type Hparams struct {
	Arch    string // general.architecture
	Layers  int    // <arch>.block_count
	Heads   int    // <arch>.attention.head_count (of layer 0)
	KVHeads int    // <arch>.attention.head_count_kv (of layer 0; Heads when absent)
	Experts int    // <arch>.expert_count (0 for dense models)
}

// gqa is llama.cpp's n_gqa(): query heads per KV head, 0 without KV heads.
func (h Hparams) gqa() int {
	if h.KVHeads == 0 {
		return 0
	}
	return h.Heads / h.KVHeads
}

// is70B mirrors llama.cpp's model-size detection where it matters for the
// rules: an 80-layer llama (with grouped-query attention and not a mixture of
// 8 experts), deci, qwen2 or olmo model is a "70B".
func (h Hparams) is70B() bool {
	if h.Layers != 80 {
		return false
	}
	switch h.Arch {
	case "llama":
		return h.Experts != 8 && h.Heads != h.KVHeads
	case "deci", "qwen2", "olmo":
		return true
	}
	return false
}

// HparamsFromMetadata reads the hyperparameters the rules need from a
// model's metadata. Missing keys read as zero (the rules then treat the model
// as having no layers); head_count given per layer uses layer 0.
func HparamsFromMetadata(kv []gguf.KV) Hparams {
	idx := make(map[string]gguf.Value, len(kv))
	for _, e := range kv {
		idx[e.Key] = e.Value
	}
	var h Hparams
	if s, ok := idx["general.architecture"].Str(); ok {
		h.Arch = s
	}
	num := func(suffix string) int {
		v, ok := idx[h.Arch+"."+suffix]
		if !ok {
			return 0
		}
		if _, elems, isArr := v.Array(); isArr {
			if len(elems) == 0 {
				return 0
			}
			v = elems[0]
		}
		if u, ok := v.Uint(); ok && u < 1<<30 {
			return int(u)
		}
		return 0
	}
	h.Layers = num("block_count")
	h.Heads = num("attention.head_count")
	h.KVHeads = h.Heads
	if _, ok := idx[h.Arch+".attention.head_count_kv"]; ok {
		h.KVHeads = num("attention.head_count_kv")
	}
	h.Experts = num("expert_count")
	return h
}

// Choice is the type chosen for one tensor.
type Choice struct {
	Tensor
	To       quant.Type // the type it is written in
	Convert  bool       // false: its bytes are copied unchanged
	Fallback bool       // the rules wanted a K-quant the row length cannot hold
	Wanted   quant.Type // with Fallback, the type the rules wanted
}

// layerOf returns the N of a "blk.N." name, or -1, as sscanf("blk.%d.") in
// llama.cpp's weight_name_comparer.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	end := 0
	if end < len(rest) && (rest[end] == '-' || rest[end] == '+') {
		end++
	}
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return n
}

// SortTensors orders tensors as llama.cpp's quantizer processes and writes
// them: by layer number (tensors outside blk.N first), then by name. The
// order matters: the rules count attn_v and ffn_down tensors as they go.
func SortTensors(ts []Tensor) {
	sort.SliceStable(ts, func(i, j int) bool {
		li, lj := layerOf(ts[i].Name), layerOf(ts[j].Name)
		if li != lj {
			return li < lj
		}
		return ts[i].Name < ts[j].Name
	})
}

// quantizable reports whether llama.cpp's quantizer converts the tensor at
// all: weights of two or more dimensions, except norms, expert gates,
// positional and token-type embeddings and a few small tensors of other
// architectures. The others keep their type.
func quantizable(t *Tensor) bool {
	n := t.Name
	if !strings.HasSuffix(n, "weight") || nDims(t.Shape) < 2 {
		return false
	}
	for _, s := range []string{"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "shortconv.conv.weight",
		"time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_decay_w1.weight",
		"time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight"} {
		if strings.Contains(n, s) {
			return false
		}
	}
	return n != "position_embd.weight" && n != "token_types.weight"
}

// planner holds the counters of llama.cpp's quantize_state_impl.
type planner struct {
	hp        Hparams
	ft        FileType
	hasOutput bool
	nAttnV    int
	iAttnV    int
	iFFNDown  int
	iFFNGate  int
	iFFNUp    int
}

// useMoreBits is llama.cpp's choice of the layers that get more bits: the
// first and last eighth, and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// blockSize returns the values per block of t.
func blockSize(t quant.Type) int64 {
	tr, _ := t.Traits()
	return int64(max(tr.BlockSize, 1))
}

// Plan returns the type each tensor gets under opts (Type, Pure,
// Overrides), in the order llama.cpp writes them (see SortTensors). Without
// Pure, a K-quant scheme's mixing rules apply (see TensorType); a tensor whose
// rows cannot hold the chosen type's blocks falls back as llama.cpp's does
// (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K/IQ4_XS -> IQ4_NL, then
// F16). With Pure, or for a type without a fallback, such a tensor is an
// error.
func Plan(hp Hparams, tensors []Tensor, opts Options) ([]Choice, error) {
	def, ok := opts.Type.DefaultType()
	if !ok {
		return nil, fmt.Errorf("quantize: unsupported scheme %v", opts.Type)
	}
	for name, t := range opts.Overrides {
		if err := t.Check(); err != nil || t == quant.Q8_1 || t == quant.Q8_K {
			return nil, fmt.Errorf("quantize: override for %q: %v is not a storage type edgeai can write", name, t)
		}
	}
	for i := range tensors {
		if err := checkShape(&tensors[i]); err != nil {
			return nil, err
		}
	}
	ts := append([]Tensor(nil), tensors...)
	SortTensors(ts)
	p := &planner{hp: hp, ft: opts.Type}
	for i := range ts {
		n := ts[i].Name
		switch {
		case strings.Contains(n, "attn_v.weight"), strings.Contains(n, "attn_qkv.weight"), strings.Contains(n, "attn_kv_b.weight"):
			p.nAttnV++
		case n == "output.weight":
			p.hasOutput = true
		}
	}
	defTr, _ := def.Traits()
	out := make([]Choice, len(ts))
	for i := range ts {
		t := &ts[i]
		c := Choice{Tensor: Tensor{Name: t.Name, Type: t.Type, Shape: t.Shape}, To: t.Type}
		if quantizable(t) {
			to := def
			if !opts.Pure && defTr.Quantized {
				var err error
				if to, c.Fallback, c.Wanted, err = p.tensorType(def, t); err != nil {
					return nil, err
				}
			}
			if o, ok := opts.Overrides[t.Name]; ok {
				to, c.Fallback, c.Wanted = o, false, 0
			}
			c.To = to
		}
		if c.To != t.Type {
			if bs := blockSize(c.To); rowLen(t)%bs != 0 {
				return nil, fmt.Errorf("quantize: tensor %q: rows of %d values are not a whole number of %v blocks of %d (llama.cpp has no fallback here either)",
					t.Name, rowLen(t), c.To, bs)
			}
			c.Convert = true
		}
		out[i] = c
	}
	return out, nil
}

// tensorType returns the type llama.cpp's mixing rules (llama_tensor_get_type,
// b4748) give tensor t under the planner's scheme, whose default type is def,
// with the fallback for rows that cannot hold it. It must see the model's
// tensors in SortTensors order (it counts them). The rules are summarised in
// docs/quantize.md.
func (p *planner) tensorType(def quant.Type, t *Tensor) (to quant.Type, fallback bool, wanted quant.Type, err error) {
	name := t.Name
	ft := p.ft
	hp := p.hp
	nx := rowLen(t)
	experts := max(1, hp.Experts)
	// layerInfo is llama.cpp's layer_info: the running counter, or for
	// mixtures of experts the layer number parsed from the name.
	layerInfo := func(i int) (int, int, error) {
		if experts > 1 {
			l := layerOf(name)
			if l < 0 || l >= hp.Layers {
				return 0, 0, fmt.Errorf("quantize: tensor %q: cannot tell its layer (of %d)", name, hp.Layers)
			}
			return l, hp.Layers, nil
		}
		return i, hp.Layers, nil
	}
	nt := def
	switch {
	case name == "output.weight" || (!p.hasOutput && name == "token_embd.weight"):
		switch {
		case hp.Arch == "falcon" || nx%blockSize(nt) != 0:
			nt = quant.Q8_0
		case nt != quant.Q8_0:
			nt = quant.Q6_K
		}
	case name == "token_embd.weight":
		// Only the IQ1/IQ2/IQ3_XXS and TQ schemes change it.
	case strings.Contains(name, "attn_v.weight"):
		switch {
		case ft == Q2_K:
			nt = quant.Q3_K
			if hp.gqa() >= 4 {
				nt = quant.Q4_K
			}
		case ft == Q3_K_M:
			nt = quant.Q4_K
			if p.iAttnV < 2 {
				nt = quant.Q5_K
			}
		case ft == Q3_K_L:
			nt = quant.Q5_K
		case (ft == IQ4_NL || ft == IQ4_XS) && hp.gqa() >= 4:
			nt = quant.Q5_K
		case (ft == Q4_K_M || ft == Q5_K_M) && useMoreBits(p.iAttnV, p.nAttnV):
			nt = quant.Q6_K
		case ft == Q4_K_S && p.iAttnV < 4:
			nt = quant.Q5_K
		}
		if hp.is70B() && (nt == quant.Q3_K || nt == quant.Q4_K) {
			nt = quant.Q5_K
		}
		if hp.Experts == 8 {
			nt = quant.Q8_0
		}
		p.iAttnV++
	case strings.Contains(name, "attn_k.weight"):
		if hp.Experts == 8 {
			nt = quant.Q8_0
		}
	case strings.Contains(name, "attn_q.weight"):
		// Only the IQ3 schemes change it.
	case strings.Contains(name, "ffn_down"):
		il, nl, err := layerInfo(p.iFFNDown)
		if err != nil {
			return 0, false, 0, err
		}
		switch {
		case ft == Q2_K:
			nt = quant.Q3_K
		case ft == Q3_K_M:
			switch {
			case il < nl/16:
				nt = quant.Q5_K
			case hp.Arch != "falcon" || useMoreBits(il, nl):
				nt = quant.Q4_K
			default:
				nt = quant.Q3_K
			}
		case ft == Q3_K_L:
			nt = quant.Q5_K
			if hp.Arch == "falcon" {
				nt = quant.Q4_K
			}
		case ft == Q4_K_M:
			if hp.Arch == "falcon" {
				switch {
				case il < nl/16:
					nt = quant.Q6_K
				case useMoreBits(il, nl):
					nt = quant.Q5_K
				default:
					nt = quant.Q4_K
				}
			} else if useMoreBits(il, nl) {
				nt = quant.Q6_K
			}
		case il < nl/8 && (ft == IQ4_NL || ft == IQ4_XS):
			nt = quant.Q5_K // llama.cpp: only without an importance matrix, which edgeai never has
		case ft == Q5_K_M && useMoreBits(il, nl):
			nt = quant.Q6_K
		case ft == Q4_K_S && hp.Arch != "falcon" && il < nl/8:
			nt = quant.Q5_K
		}
		p.iFFNDown++
	case strings.Contains(name, "attn_output.weight"):
		if hp.Arch != "falcon" {
			if hp.Experts == 8 {
				switch ft {
				case Q2_K, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M, IQ4_XS:
					nt = quant.Q5_K
				}
			} else {
				switch ft {
				case Q2_K:
					nt = quant.Q3_K
				case Q3_K_M:
					nt = quant.Q4_K
				case Q3_K_L:
					nt = quant.Q5_K
				}
			}
		} else if ft == Q3_K_L {
			nt = quant.Q4_K
		}
	case strings.Contains(name, "attn_qkv.weight"):
		switch ft {
		case Q3_K_M, Q3_K_L:
			nt = quant.Q4_K
		case Q4_K_M:
			nt = quant.Q5_K
		case Q5_K_M:
			nt = quant.Q6_K
		}
	case strings.Contains(name, "ffn_gate"):
		if _, _, err := layerInfo(p.iFFNGate); err != nil {
			return 0, false, 0, err
		}
		p.iFFNGate++
	case strings.Contains(name, "ffn_up"):
		if _, _, err := layerInfo(p.iFFNUp); err != nil {
			return 0, false, 0, err
		}
		p.iFFNUp++
	}

	if nx%blockSize(nt) == 0 {
		return nt, false, 0, nil
	}
	wanted = nt
	switch nt {
	case quant.Q2_K, quant.Q3_K, quant.IQ4_XS:
		nt = quant.IQ4_NL
	case quant.Q4_K:
		nt = quant.Q5_0
	case quant.Q5_K:
		nt = quant.Q5_1
	case quant.Q6_K:
		nt = quant.Q8_0
	default:
		return 0, false, 0, fmt.Errorf("quantize: tensor %q: rows of %d values do not fit %v blocks of %d and %v has no fallback",
			name, nx, nt, blockSize(nt), nt)
	}
	if nx%blockSize(nt) != 0 {
		nt = quant.F16
	}
	return nt, true, wanted, nil
}
