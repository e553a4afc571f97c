package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// ONNX encoders: the texts of one run are padded to the longest with the
// [PAD] token and masked out with attention_mask = 0; pooling (over each
// text's own tokens only) and normalisation happen in Go, so an ONNX export
// and the GGUF of the same model give the same vectors.

// onnxBatchTexts is the most texts in one ONNX run.
const onnxBatchTexts = 32

// Output names of encoder exports, most useful first: token states (pooled
// here) before pooled vectors.
var (
	onnxTokenOutputs  = []string{"last_hidden_state", "token_embeddings", "hidden_states", "output_0"}
	onnxPooledOutputs = []string{"sentence_embedding", "embeddings", "text_embeds"}
)

type onnxEncoder struct {
	sess        *ONNXSession
	ids, mask   TensorInfo // mask.Name == "" when the model takes none
	types       TensorInfo // types.Name == "" when the model takes none
	positions   TensorInfo // positions.Name == "" when the model takes none
	output      string
	pad         int
	batchTokens int
	d           int
}

func loadONNXEmbedder(ctx context.Context, path string, o EmbedOptions) (*EmbedModel, error) {
	tok, tokPath, maxLen, err := onnxTokenizer(path, o.Tokenizer)
	if err != nil {
		return nil, err
	}
	if o.MaxLength > 0 {
		maxLen = o.MaxLength
	}
	if maxLen <= 0 || maxLen > 1<<16 {
		maxLen = 512
	}
	def, err := sentenceTransformersPooling(path)
	if err != nil && o.Pooling == "" {
		return nil, err
	}
	onnxOpts := o.ONNX
	if o.Threads > 0 && onnxOpts.Threads == 0 {
		onnxOpts.Threads = o.Threads
	}
	sess, err := LoadONNX(ctx, path, onnxOpts)
	if err != nil {
		return nil, err
	}
	eng, err := newONNXEncoder(sess, tok)
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("runtime: %s: %w", path, err)
	}
	if o.BatchTokens == 0 {
		o.BatchTokens = max(2048, maxLen)
	}
	eng.batchTokens = o.BatchTokens
	m := &EmbedModel{opts: o, tok: tok, maxLen: maxLen, eng: eng}
	// One run of the shortest text tells the vector size and shows that
	// the model runs at all.
	probe, err := m.Tokenize("")
	if err == nil {
		err = eng.run(ctx, [][]int{probe}, func(int, []float32, int, bool) error { return nil })
	}
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("runtime: %s: a test run failed: %w", path, err)
	}
	m.info = EmbedInfo{Path: path, Format: "onnx", Architecture: "onnx", Backend: sess.Backend(), Dim: eng.d,
		ContextLength: maxLen, Vocab: tok.VocabSize(), Threads: onnxOpts.Threads, Tokenizer: tokPath}
	if err := m.resolvePooling(def); err != nil {
		sess.Close()
		return nil, err
	}
	if m.pooling == nn.PoolRank {
		sess.Close()
		return nil, fmt.Errorf("runtime: %s: ONNX rerankers are not supported (GGUF ones are)", path)
	}
	return m, nil
}

// onnxTokenizer finds the tokenizer of the ONNX model at path: opt (a file
// or directory) if set, else the model's directory, then its parent.
func onnxTokenizer(path, opt string) (*tokenizer.Tokenizer, string, int, error) {
	if opt != "" {
		st, err := os.Stat(opt)
		if err != nil {
			return nil, "", 0, fmt.Errorf("runtime: tokenizer: %w", err)
		}
		if !st.IsDir() {
			t, info, err := tokenizer.LoadHFFile(opt)
			if err != nil {
				return nil, "", 0, fmt.Errorf("runtime: %w", err)
			}
			return t, opt, info.MaxLength, nil
		}
		if err := regularIfPresent(opt, hfTokenizerFiles...); err != nil {
			return nil, "", 0, fmt.Errorf("runtime: tokenizer: %w", err)
		}
		t, info, err := tokenizer.LoadHF(opt)
		if err != nil {
			return nil, "", 0, fmt.Errorf("runtime: %w", err)
		}
		return t, info.Path, info.MaxLength, nil
	}
	dir := filepath.Dir(path)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := regularIfPresent(d, hfTokenizerFiles...); err != nil {
			return nil, "", 0, fmt.Errorf("runtime: tokenizer: %w", err)
		}
		t, info, err := tokenizer.LoadHF(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", 0, fmt.Errorf("runtime: %w", err)
		}
		return t, info.Path, info.MaxLength, nil
	}
	return nil, "", 0, fmt.Errorf("runtime: %s: no tokenizer.json, sentencepiece.bpe.model, spiece.model or vocab.txt beside the model or in its parent directory (set one with WithTokenizer)", path)
}

