// Package index is a local semantic search index over a folder of text and
// Markdown files: the files cut into overlapping chunks, one embedding per
// chunk, and exact cosine search over them. It stores, in one file, where
// each chunk lies in its file (byte offset, length, lines) and its vector;
// the text stays in the files, read again for the snippets.
//
// Build walks a folder and embeds the chunks through any embedding function
// (edgeai's runtime.EmbedModel.Embed in `edgeai index`), reusing the
// vectors of the files an earlier index already holds unchanged, so that a
// second run embeds only what changed and an interrupted run, saved by its
// checkpoints, resumes. Search scores every chunk (kernels.Dot, split across
// the cores): exact, and fast enough for up to about a million chunks on a
// laptop (see BenchmarkSearch and docs/embeddings.md).
//
// The file format is versioned, bounded and checked before anything is
// allocated for it (Decode), and fuzzed (FuzzDecode):
//
//	"EDGEAIIX" | version u32 | header: u32 length + JSON
//	| files: u32 count, each: u16 path length, path, size i64, mtime i64, sha256 [32], first chunk u32, chunks u32
//	| chunks: u32 count, each: file u32, offset u64, length u32, first line u32, last line u32
//	| dim u32 | vectors: count x dim float32 | CRC-32 (IEEE) of everything before it
//
// all little-endian.
package index

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Version is the format version Encode writes and Decode reads.
const Version = 1

const magic = "EDGEAIIX"

// Limits of the format: Decode refuses anything larger before allocating.
const (
	MaxHeaderBytes = 1 << 20
	MaxFiles       = 1 << 20
	MaxPathBytes   = 4096
	MaxChunks      = 1 << 26
	MaxDim         = 1 << 16
	fileRecord     = 2 + 8 + 8 + 32 + 4 + 4 // without the path
	chunkRecord    = 4 + 8 + 4 + 4 + 4
)

// ErrFormat is wrapped by Decode's errors: the bytes are not a valid index
// of this version.
var ErrFormat = errors.New("index: not a valid index file")

// Header describes how an index was made: Search and Build check it.
type Header struct {
	Model        Model  `json:"model"`
	QueryPrefix  string `json:"query_prefix,omitempty"` // put before a query when it is embedded
	DocPrefix    string `json:"doc_prefix,omitempty"`   // put before every chunk when it is embedded
	ChunkBytes   int    `json:"chunk_bytes"`            // chunks are about this long
	OverlapBytes int    `json:"overlap_bytes"`          // and share about this much with the one before
	Root         string `json:"root"`                   // the indexed folder (absolute)
}

// Model identifies the embedding model of an index: a search must embed
// its query with the same one.
type Model struct {
	Path      string `json:"path"`
	Name      string `json:"name,omitempty"`
	Arch      string `json:"arch"`
	Size      int64  `json:"size"` // bytes of the model file
	Dim       int    `json:"dim"`
	Pooling   string `json:"pooling"`
	Normalize bool   `json:"normalize"`
}

// Same reports whether m and o are the same model with the same settings
// (the path may differ: a model file moved is the same model).
func (m Model) Same(o Model) bool {
	return filepath.Base(m.Path) == filepath.Base(o.Path) && m.Arch == o.Arch && m.Size == o.Size && m.Dim == o.Dim &&
		m.Pooling == o.Pooling && m.Normalize == o.Normalize
}

// File is one indexed file.
type File struct {
	Path    string   // relative to Header.Root, slash-separated
	Size    int64    // bytes, when indexed
	ModTime int64    // Unix nanoseconds, when indexed
	SHA256  [32]byte // of its content, when indexed
	First   int      // its first chunk
	Count   int      // its chunks
}

// Chunk is one piece of a file: bytes [Offset, Offset+Length), lines
// FirstLine..LastLine (from 1).
type Chunk struct {
	File      int
	Offset    int64
	Length    int
	FirstLine int
	LastLine  int
}

// Index is a loaded index. Vectors holds Dim values per chunk.
type Index struct {
	Header  Header
	Files   []File
	Chunks  []Chunk
	Dim     int
	Vectors []float32
}

// Vector returns chunk i's vector.
func (ix *Index) Vector(i int) []float32 { return ix.Vectors[i*ix.Dim : (i+1)*ix.Dim] }

