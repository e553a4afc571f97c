package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSplit checks the chunks of texts of every shape: each within the
// size (one line or piece over), the overlap, the line numbers, the
// headings, every non-blank byte in some chunk.
func TestSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"vaccine", "fridge", "the", "a", "dose", "héllo", "日本語", "x", "patient", "# Heading", "\n", "\n\n", "  "}
	for n := range 300 {
		var b strings.Builder
		for range rng.IntN(400) {
			w := words[rng.IntN(len(words))]
			if w == "# Heading" {
				b.WriteString("\n")
			}
			b.WriteString(w)
			b.WriteString(" ")
		}
		if n%7 == 0 {
			b.WriteString(strings.Repeat("longlongword", 30))
		}
		text := []byte(b.String())
		size, overlap := 16+rng.IntN(200), rng.IntN(80)
		spans := Split(text, size, overlap)
		covered := make([]bool, len(text))
		prev := Span{}
		for i, s := range spans {
			chunk := text[s.Offset : s.Offset+int64(s.Length)]
			if s.Length == 0 || len(bytes.TrimSpace(chunk)) != len(chunk) {
				t.Fatalf("text %d chunk %d %q: empty or not trimmed", n, i, chunk)
			}
			if s.Length > size+size && !bytes.Contains(chunk, []byte("\n")) {
				t.Fatalf("text %d chunk %d: %d bytes for size %d", n, i, s.Length, size)
			}
			if first := 1 + bytes.Count(text[:s.Offset], []byte("\n")); first != s.FirstLine || s.LastLine != first+bytes.Count(chunk, []byte("\n")) {
				t.Fatalf("text %d chunk %d: lines %d-%d, want from %d", n, i, s.FirstLine, s.LastLine, first)
			}
			if i > 0 && s.Offset <= prev.Offset {
				t.Fatalf("text %d chunk %d starts at %d, not after %d", n, i, s.Offset, prev.Offset)
			}
			for k := s.Offset; k < s.Offset+int64(s.Length); k++ {
				covered[k] = true
			}
			prev = s
		}
		for k, c := range covered {
			if !c && !isSpace(text[k]) {
				t.Fatalf("text %d: byte %d (%q) in no chunk", n, k, text[k])
			}
		}
	}
	// Overlap: with whole short lines, the next chunk starts with the last
	// lines of the one before.
	text := []byte("line one\nline two\nline three\nline four\nline five\nline six\n")
	spans := Split(text, 30, 12)
	if len(spans) < 3 || spans[1].FirstLine != spans[0].LastLine {
		t.Errorf("overlap: %+v", spans)
	}
	// A heading starts a chunk.
	text = []byte("intro text that is long enough\nmore intro words here\n# Section\nbody of the section\n")
	spans = Split(text, 120, 0)
	if len(spans) != 2 || spans[1].FirstLine != 3 {
		t.Errorf("heading: %+v", spans)
	}
	if s := Split([]byte(" \n\t\n"), 100, 10); len(s) != 0 {
		t.Errorf("blank text gave %+v", s)
	}
}

// bagEmbed is a deterministic embedding for tests: words hashed into dim
// buckets, unit length. Texts sharing words are similar.
func bagEmbed(dim int, calls *int) EmbedFunc {
	return func(ctx context.Context, texts []string) ([][]float32, error) {
		if calls != nil {
			*calls += len(texts)
		}
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v := make([]float32, dim)
			for _, w := range strings.Fields(strings.ToLower(t)) {
				h := fnv.New32a()
				h.Write([]byte(strings.Trim(w, ".,;:!?")))
				v[h.Sum32()%uint32(dim)]++
			}
			var s float64
			for _, x := range v {
				s += float64(x * x)
			}
			if s > 0 {
				for k := range v {
					v[k] /= float32(math.Sqrt(s))
				}
			}
			out[i] = v
		}
		return out, ctx.Err()
	}
}