// sentenceTransformersPooling reads the pooling of a sentence-transformers
// export (1_Pooling/config.json in the model's directory or its parent);
// mean when there is none.
func sentenceTransformersPooling(path string) (nn.Pooling, error) {
	dir := filepath.Dir(path)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		p := filepath.Join(d, "1_Pooling", "config.json")
		data, err := onnx.ReadRegularFile(p)
		if err != nil {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal(data, &c); err != nil {
			return nn.PoolMean, fmt.Errorf("runtime: %s: %w", p, err)
		}
		on := func(k string) bool { v, _ := c[k].(bool); return v }
		var modes []nn.Pooling
		if on("pooling_mode_cls_token") {
			modes = append(modes, nn.PoolCLS)
		}
		if on("pooling_mode_mean_tokens") {
			modes = append(modes, nn.PoolMean)
		}
		if on("pooling_mode_lasttoken") {
			modes = append(modes, nn.PoolLast)
		}
		other := on("pooling_mode_max_tokens") || on("pooling_mode_mean_sqrt_len_tokens") || on("pooling_mode_weightedmean_tokens")
		if len(modes) != 1 || other {
			return nn.PoolMean, fmt.Errorf("runtime: %s: this pooling is not supported (edgeai pools mean, cls or last); choose one with WithPooling", p)
		}
		return modes[0], nil
	}
	return nn.PoolMean, nil
}

// newONNXEncoder matches the model's inputs and outputs to an encoder's.
func newONNXEncoder(sess *ONNXSession, tok *tokenizer.Tokenizer) (*onnxEncoder, error) {
	e := &onnxEncoder{sess: sess, pad: max(tok.Pad(), 0)}
	var unknown []string
	for _, in := range sess.Inputs() {
		var dst *TensorInfo
		switch in.Name {
		case "input_ids":
			dst = &e.ids
		case "attention_mask":
			dst = &e.mask
		case "token_type_ids":
			dst = &e.types
		case "position_ids":
			dst = &e.positions
		default:
			unknown = append(unknown, in.String())
			continue
		}
		if in.Type != TensorInt64 && in.Type != TensorInt32 {
			return nil, fmt.Errorf("input %s: want int64 or int32 ids", in)
		}
		if in.HasShape && len(in.Shape) != 2 {
			return nil, fmt.Errorf("input %s: want [batch, sequence]", in)
		}
		*dst = in
	}
	if len(unknown) > 0 || e.ids.Name == "" {
		var names []string
		for _, in := range sess.Inputs() {
			names = append(names, in.String())
		}
		return nil, fmt.Errorf("not a text encoder: its inputs are %s (want input_ids and optionally attention_mask, token_type_ids, position_ids)", strings.Join(names, ", "))
	}
	outs := sess.Outputs()
	pick := func(names []string) string {
		for _, n := range names {
			if i := slices.IndexFunc(outs, func(o TensorInfo) bool { return o.Name == n && o.Type == TensorFloat32 }); i >= 0 {
				return n
			}
		}
		return ""
	}
	if e.output = pick(onnxTokenOutputs); e.output == "" {
		if e.output = pick(onnxPooledOutputs); e.output == "" {
			for _, o := range outs {
				if o.Type == TensorFloat32 {
					e.output = o.Name
					break
				}
			}
		}
	}
	if e.output == "" {
		return nil, errors.New("not a text encoder: no float32 output")
	}
	return e, nil
}