// check verifies the index's internal consistency: every file's chunks in
// order and within its size, the vectors' count.
func (ix *Index) check() error {
	if ix.Dim < 1 || ix.Dim > MaxDim {
		return fmt.Errorf("%w: dimension %d", ErrFormat, ix.Dim)
	}
	if len(ix.Files) > MaxFiles || len(ix.Chunks) > MaxChunks {
		return fmt.Errorf("%w: %d files, %d chunks", ErrFormat, len(ix.Files), len(ix.Chunks))
	}
	if len(ix.Vectors) != len(ix.Chunks)*ix.Dim {
		return fmt.Errorf("%w: %d vector values for %d chunks of %d", ErrFormat, len(ix.Vectors), len(ix.Chunks), ix.Dim)
	}
	next := 0
	seen := make(map[string]bool, len(ix.Files))
	for i, f := range ix.Files {
		if err := checkPath(f.Path); err != nil {
			return fmt.Errorf("%w: file %d: %v", ErrFormat, i, err)
		}
		if seen[f.Path] {
			return fmt.Errorf("%w: file %q twice", ErrFormat, f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 || f.First != next || f.Count < 0 || f.Count > len(ix.Chunks)-next {
			return fmt.Errorf("%w: file %q: size %d, chunks %d+%d (want from %d)", ErrFormat, f.Path, f.Size, f.First, f.Count, next)
		}
		for j := f.First; j < f.First+f.Count; j++ {
			c := ix.Chunks[j]
			if c.File != i || c.Offset < 0 || c.Length < 0 || c.Offset > f.Size || int64(c.Length) > f.Size-c.Offset ||
				c.FirstLine < 1 || c.LastLine < c.FirstLine {
				return fmt.Errorf("%w: chunk %d of %q: bytes %d+%d, lines %d-%d", ErrFormat, j, f.Path, c.Offset, c.Length, c.FirstLine, c.LastLine)
			}
		}
		next += f.Count
	}
	if next != len(ix.Chunks) {
		return fmt.Errorf("%w: the files hold %d chunks of %d", ErrFormat, next, len(ix.Chunks))
	}
	for i, v := range ix.Vectors {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: chunk %d: a vector value is %v", ErrFormat, i/ix.Dim, v)
		}
	}
	return nil
}

// checkPath accepts a clean relative slash-separated path of valid UTF-8.
func checkPath(p string) error {
	switch {
	case p == "" || len(p) > MaxPathBytes:
		return fmt.Errorf("path of %d bytes", len(p))
	case !utf8.ValidString(p) || strings.ContainsRune(p, 0) || strings.Contains(p, "\\"):
		return fmt.Errorf("path %q is not valid", p)
	case path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("path %q is not a clean relative path", p)
	}
	return nil
}

// Encode writes ix in the current format.
func (ix *Index) Encode(w io.Writer) error {
	if err := ix.check(); err != nil {
		return err
	}
	hdr, err := json.Marshal(ix.Header)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if len(hdr) > MaxHeaderBytes {
		return fmt.Errorf("index: header of %d bytes", len(hdr))
	}
	crc := crc32.NewIEEE()
	bw := &errWriter{w: io.MultiWriter(w, crc)}
	bw.write([]byte(magic))
	bw.u32(Version)
	bw.u32(uint32(len(hdr)))
	bw.write(hdr)
	bw.u32(uint32(len(ix.Files)))
	for _, f := range ix.Files {
		bw.u16(uint16(len(f.Path)))
		bw.write([]byte(f.Path))
		bw.u64(uint64(f.Size))
		bw.u64(uint64(f.ModTime))
		bw.write(f.SHA256[:])
		bw.u32(uint32(f.First))
		bw.u32(uint32(f.Count))
	}
	bw.u32(uint32(len(ix.Chunks)))
	for _, c := range ix.Chunks {
		bw.u32(uint32(c.File))
		bw.u64(uint64(c.Offset))
		bw.u32(uint32(c.Length))
		bw.u32(uint32(c.FirstLine))
		bw.u32(uint32(c.LastLine))
	}
	bw.u32(uint32(ix.Dim))
	buf := make([]byte, 0, 64<<10)
	for _, v := range ix.Vectors {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			bw.write(buf)
			buf = buf[:0]
		}
	}
	bw.write(buf)
	if bw.err != nil {
		return fmt.Errorf("index: %w", bw.err)
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	if _, err := w.Write(sum[:]); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

type errWriter struct {
	w   io.Writer
	err error
	b   [8]byte
}

func (e *errWriter) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}
func (e *errWriter) u16(v uint16) { binary.LittleEndian.PutUint16(e.b[:], v); e.write(e.b[:2]) }
func (e *errWriter) u32(v uint32) { binary.LittleEndian.PutUint32(e.b[:], v); e.write(e.b[:4]) }
func (e *errWriter) u64(v uint64) { binary.LittleEndian.PutUint64(e.b[:], v); e.write(e.b[:8]) }

// reader reads the fields of an index, failing once on the first short or
// bad field.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s (at byte %d)", ErrFormat, fmt.Sprintf(format, args...), r.off)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail("%d bytes wanted, %d left", n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u16() uint16 {
	if p := r.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// count reads a count of records of at least minBytes each, refusing one
// above limit or larger than what is left to read.
func (r *reader) count(what string, limit, minBytes int) int {
	n := int(r.u32())
	if r.err == nil && (n > limit || n*minBytes > len(r.b)-r.off) {
		r.fail("%d %s (at most %d, and %d bytes left)", n, what, limit, len(r.b)-r.off)
		return 0
	}
	return n
}

// Decode parses an index. Every count and size is checked against the
// format's limits and the bytes present before anything is allocated for
// it; the CRC, the files' chunk ranges, the chunks' byte ranges and the
// vectors' count are checked too. Errors wrap ErrFormat.
func Decode(b []byte) (*Index, error) {
	if len(b) < len(magic)+4 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: no %q at the start", ErrFormat, magic)
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != Version {
		return nil, fmt.Errorf("%w: version %d; this edgeai reads version %d (index the folder again)", ErrFormat, v, Version)
	}
	if len(b) < len(magic)+8 {
		return nil, fmt.Errorf("%w: %d bytes", ErrFormat, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: the checksum does not match (a damaged or truncated file)", ErrFormat)
	}
	r := &reader{b: body, off: len(magic) + 4}
	ix := &Index{}
	hn := int(r.u32())
	if hn > MaxHeaderBytes {
		r.fail("header of %d bytes", hn)
	}
	if h := r.take(hn); h != nil {
		d := json.NewDecoder(bytes.NewReader(h))
		d.DisallowUnknownFields()
		if err := d.Decode(&ix.Header); err != nil {
			r.fail("header: %v", err)
		}
	}
	nf := r.count("files", MaxFiles, fileRecord+1)
	if r.err == nil {
		ix.Files = make([]File, nf)
	}
	for i := 0; i < nf && r.err == nil; i++ {
		f := &ix.Files[i]
		pl := int(r.u16())
		if pl > MaxPathBytes {
			r.fail("a path of %d bytes", pl)
		}
		f.Path = string(r.take(pl))
		f.Size = int64(r.u64())
		f.ModTime = int64(r.u64())
		copy(f.SHA256[:], r.take(32))
		f.First = int(r.u32())
		f.Count = int(r.u32())
	}
	nc := r.count("chunks", MaxChunks, chunkRecord)
	if r.err == nil {
		ix.Chunks = make([]Chunk, nc)
	}
	for i := 0; i < nc && r.err == nil; i++ {
		c := &ix.Chunks[i]
		c.File = int(r.u32())
		off := r.u64()
		if off > math.MaxInt64 {
			r.fail("chunk %d at offset %d", i, off)
		}
		c.Offset = int64(off)
		c.Length = int(r.u32())
		c.FirstLine = int(r.u32())
		c.LastLine = int(r.u32())
	}
	ix.Dim = int(r.u32())
	if r.err == nil && (ix.Dim < 1 || ix.Dim > MaxDim) {
		r.fail("dimension %d", ix.Dim)
	}
	if r.err == nil && len(body)-r.off != 4*nc*ix.Dim {
		r.fail("%d bytes of vectors for %d chunks of %d values", len(body)-r.off, nc, ix.Dim)
	}
	if r.err != nil {
		return nil, r.err
	}
	ix.Vectors = make([]float32, nc*ix.Dim)
	for i := range ix.Vectors {
		ix.Vectors[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[r.off+4*i:]))
	}
	if err := ix.check(); err != nil {
		return nil, err
	}
	return ix, nil
}

// maxIndexBytes bounds the index files Open reads.
const maxIndexBytes = 1 << 36

// Open reads and decodes the index file at path.
func Open(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxIndexBytes {
		return nil, fmt.Errorf("index: %s is not a regular file of at most %d bytes", path, int64(maxIndexBytes))
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("index: %s: %w", path, err)
	}
	ix, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

// WriteFile writes ix to path atomically: to a temporary file beside it,
// synced, then renamed over path, so that an interrupted write leaves the
// previous index whole.
func (ix *Index) WriteFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := ix.Encode(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("index: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes 0600; an index is no secret
		tmp.Close()
		return fmt.Errorf("index: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("index: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}
