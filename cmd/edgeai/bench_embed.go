package main

// edgeai bench for text encoders (BERT-family GGUF, ONNX exports): sentences
// per second at given batch sizes and sequence length, one EmbedIDs call per
// repetition, in the decoder bench's table and --json styles.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/safeopen"

	"github.com/edgeai-go/edgeai/kernels"
	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/nn"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/energy"
)

// Bounds of an encoder test: a pass holds at most embedBenchMaxTokens
// tokens (the activations grow with it), so -b and --seq cannot ask for a
// huge allocation.
const (
	embedBenchMaxBatch  = 1024
	embedBenchMaxTokens = 1 << 16
)

// embedBenchText is tokenized and cycled to fill the synthetic sentences:
// ordinary words, so that the ids are the model's own.
const embedBenchText = "the quick brown fox jumps over the lazy dog while a small model measures how fast it reads"

// embedBenchFlags are bench's encoder-only flags.
type embedBenchFlags struct {
	batches intsFlag
	seq     int
	set     map[string]bool // the flags given on the command line
}

func (e *embedBenchFlags) add(fs *flag.FlagSet) {
	e.batches = intsFlag{1, 8, 32}
	fs.Var(&e.batches, "b", "encoders: batch sizes, sentences per call: one test each (comma-separated)")
	fs.IntVar(&e.seq, "seq", 128, "encoders: tokens per sentence, [CLS] and [SEP] included")
}

// given reports whether an encoder-only flag was set (after parsing).
func (e *embedBenchFlags) given(fs *flag.FlagSet) bool {
	e.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { e.set[f.Name] = true })
	return e.set["b"] || e.set["seq"]
}

func (e *embedBenchFlags) check() error {
	if len(e.batches) == 0 {
		return fmt.Errorf("%w: -b: no batch size", errUsage)
	}
	if e.seq < 2 || e.seq > embedBenchMaxTokens {
		return fmt.Errorf("%w: --seq %d: want 2 ([CLS] and [SEP]) to %d", errUsage, e.seq, embedBenchMaxTokens)
	}
	for _, b := range e.batches {
		if b < 1 || b > embedBenchMaxBatch {
			return fmt.Errorf("%w: -b %d: want 1 to %d", errUsage, b, embedBenchMaxBatch)
		}
		if b*e.seq > embedBenchMaxTokens {
			return fmt.Errorf("%w: -b %d with --seq %d is %d tokens in one pass: at most %d", errUsage, b, e.seq, b*e.seq, embedBenchMaxTokens)
		}
	}
	return nil
}

// isEncoderModel tells bench's two modes apart: a GGUF whose architecture
// is a registered encoder, or a file or directory that is not GGUF (an ONNX
// encoder, which LoadEmbedder then checks). A missing or unreadable GGUF
// stays with the decoder bench, whose errors are unchanged.
func isEncoderModel(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if st.IsDir() {
		return true
	}
	f, err := safeopen.Open(path)
	if err != nil {
		return false
	}
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	f.Close()
	if err != nil || !bytes.Equal(magic, []byte("GGUF")) {
		return err == nil // a file shorter than 4 bytes is no model at all
	}
	g, err := gguf.Open(path)
	if err != nil {
		return false
	}
	defer g.Close()
	_, pooled := g.Lookup(g.ArchKey("pooling_type")) // a decoder trained as an embedder or reranker (Qwen3-Embedding)
	return nn.IsEncoder(g.Arch()) || pooled
}

// embedResult is one encoder test at one thread count.
type embedResult struct {
	Test    string // "embed b8 s128"
	Batch   int    // sentences per call
	Seq     int    // tokens per sentence
	Threads int
	Samples []time.Duration // one EmbedIDs call each
	Energy  *embedEnergy
	Time    time.Time
}

// embedEnergy is the energy of all repetitions of a test.
type embedEnergy struct {
	Joules          float64
	PerSentence     float64
	PerToken        float64
	AboveIdlePerTok float64
	IdleWatts       float64
}

func (r *embedResult) speeds(per int) []float64 {
	s := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		if d > 0 {
			s[i] = float64(per) / d.Seconds()
		}
	}
	return s
}

// sentencesPerSecond and tokensPerSecond return the mean and sample
// standard deviation over the repetitions.
func (r *embedResult) sentencesPerSecond() (float64, float64) { return meanStdDev(r.speeds(r.Batch)) }

