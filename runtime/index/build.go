package index

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// EmbedFunc turns texts into one vector each (of the index's dimension),
// as runtime.EmbedModel.Embed does.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// BuildOptions configure Build.
type BuildOptions struct {
	// Header is the new index's header: the model, the prefixes, the chunk
	// sizes (ChunkBytes 0 = 1200, OverlapBytes 0 = 200; negative overlap =
	// none). Root is filled in.
	Header Header
	// Previous is an earlier index of the folder: the vectors of its files
	// that are unchanged (same size and time, or same content) are kept
	// instead of embedded again, if its model and chunk sizes are the same.
	Previous *Index
	// Extensions are the file name endings indexed (case-insensitive);
	// nil = .txt .md .markdown .text .rst.
	Extensions []string
	// MaxFileBytes skips larger files (reported in Stats); 0 = 32 MiB.
	MaxFileBytes int64
	// Batch is how many chunks one EmbedFunc call takes; 0 = 64.
	Batch int
	// Progress, if set, is called after each batch.
	Progress func(Progress)
	// Checkpoint, if set, is called with the index of the files finished
	// so far every CheckpointEvery (0 = 30 s), so that a caller can save
	// it: an interrupted build then resumes from there (Previous).
	Checkpoint      func(*Index) error
	CheckpointEvery time.Duration
}

// Progress reports how far Build is.
type Progress struct {
	Files, FilesDone   int // files to index (new or changed), done
	Chunks, ChunksDone int // chunks to embed, embedded
}

// Stats tells what Build did.
type Stats struct {
	Files     int      // files in the index
	Reused    int      // files whose vectors came from Previous
	Embedded  int      // files (new or changed) embedded
	Removed   int      // files of Previous no longer there
	Chunks    int      // chunks in the index
	NewChunks int      // chunks embedded
	Skipped   []string // files left out, with why
}

var defaultExtensions = []string{".txt", ".md", ".markdown", ".text", ".rst"}

// candidate is a file found by the walk.
type candidate struct {
	rel   string
	size  int64
	mtime int64
	prev  int // index in Previous.Files, -1
}

