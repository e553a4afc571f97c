package nn

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/models/gguf"
)

// TestCopyLoadsRowsOnUse: after Weights.Copy, a row-read matrix (the
// stories model's untied token embedding) reads each row from the file on
// first use, rows read concurrently give the file's values, the rows never
// read stay unloaded (zero in the copy), and a product matrix is copied
// whole.
func TestCopyLoadsRowsOnUse(t *testing.T) {
	path := testutil.Stories(t)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	view := func(name string) *Tensor {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		d, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		return &Tensor{Name: ti.Name, Type: ti.Type, Shape: ti.Shape, Data: d}
	}
	emb, out := view("token_embd.weight"), view("output.weight")
	cols, rows := emb.Cols(), emb.Rows()
	want := make([][]float32, rows)
	for i := range want {
		want[i] = make([]float32, cols)
		if err := emb.Row(i, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	outWant := append([]byte(nil), out.Data...)

	w := NewWeights(f)
	w.Add(false, emb)
	w.Add(true, out)
	copied, err := w.Copy(context.Background(), path)
	if err != nil || !copied {
		t.Fatalf("Copy: %v, %v", copied, err)
	}
	defer w.Close()
	if emb.rows == nil || out.rows != nil {
		t.Fatalf("row loading on the embedding %v, on the head %v", emb.rows != nil, out.rows != nil)
	}
	if string(out.Data) != string(outWant) && !out.Packed {
		t.Fatal("the head's copy differs from the file")
	}
	used := map[int]bool{}
	for i := 0; i < rows; i += 7 {
		used[i] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 { // the same rows from four goroutines at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, cols)
			for i := 0; i < rows; i += 7 {
				if err := emb.Row(i, got); err != nil {
					errs <- err
					return
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
						t.Errorf("row %d [%d] = %v, file %v", i, j, got[j], want[i][j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rb := emb.RowBytes()
	for i := range rows {
		loaded := emb.rows.loaded[i/32].Load()&(1<<(i%32)) != 0
		if loaded != used[i] {
			t.Fatalf("row %d loaded %v, read %v", i, loaded, used[i])
		}
		if !used[i] {
			for _, b := range emb.Data[i*rb : (i+1)*rb] {
				if b != 0 {
					t.Fatalf("row %d never read holds data", i)
				}
			}
		}
	}
}