func writeCorpus(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func testHeader() Header {
	return Header{Model: Model{Path: "/m/bag.gguf", Arch: "bag", Size: 1, Dim: 64, Pooling: "mean", Normalize: true}, ChunkBytes: 120, OverlapBytes: 30}
}

// TestBuildSearch builds an index of a small folder, finds a planted
// sentence first, round-trips the file, and rebuilds: only changed files are
// embedded again, removed ones leave.
func TestBuildSearch(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"guidelines/vaccines.md": "# Vaccines\nKeep the vaccine fridge between two and eight degrees.\nLog the temperature twice a day.\n",
		"guidelines/fever.txt":   "A child with fever above thirty nine degrees needs paracetamol and fluids.\n",
		"notes/other.md":         strings.Repeat("Unrelated words about the weather and the market.\n", 20),
		"notes/.hidden.md":       "vaccine fridge between two and eight degrees",
		"notes/image.png":        "vaccine fridge",
		"empty.txt":              "\n\n",
	}
	writeCorpus(t, dir, files)
	var calls int
	embed := bagEmbed(64, &calls)
	ix, st, err := Build(context.Background(), dir, embed, BuildOptions{Header: testHeader(), Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Embedded != 4 || st.Reused != 0 || st.NewChunks != calls || st.Chunks != len(ix.Chunks) {
		t.Fatalf("stats %+v (%d embedded)", st, calls)
	}
	q, _ := embed(context.Background(), []string{"vaccine fridge temperature degrees"})
	hits, err := ix.Search(q[0], 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	text, unchanged, err := ix.Text(hits[0].Chunk)
	if err != nil || !unchanged || !strings.Contains(text, "vaccine fridge") || ix.Files[ix.Chunks[hits[0].Chunk].File].Path != "guidelines/vaccines.md" {
		t.Fatalf("best hit %+v: %q %v %v", hits[0], text, unchanged, err)
	}
	// The file round-trips.
	idx := filepath.Join(t.TempDir(), "guide.idx")
	if err := ix.WriteFile(idx); err != nil {
		t.Fatal(err)
	}
	back, err := Open(idx)
	if err != nil {
		t.Fatal(err)
	}
	if !equalIndex(back, ix) {
		t.Fatal("the index read back differs")
	}
	// Change one file (same size, other content and time), remove one,
	// add one: only those are embedded.
	os.WriteFile(filepath.Join(dir, "guidelines/fever.txt"), []byte(strings.Replace(files["guidelines/fever.txt"], "thirty nine", "thirty-nine", 1)), 0o644)
	os.Chtimes(filepath.Join(dir, "guidelines/fever.txt"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	os.Remove(filepath.Join(dir, "notes/other.md"))
	writeCorpus(t, dir, map[string]string{"new.txt": "Hand washing before every patient."})
	os.Chtimes(filepath.Join(dir, "guidelines/vaccines.md"), time.Now().Add(time.Hour), time.Now().Add(time.Hour)) // touched, same content
	calls = 0
	ix2, st, err := Build(context.Background(), dir, embed, BuildOptions{Header: testHeader(), Previous: back})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Reused != 2 || st.Embedded != 2 || st.Removed != 1 || calls != st.NewChunks {
		t.Errorf("rebuild stats %+v, %d embedded", st, calls)
	}
	// Another model: everything again.
	h := testHeader()
	h.Model.Size = 2
	calls = 0
	if _, st, err = Build(context.Background(), dir, embed, BuildOptions{Header: h, Previous: ix2}); err != nil || st.Reused != 0 {
		t.Errorf("another model: %+v %v", st, err)
	}
}

// TestBuildResume: a build cancelled half way returns the files it
// finished; a build from that index embeds only the rest, and the result
// is the same as one uninterrupted build.
func TestBuildResume(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 12 {
		files[fmt.Sprintf("f%02d.txt", i)] = strings.Repeat(fmt.Sprintf("document %d talks about topic %d. ", i, i*7), 10)
	}
	writeCorpus(t, dir, files)
	full, _, err := Build(context.Background(), dir, bagEmbed(64, nil), BuildOptions{Header: testHeader()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	stop := func(c context.Context, texts []string) ([][]float32, error) {
		seen += len(texts)
		if seen > 16 {
			cancel()
		}
		return bagEmbed(64, nil)(c, texts)
	}
	var saved *Index
	part, _, err := Build(ctx, dir, stop, BuildOptions{Header: testHeader(), Batch: 8, CheckpointEvery: time.Nanosecond,
		Checkpoint: func(ix *Index) error { saved = ix; return nil }})
	if !errors.Is(err, context.Canceled) || part == nil || saved == nil || len(part.Files) == 0 || len(part.Files) == len(full.Files) {
		t.Fatalf("cancelled build: %v, %d files", err, len(part.Files))
	}
	var calls int
	rest, st, err := Build(context.Background(), dir, bagEmbed(64, &calls), BuildOptions{Header: testHeader(), Previous: part})
	if err != nil {
		t.Fatal(err)
	}
	if st.Reused != len(part.Files) || calls != len(full.Chunks)-len(part.Chunks) || !equalIndex(rest, full) {
		t.Errorf("resumed: %+v, %d embedded, same as a full build: %v", st, calls, equalIndex(rest, full))
	}
}

func equalIndex(a, b *Index) bool {
	return a.Header == b.Header && a.Dim == b.Dim && slices.Equal(a.Files, b.Files) && slices.Equal(a.Chunks, b.Chunks) && slices.Equal(a.Vectors, b.Vectors)
}

// TestSearchExact compares Search with sorting every score, on several
// threads and sizes (the parallel split and the heap).
func TestSearchExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 5000, 20000} {
		ix := randomIndex(rng, n, 32)
		q := ix.Vector(rng.IntN(n))
		for _, threads := range []int{1, 3} {
			hits, err := ix.Search(q, 10, threads)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != min(10, n) {
				t.Fatalf("n %d: %d hits", n, len(hits))
			}
			for i := 1; i < len(hits); i++ {
				if better(hits[i], hits[i-1]) {
					t.Fatalf("n %d: hits out of order %+v", n, hits)
				}
			}
			worst := hits[len(hits)-1]
			count := 0
			for i := range n {
				h := Hit{Chunk: i, Score: dot(q, ix.Vector(i))}
				if better(h, worst) {
					count++
				}
			}
			if count != len(hits)-1 {
				t.Fatalf("n %d threads %d: %d chunks beat the last hit", n, threads, count)
			}
		}
	}
	ix := randomIndex(rng, 3, 8)
	if _, err := ix.Search(make([]float32, 7), 1, 1); err == nil {
		t.Error("a query of the wrong size was accepted")
	}
}

func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+3 < len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// randomIndex returns an index of n chunks of random unit vectors (one
// file of n chunks).
func randomIndex(rng *rand.Rand, n, dim int) *Index {
	ix := &Index{Header: testHeader(), Dim: dim, Vectors: make([]float32, n*dim)}
	ix.Header.Model.Dim = dim
	chunks := make([]Chunk, n)
	for i := range chunks {
		chunks[i] = Chunk{Offset: int64(i), Length: 1, FirstLine: 1, LastLine: 1}
		var s float64
		v := ix.Vectors[i*dim : (i+1)*dim]
		for d := range v {
			v[d] = float32(rng.NormFloat64())
			s += float64(v[d] * v[d])
		}
		for d := range v {
			v[d] /= float32(math.Sqrt(s))
		}
	}
	vecs := ix.Vectors
	ix.Vectors = nil
	ix.addFile(File{Path: "a.txt", Size: int64(n)}, chunks, vecs)
	return ix
}

// TestDecodeErrors: every truncation and single-byte change of a valid
// index is refused with ErrFormat, never a panic.
func TestDecodeErrors(t *testing.T) {
	ix := randomIndex(rand.New(rand.NewPCG(5, 6)), 3, 4)
	var buf bytes.Buffer
	if err := ix.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	for i := range b {
		c := slices.Clone(b)
		c[i] ^= 0x40
		if _, err := Decode(c); !errors.Is(err, ErrFormat) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	bad := *ix
	bad.Files = []File{{Path: "../etc/passwd", Size: 3, Count: 3}}
	if err := bad.Encode(&buf); !errors.Is(err, ErrFormat) {
		t.Errorf("a path outside the root: %v", err)
	}
}

// FuzzDecode: any bytes are an index or an ErrFormat, never a panic or a
// huge allocation; what decodes encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 3} {
		ix := randomIndex(rng, n, 4)
		var buf bytes.Buffer
		if err := ix.Encode(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(magic + "\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := ix.Encode(&buf); err != nil {
			t.Fatalf("a decoded index does not encode: %v", err)
		}
		if ix2, err := Decode(buf.Bytes()); err != nil || !equalIndex(ix, ix2) {
			t.Fatalf("re-encoded index: %v", err)
		}
	})
}

// BenchmarkSearch measures exact search over n random unit vectors of 384
// and 768 values (bge-small's and nomic/bge-base's widths), top 10, on
// GOMAXPROCS threads: where an approximate index would start to pay.
func BenchmarkSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dim := range []int{384, 768} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			if testing.Short() && n > 100_000 {
				continue
			}
			ix := randomIndex(rng, n, dim)
			q := ix.Vector(0)
			b.Run(fmt.Sprintf("dim=%d/chunks=%d", dim, n), func(b *testing.B) {
				b.SetBytes(int64(4 * n * dim))
				for b.Loop() {
					if _, err := ix.Search(q, 10, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