func (r *embedResult) tokensPerSecond() (float64, float64) {
	return meanStdDev(r.speeds(r.Batch * r.Seq))
}

func meanStdDev(x []float64) (float64, float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	if len(x) == 1 {
		return m, 0
	}
	var q float64
	for _, v := range x {
		q += (v - m) * (v - m)
	}
	return m, math.Sqrt(q / float64(len(x)-1))
}

// embedBenchSeqs builds batch sentences of exactly seq ids: the model's
// [CLS], then embedBenchText's word pieces cycled (shifted per sentence so
// that they differ), then [SEP].
func embedBenchSeqs(m *runtime.EmbedModel, batch, seq int) ([][]int, error) {
	ids, err := m.Tokenize(embedBenchText)
	if err != nil {
		return nil, err
	}
	if len(ids) < 3 {
		return nil, fmt.Errorf("bench: the tokenizer gave %d ids for a sentence of 18 words", len(ids))
	}
	cls, sep, words := ids[0], ids[len(ids)-1], ids[1:len(ids)-1]
	seqs := make([][]int, batch)
	for i := range seqs {
		s := make([]int, seq)
		s[0], s[seq-1] = cls, sep
		for j := 1; j < seq-1; j++ {
			s[j] = words[(i+j-1)%len(words)]
		}
		seqs[i] = s
	}
	return seqs, nil
}

// runEmbed benchmarks an encoder: for each thread count, each batch size,
// a warm-up call then -r timed calls of EmbedIDs.
func (o *benchOptions) runEmbed(ctx context.Context, e *embedBenchFlags, stdout, stderr io.Writer) error {
	switch {
	case o.asCSV, o.svg != "", o.html != "", o.cloudEndpoint != "", o.compare:
		return fmt.Errorf("%w: for encoders bench writes the table or --json (no --csv, --svg, --html or cloud comparison yet)", errUsage)
	}
	if err := e.check(); err != nil {
		return err
	}
	progress := newProgressBar(stderr, o.quiet)
	sys := hostSystem()
	meter, err := o.chooseMeter(ctx, sys)
	if err != nil {
		return err
	}
	maxBatch := sliceMax(e.batches)
	probe, err := runtime.LoadEmbedder(ctx, o.mf.model, runtime.WithEmbedThreads(o.threads[0]))
	if err != nil {
		return err
	}
	info := probe.Info()
	probe.Close()
	if e.seq > info.ContextLength {
		return fmt.Errorf("%w: --seq %d does not fit in the model's context of %d tokens", errUsage, e.seq, info.ContextLength)
	}
	model, err := describeEncoder(o.mf.model, info)
	if err != nil {
		return err
	}
	var idleWatts float64
	idleSource := "not measured"
	var mi *energy.Info
	if meter != nil {
		i := meter.Info()
		mi = &i
		fmt.Fprintf(stderr, "power meter: %s\n", i)
		switch {
		case o.idleWatts >= 0:
			idleWatts, idleSource = o.idleWatts, "given with --idle-watts"
		case o.watts > 0:
			idleSource = "not measured (--watts; give --idle-watts)"
		case o.idle > 0:
			progress.message(fmt.Sprintf("measuring idle power for %s", o.idle))
			m, err := energy.MeasureIdle(ctx, meter, o.idle)
			if err != nil {
				return fmt.Errorf("idle power: %w", err)
			}
			idleWatts, idleSource = m.Watts(), fmt.Sprintf("measured over %s before the run", o.idle)
		}
	}

	var results []embedResult
	total, done := len(o.threads)*len(e.batches), 0
	for _, th := range o.threads {
		m, err := runtime.LoadEmbedder(ctx, o.mf.model, runtime.WithEmbedThreads(th),
			runtime.WithBatchTokens(max(maxBatch*e.seq, info.ContextLength)))
		if err != nil {
			return err
		}
		for _, b := range e.batches {
			r := embedResult{Test: fmt.Sprintf("embed b%d s%d", b, e.seq), Batch: b, Seq: e.seq, Threads: th, Time: time.Now()}
			if m.IsReranker() { // pairs of --seq tokens scored per call
				r.Test = fmt.Sprintf("rerank b%d s%d", b, e.seq)
			}
			progress.bench(done, total, r.Test)
			if err := o.embedTest(ctx, m, meter, idleWatts, &r); err != nil {
				m.Close()
				progress.done()
				return fmt.Errorf("bench: %s, %d threads: %w", r.Test, th, err)
			}
			results = append(results, r)
			done++
		}
		m.Close()
	}
	progress.bench(total, total, "")
	progress.done()

	if o.asJSON {
		return writeEmbedBenchJSON(stdout, model, results, mi)
	}
	return writeEmbedBenchTable(stdout, model, results, mi, idleWatts, idleSource)
}

