package index

import (
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync"

	"github.com/edgeai-go/edgeai/kernels"
)

// Hit is one chunk found by Search.
type Hit struct {
	Chunk int     // index in Index.Chunks
	Score float32 // the dot product of the query and the chunk's vector: their cosine for unit vectors
}

// searchGrain is the fewest chunks a worker of Search takes.
const searchGrain = 4096

// Search returns the k chunks whose vectors have the largest dot product
// with q (the cosine similarity when both are unit length, as the
// runtime's vectors are by default), best first; equal scores in chunk
// order. The search is exact: every vector is scored (kernels.Dot), the
// chunks split across threads workers (0 = every core).
func (ix *Index) Search(q []float32, k, threads int) ([]Hit, error) {
	if len(q) != ix.Dim {
		return nil, fmt.Errorf("index: a query of %d values, the index has %d", len(q), ix.Dim)
	}
	n := len(ix.Chunks)
	if n == 0 {
		return nil, errNoIndex
	}
	if k <= 0 {
		return nil, nil
	}
	k = min(k, n)
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	parts := max(1, min(threads, n/searchGrain))
	tops := make([]topK, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tops[p]
			t.k = k
			dim := ix.Dim
			for i := lo; i < hi; i++ {
				t.offer(Hit{Chunk: i, Score: kernels.Dot(q, ix.Vectors[i*dim:(i+1)*dim])})
			}
		}()
	}
	wg.Wait()
	var all []Hit
	for _, t := range tops {
		all = append(all, t.h...)
	}
	sort.Slice(all, func(a, b int) bool { return better(all[a], all[b]) })
	return all[:min(k, len(all))], nil
}

// better orders hits: higher score first, then lower chunk index.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Chunk < b.Chunk
}

// topK keeps the k best hits in a min-heap (the worst at the root).
type topK struct {
	k int
	h hits
}

type hits []Hit

func (h hits) Len() int           { return len(h) }
func (h hits) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hits) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hits) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hits) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *topK) offer(x Hit) {
	if len(t.h) < t.k {
		heap.Push(&t.h, x)
		return
	}
	if better(x, t.h[0]) {
		t.h[0] = x
		heap.Fix(&t.h, 0)
	}
}

// Text returns chunk i's text, read from its file under the index's root,
// and whether the file is as it was indexed (same size and time): if it
// changed, the text may no longer be the chunk's.
func (ix *Index) Text(i int) (text string, unchanged bool, err error) {
	c := ix.Chunks[i]
	f := ix.Files[c.File]
	p := filepath.Join(ix.Header.Root, filepath.FromSlash(f.Path))
	fh, err := os.Open(p)
	if err != nil {
		return "", false, fmt.Errorf("index: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return "", false, fmt.Errorf("index: %w", err)
	}
	unchanged = st.Size() == f.Size && st.ModTime().UnixNano() == f.ModTime
	if c.Offset+int64(c.Length) > st.Size() {
		return "", false, fmt.Errorf("index: %s is shorter than when it was indexed; index the folder again", p)
	}
	b := make([]byte, c.Length)
	if _, err := fh.ReadAt(b, c.Offset); err != nil {
		return "", false, fmt.Errorf("index: %s: %w", p, err)
	}
	return string(b), unchanged, nil
}