func (e *onnxEncoder) dim() int { return e.d }

// setDim records the vector width on the first (probe) run, which comes
// before any concurrent use, and checks it on later runs.
func (e *onnxEncoder) setDim(d int) error {
	if e.d == 0 {
		e.d = d
	} else if d != e.d {
		return fmt.Errorf("runtime: output %s changed width from %d to %d", e.output, e.d, d)
	}
	return nil
}

func (e *onnxEncoder) close() error { return e.sess.Close() }

// run sorts the texts by length and runs them in padded batches of up to
// onnxBatchTexts texts and batchTokens tokens (padding included).
func (e *onnxEncoder) run(ctx context.Context, seqs [][]int, emit func(int, []float32, int, bool) error) error {
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(seqs[a]) - len(seqs[b]) })
	for start := 0; start < len(order); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := start + 1
		for end < len(order) && end-start < onnxBatchTexts && (end-start+1)*len(seqs[order[end]]) <= e.batchTokens {
			end++
		}
		if err := e.runBatch(ctx, seqs, order[start:end], emit); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (e *onnxEncoder) runBatch(ctx context.Context, seqs [][]int, idx []int, emit func(int, []float32, int, bool) error) error {
	b, s := len(idx), 0
	for _, i := range idx {
		s = max(s, len(seqs[i]))
	}
	ids := make([]int64, b*s)
	mask := make([]int64, b*s)
	pos := make([]int64, b*s)
	for r, i := range idx {
		for t := 0; t < s; t++ {
			ids[r*s+t] = int64(e.pad)
			pos[r*s+t] = int64(t)
			if t < len(seqs[i]) {
				ids[r*s+t] = int64(seqs[i][t])
				mask[r*s+t] = 1
			}
		}
	}
	shape := []int64{int64(b), int64(s)}
	in := map[string]*Tensor{}
	add := func(ti TensorInfo, v []int64) error {
		if ti.Name == "" {
			return nil
		}
		var t *Tensor
		var err error
		if ti.Type == TensorInt32 {
			v32 := make([]int32, len(v))
			for i, x := range v {
				v32[i] = int32(x)
			}
			t, err = NewTensor(shape, v32)
		} else {
			t, err = NewTensor(shape, v)
		}
		in[ti.Name] = t
		return err
	}
	for _, err := range []error{add(e.ids, ids), add(e.mask, mask), add(e.types, make([]int64, b*s)), add(e.positions, pos)} {
		if err != nil {
			return fmt.Errorf("runtime: %w", err)
		}
	}
	outs, err := e.sess.Run(ctx, in)
	if err != nil {
		return err
	}
	out := outs[e.output]
	vals, err := TensorValues[float32](out)
	if err != nil {
		return fmt.Errorf("runtime: output %s: %w", e.output, err)
	}
	switch {
	case len(out.Shape) == 3 && out.Shape[0] == int64(b) && out.Shape[1] == int64(s) && out.Shape[2] > 0:
		d := int(out.Shape[2])
		if err := e.setDim(d); err != nil {
			return err
		}
		for r, i := range idx {
			if err := emit(i, vals[r*s*d:(r*s+len(seqs[i]))*d], len(seqs[i]), false); err != nil {
				return err
			}
		}
	case len(out.Shape) == 2 && out.Shape[0] == int64(b) && out.Shape[1] > 0:
		d := int(out.Shape[1])
		if err := e.setDim(d); err != nil {
			return err
		}
		for r, i := range idx {
			if err := emit(i, vals[r*d:(r+1)*d], len(seqs[i]), true); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("runtime: output %s has shape %v for a batch of %d x %d tokens (want [batch, tokens, dim] or [batch, dim])", e.output, out.Shape, b, s)
	}
	return nil
}