// embedTest runs one test into r: a warm-up call unless --no-warmup, then
// o.reps timed calls, the meter running over the timed ones.
func (o *benchOptions) embedTest(ctx context.Context, m *runtime.EmbedModel, meter energy.Meter, idleWatts float64, r *embedResult) error {
	seqs, err := embedBenchSeqs(m, r.Batch, r.Seq)
	if err != nil {
		return err
	}
	run := func() (int, error) {
		if m.IsReranker() {
			s, err := m.RerankIDs(ctx, seqs)
			return len(s), err
		}
		v, err := m.EmbedIDs(ctx, seqs)
		return len(v), err
	}
	if !o.noWarm {
		if _, err := run(); err != nil {
			return err
		}
	}
	var sp energy.Span
	if meter != nil {
		if sp, err = meter.Start(); err != nil {
			return err
		}
	}
	start := time.Now()
	for range o.reps {
		t0 := time.Now()
		out, err := run()
		d := time.Since(t0)
		if err != nil {
			return err
		}
		if out != len(seqs) {
			return fmt.Errorf("%d results for %d sentences", out, len(seqs))
		}
		r.Samples = append(r.Samples, d)
	}
	if sp != nil {
		em, err := sp.Stop()
		if err != nil {
			return err
		}
		sent, tok := float64(o.reps*r.Batch), float64(o.reps*r.Batch*r.Seq)
		above := max(0, em.Joules-idleWatts*time.Since(start).Seconds())
		r.Energy = &embedEnergy{Joules: em.Joules, PerSentence: em.Joules / sent, PerToken: em.Joules / tok,
			AboveIdlePerTok: above / tok, IdleWatts: idleWatts}
	}
	return nil
}

// describeEncoder is describeModel for an encoder: the GGUF's tensor bytes
// and weights, or an ONNX file's size (its weights are not counted).
func describeEncoder(path string, info runtime.EmbedInfo) (benchModel, error) {
	if info.Format != "gguf" {
		var size int64
		if st, err := os.Stat(info.Path); err == nil {
			size = st.Size()
		}
		return benchModel{Path: path, Type: info.Architecture + " " + info.Backend, Size: size, Vocab: info.Vocab, Ctx: info.ContextLength}, nil
	}
	f, err := gguf.Open(path)
	if err != nil {
		return benchModel{}, err
	}
	var params int64
	for i := range f.Tensors {
		params += f.Tensors[i].Elements()
	}
	f.Close()
	bm, err := describeModel(path, runtime.Info{Architecture: info.Architecture, Params: params, Vocab: info.Vocab,
		ContextLength: info.ContextLength, ContextSize: info.ContextLength})
	bm.Type = strings.Replace(bm.Type, " ALL_F", " F", 1) // llama.cpp names file type ALL_F32 "F32" too
	return bm, err
}

// embedBenchLine is one --json line: llama-bench's fields (avg_ts and
// stddev_ts in sentences per second) and the encoder's own.
type embedBenchLine struct {
	benchLine
	Mode         string    `json:"mode"` // "embed"
	BatchSize    int       `json:"batch_size"`
	SeqLen       int       `json:"seq_len"`
	TokensPerSec float64   `json:"tokens_per_second"`
	TokensStddev float64   `json:"tokens_per_second_stddev"`
	JPerSentence *float64  `json:"joules_per_sentence"`
	SamplesTokTS []float64 `json:"samples_tokens_per_second"`
}