// Build indexes the text files under root (hidden files and folders, and
// symbolic links, are left out): it cuts each file into chunks (Split),
// embeds them in batches with embed (DocPrefix put before each) and returns
// the index. With ctx cancelled it returns the files finished so far
// (a valid index, to save and resume from) and ctx's error.
func Build(ctx context.Context, root string, embed EmbedFunc, o BuildOptions) (*Index, *Stats, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("index: %s is not a folder", root)
	}
	h := o.Header
	h.Root = abs
	if h.ChunkBytes == 0 {
		h.ChunkBytes = 1200
	}
	if h.OverlapBytes == 0 {
		h.OverlapBytes = 200
	}
	h.OverlapBytes = max(h.OverlapBytes, 0)
	if h.ChunkBytes < 16 || h.ChunkBytes > 1<<20 || h.Model.Dim < 1 || h.Model.Dim > MaxDim {
		return nil, nil, fmt.Errorf("index: chunks of %d bytes, vectors of %d values", h.ChunkBytes, h.Model.Dim)
	}
	exts := o.Extensions
	if exts == nil {
		exts = defaultExtensions
	}
	maxBytes := o.MaxFileBytes
	if maxBytes <= 0 {
		maxBytes = 32 << 20
	}
	batch := o.Batch
	if batch <= 0 {
		batch = 64
	}
	every := o.CheckpointEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	prev := o.Previous
	if prev != nil && (!prev.Header.Model.Same(h.Model) || prev.Header.ChunkBytes != h.ChunkBytes ||
		prev.Header.OverlapBytes != h.OverlapBytes || prev.Header.DocPrefix != h.DocPrefix || prev.Dim != h.Model.Dim) {
		prev = nil // another model or chunking: everything again
	}
	prevByPath := map[string]int{}
	if prev != nil {
		for i, f := range prev.Files {
			prevByPath[f.Path] = i
		}
	}

	st := &Stats{}
	var cands []candidate
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: %v", p, err))
			if d != nil && d.IsDir() && p != abs {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if p != abs && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !hasExt(name, exts) {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: %v", rel, err))
			return nil
		}
		if checkPath(rel) != nil {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: a path edgeai cannot store", rel))
			return nil
		}
		if info.Size() > maxBytes {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: %d bytes, more than %d", rel, info.Size(), maxBytes))
			return nil
		}
		pi, ok := prevByPath[rel]
		if !ok {
			pi = -1
		}
		cands = append(cands, candidate{rel: rel, size: info.Size(), mtime: info.ModTime().UnixNano(), prev: pi})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	if len(cands) > MaxFiles {
		return nil, nil, fmt.Errorf("index: %d files; an index holds at most %d", len(cands), MaxFiles)
	}

	// Which files keep their vectors: same size and time as before. The
	// others are read, and kept too when their content is the same.
	ix := &Index{Header: h, Dim: h.Model.Dim}
	type todo struct {
		c     candidate
		data  []byte
		sum   [32]byte
		spans []Span
	}
	var work []todo
	keep := make([]bool, len(cands))
	total := 0
	for i, c := range cands {
		if c.prev >= 0 {
			pf := prev.Files[c.prev]
			if pf.Size == c.size && pf.ModTime == c.mtime {
				keep[i] = true
				continue
			}
		}
		data, err := os.ReadFile(filepath.Join(abs, filepath.FromSlash(c.rel)))
		if err != nil {
			st.Skipped = append(st.Skipped, fmt.Sprintf("%s: %v", c.rel, err))
			continue
		}
		sum := sha256.Sum256(data)
		if c.prev >= 0 && prev.Files[c.prev].SHA256 == sum && prev.Files[c.prev].Size == int64(len(data)) {
			keep[i] = true
			cands[i].size = int64(len(data))
			continue
		}
		cands[i].size = int64(len(data))
		spans := Split(data, h.ChunkBytes, h.OverlapBytes)
		total += len(spans)
		work = append(work, todo{c: cands[i], data: data, sum: sum, spans: spans})
	}
	for i, c := range cands {
		if !keep[i] {
			continue
		}
		pf := prev.Files[c.prev]
		ix.addFile(File{Path: c.rel, Size: c.size, ModTime: c.mtime, SHA256: pf.SHA256}, prev.Chunks[pf.First:pf.First+pf.Count], prev.Vectors[pf.First*prev.Dim:(pf.First+pf.Count)*prev.Dim])
		st.Reused++
	}
	if prev != nil {
		seen := map[string]bool{}
		for _, c := range cands {
			seen[c.rel] = true
		}
		for _, f := range prev.Files {
			if !seen[f.Path] {
				st.Removed++
			}
		}
	}
	if len(ix.Chunks)+total > MaxChunks {
		return nil, nil, fmt.Errorf("index: %d chunks; an index holds at most %d (use larger chunks)", len(ix.Chunks)+total, MaxChunks)
	}

	// Embed the new and changed files, batch after batch across files; a
	// file enters the index once all its chunks are embedded.
	prog := Progress{Files: len(work), Chunks: total}
	lastCheck := time.Now()
	var texts []string
	var pending []float32 // vectors of the file in progress
	type ref struct{ file, span int }
	var refs []ref
	wi := 0
	flushFile := func(w *todo) {
		chunks := make([]Chunk, len(w.spans))
		for k, s := range w.spans {
			chunks[k] = Chunk{Offset: s.Offset, Length: s.Length, FirstLine: s.FirstLine, LastLine: s.LastLine}
		}
		ix.addFile(File{Path: w.c.rel, Size: w.c.size, ModTime: w.c.mtime, SHA256: w.sum}, chunks, pending)
		pending = pending[:0]
		st.Embedded++
		prog.FilesDone++
	}
	// Files without chunks (empty, white space) are indexed as they are.
	next := func() { // skip to the next file with chunks left, indexing the empty ones
		for wi < len(work) && len(work[wi].spans) == 0 {
			flushFile(&work[wi])
			wi++
		}
	}
	next()
	si := 0 // the next span of work[wi]
	fi := wi
	for fi < len(work) {
		if err := ctx.Err(); err != nil {
			return ix.sorted(), st, err
		}
		texts, refs = texts[:0], refs[:0]
		for fi < len(work) && len(texts) < batch {
			w := &work[fi]
			for si < len(w.spans) && len(texts) < batch {
				s := w.spans[si]
				texts = append(texts, h.DocPrefix+string(w.data[s.Offset:s.Offset+int64(s.Length)]))
				refs = append(refs, ref{fi, si})
				si++
			}
			if si == len(w.spans) {
				fi, si = fi+1, 0
				for fi < len(work) && len(work[fi].spans) == 0 {
					fi++
				}
			}
		}
		vecs, err := embed(ctx, texts)
		if err != nil {
			if ctx.Err() != nil {
				return ix.sorted(), st, ctx.Err()
			}
			return nil, nil, fmt.Errorf("index: %s: %w", work[refs[0].file].c.rel, err)
		}
		if len(vecs) != len(texts) {
			return nil, nil, fmt.Errorf("index: %d vectors for %d texts", len(vecs), len(texts))
		}
		for k, v := range vecs {
			if len(v) != ix.Dim {
				return nil, nil, fmt.Errorf("index: a vector of %d values, the index has %d", len(v), ix.Dim)
			}
			pending = append(pending, v...)
			r := refs[k]
			if r.span == len(work[r.file].spans)-1 { // the file's last chunk
				flushFile(&work[r.file])
				wi = r.file + 1
				next()
			}
		}
		prog.ChunksDone += len(vecs)
		st.NewChunks += len(vecs)
		if o.Progress != nil {
			o.Progress(prog)
		}
		if o.Checkpoint != nil && time.Since(lastCheck) >= every {
			if err := o.Checkpoint(ix.sorted()); err != nil {
				return nil, nil, err
			}
			lastCheck = time.Now()
		}
	}
	next()
	st.Files, st.Chunks = len(ix.Files), len(ix.Chunks)
	return ix.sorted(), st, nil
}

