package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{name: "perplexity", summary: "measure a model's perplexity over a text file", run: runPerplexity})
}

// runPerplexity follows llama.cpp's method so figures are comparable: the text
// is tokenized once, cut into windows of the context size, each window starts
// with BOS, and only the second half of each window is scored (every scored
// token has at least ctx/2 tokens of context).
func runPerplexity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("perplexity", stderr)
	var mf modelFlags
	mf.add(fs)
	file := fs.String("f", "", "text `file` to score (required)")
	chunks := fs.Int("chunks", 0, "score at most this many windows (0 = all)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("%w: -f TEXTFILE is required", errUsage)
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	if mf.ctx == 0 {
		mf.ctx = 512
	}
	model, _, err := mf.load(ctx)
	if err != nil {
		return err
	}
	defer model.Close()
	n := model.Info().ContextSize
	ids, err := model.Tokenize(string(text), false, false)
	if err != nil {
		return err
	}
	windows := len(ids) / n
	if *chunks > 0 && *chunks < windows {
		windows = *chunks
	}
	if windows == 0 {
		return fmt.Errorf("the text has %d tokens, fewer than one window of %d (use a smaller --ctx)", len(ids), n)
	}
	s, err := model.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	bos := model.Tokenizer().BOS()
	vocab := model.Info().Vocab
	var nll float64
	var nllSq float64
	var count int
	start := time.Now()
	win := make([]int, n)
	for w := 0; w < windows; w++ {
		copy(win, ids[w*n:(w+1)*n])
		if bos >= 0 {
			win[0] = bos
		}
		s.Reset()
		logits, err := s.EvalAll(ctx, win)
		if err != nil {
			return err
		}
		for i := n / 2; i < n-1; i++ {
			row := logits[i*vocab : (i+1)*vocab]
			l := -logSoftmaxAt(row, ids[w*n+i+1])
			nll += l
			nllSq += l * l
			count++
		}
		ppl := math.Exp(nll / float64(count))
		progress(stderr, w+1, windows, fmt.Sprintf("ppl %.4f", ppl), time.Since(start))
	}
	fmt.Fprintln(stderr)
	mean := nll / float64(count)
	variance := nllSq/float64(count) - mean*mean
	ppl := math.Exp(mean)
	stderrPPL := ppl * math.Sqrt(math.Max(variance, 0)/float64(max(count-1, 1)))
	fmt.Fprintf(stdout, "perplexity: %.4f +/- %.4f over %d tokens (%d windows of %d)\n", ppl, stderrPPL, count, windows, n)
	return nil
}

// logSoftmaxAt returns log(softmax(row)[i]), computed in float64.
func logSoftmaxAt(row []float32, i int) float64 {
	mx := row[0]
	for _, v := range row {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range row {
		sum += math.Exp(float64(v - mx))
	}
	return float64(row[i]-mx) - math.Log(sum)
}

// progress draws a one-line progress bar on w.
func progress(w io.Writer, done, total int, label string, elapsed time.Duration) {
	const width = 30
	filled := width * done / total
	eta := time.Duration(0)
	if done > 0 {
		eta = elapsed / time.Duration(done) * time.Duration(total-done)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d %s eta %s ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		done, total, label, eta.Round(time.Second))
}