func embedLine(model benchModel, build buildInfo, cpu string, r *embedResult, mi *energy.Info) embedBenchLine {
	sps, ssd := r.sentencesPerSecond()
	tps, tsd := r.tokensPerSecond()
	l := embedBenchLine{benchLine: benchLine{BuildCommit: shortCommit(build.Commit), CPUInfo: cpu, Backends: "CPU",
		ModelFile: model.Path, ModelType: model.Type, ModelSize: model.Size, ModelParams: model.Params,
		NBatch: r.Batch * r.Seq, NUBatch: r.Batch * r.Seq, NThreads: r.Threads, TypeK: "f32", TypeV: "f32", UseMmap: true,
		Embeddings: true, NPrompt: r.Batch * r.Seq, TestTime: r.Time.UTC().Format(time.RFC3339),
		AvgTS: sps, StddevTS: ssd, SamplesTS: r.speeds(r.Batch), Kernels: kernels.Path()},
		Mode: "embed", BatchSize: r.Batch, SeqLen: r.Seq, TokensPerSec: tps, TokensStddev: tsd, SamplesTokTS: r.speeds(r.Batch * r.Seq)}
	ns := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		l.SamplesNS = append(l.SamplesNS, d.Nanoseconds())
		ns[i] = float64(d.Nanoseconds())
	}
	avg, sd := meanStdDev(ns)
	l.AvgNS, l.StddevNS = int64(avg), int64(sd)
	if e := r.Energy; e != nil && mi != nil {
		l.Joules, l.JPerTok, l.JPerTokAbove, l.IdleWatts, l.JPerSentence = ptr(e.Joules), ptr(e.PerToken), ptr(e.AboveIdlePerTok), ptr(e.IdleWatts), ptr(e.PerSentence)
		l.Meter, l.MeterKind, l.MeterScope, l.MeterNote = ptr(mi.Name), ptr(string(mi.Kind)), ptr(mi.Scope), ptr(mi.Note)
	}
	return l
}

func writeEmbedBenchJSON(w io.Writer, model benchModel, rs []embedResult, mi *energy.Info) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	build, cpu := readBuildInfo(), hostSystem().CPUBrand
	for i := range rs {
		if err := enc.Encode(embedLine(model, build, cpu, &rs[i], mi)); err != nil {
			return err
		}
	}
	return nil
}

func writeEmbedBenchTable(w io.Writer, model benchModel, rs []embedResult, mi *energy.Info, idleWatts float64, idleSource string) error {
	ew := &infoErrWriter{w: w}
	head := []string{"model", "size", "params", "backend", "threads", "test", "sentences/s", "tokens/s", "J/sentence", "J/tok above idle"}
	right := []bool{false, true, true, false, true, true, true, true, true, true}
	rows := make([][]string, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		sps, ssd := r.sentencesPerSecond()
		tps, tsd := r.tokensPerSecond()
		js, ja := "-", "-"
		if r.Energy != nil {
			js, ja = formatJ(r.Energy.PerSentence), formatJ(r.Energy.AboveIdlePerTok)
		}
		params := "-"
		if model.Params > 0 {
			params = infoCount(model.Params)
		}
		rows = append(rows, []string{model.Type, infoBytes(model.Size), params, "CPU " + kernels.Path(), strconv.Itoa(r.Threads), r.Test,
			fmt.Sprintf("%.2f ± %.2f", sps, ssd), fmt.Sprintf("%.0f ± %.0f", tps, tsd), js, ja})
	}
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = len([]rune(h))
		for _, r := range rows {
			widths[i] = max(widths[i], len([]rune(r[i])))
		}
	}
	writeRow := func(cells []string) {
		fmt.Fprint(ew, "|")
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if right[i] {
				c = pad + c
			} else {
				c += pad
			}
			fmt.Fprintf(ew, " %s |", c)
		}
		fmt.Fprintln(ew)
	}
	writeRow(head)
	fmt.Fprint(ew, "|")
	for i := range head {
		d := strings.Repeat("-", widths[i])
		if right[i] {
			d = d[:len(d)-1] + ":"
		}
		fmt.Fprintf(ew, " %s |", d)
	}
	fmt.Fprintln(ew)
	for _, r := range rows {
		writeRow(r)
	}
	fmt.Fprintln(ew)
	if mi != nil {
		fmt.Fprintf(ew, "power meter: %s\n", mi)
		fmt.Fprintf(ew, "idle power:  %.3g W, %s\n", idleWatts, idleSource)
	} else {
		fmt.Fprintln(ew, "power meter: none (--power-meter none): no energy figures")
	}
	return ew.err
}

// errNotEncoderBench guards a misuse: -b or --seq given for a decoder.
var errNotEncoderBench = errors.New("-b and --seq are for encoders (embedding models); decoders take -p, -n and --batch")