func hasExt(name string, exts []string) bool {
	for _, e := range exts {
		if len(name) > len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
			return true
		}
	}
	return false
}

// addFile appends a file with its chunks (their File fields set here) and
// vectors.
func (ix *Index) addFile(f File, chunks []Chunk, vecs []float32) {
	f.First, f.Count = len(ix.Chunks), len(chunks)
	fi := len(ix.Files)
	ix.Files = append(ix.Files, f)
	for _, c := range chunks {
		c.File = fi
		ix.Chunks = append(ix.Chunks, c)
	}
	ix.Vectors = append(ix.Vectors, vecs...)
}

// sorted returns a copy of ix with its files in path order (as a walk
// finds them), so that the same folder always gives the same file.
func (ix *Index) sorted() *Index {
	order := make([]int, len(ix.Files))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ix.Files[a].Path, ix.Files[b].Path) })
	out := &Index{Header: ix.Header, Dim: ix.Dim, Files: make([]File, 0, len(ix.Files)),
		Chunks: make([]Chunk, 0, len(ix.Chunks)), Vectors: make([]float32, 0, len(ix.Vectors))}
	for _, i := range order {
		f := ix.Files[i]
		out.addFile(f, ix.Chunks[f.First:f.First+f.Count], ix.Vectors[f.First*ix.Dim:(f.First+f.Count)*ix.Dim])
	}
	return out
}

// errNoIndex is returned by Search on an index without chunks.
var errNoIndex = errors.New("index: the index has no chunks")
