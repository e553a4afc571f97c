package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/runtime"
)

// TestRerankEndpoint serves the tiny BERT reranker on a real loopback
// server: llama.cpp's three pairs scored within 1e-4 of its raw scores,
// results sorted with top_n and return_documents, the document shapes
// Jina's and Cohere's clients send, and the errors.
func TestRerankEndpoint(t *testing.T) {
	dir := testutil.Shared(t, "testdata/encoders/bert-rank")
	var ref struct {
		Pairs []struct {
			Query    string `json:"query"`
			Document string `json:"document"`
		} `json:"pairs"`
		NTokens []int `json:"n_tokens"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "tiny-bert-rank-F32.ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tiny-bert-rank-F32.rank.f32"))
	if err != nil || len(raw) != 12 {
		t.Fatalf("reference scores: %d bytes, %v", len(raw), err)
	}
	want := func(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])) }
	rr, err := runtime.LoadReranker(context.Background(), filepath.Join(dir, "tiny-bert-rank-F32.gguf"), runtime.WithEmbedThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	em, err := runtime.LoadEmbedder(context.Background(), filepath.Join(testutil.Shared(t, "testdata/encoders/bert-mean"), "tiny-bert-mean-F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	ts := start(t, Config{}, nil, Model{ID: "reranker", Embedder: rr}, Model{ID: "embedder", Embedder: em})

	q := ref.Pairs[0].Query
	docs, _ := json.Marshal([]any{ref.Pairs[1].Document, map[string]string{"text": ref.Pairs[0].Document}})
	var out struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Results []struct {
			Index          int                    `json:"index"`
			RelevanceScore float32                `json:"relevance_score"`
			Document       *struct{ Text string } `json:"document"`
		} `json:"results"`
		Usage embeddingUsage `json:"usage"`
	}
	for _, path := range []string{"/v1/rerank", "/rerank", "/v1/reranking"} {
		resp, body := ts.post(t, path, `{"model":"reranker","query":`+quote(q)+`,"documents":`+string(docs)+`,"return_documents":true}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		// Document 1 (the panda) first: llama.cpp's pair 0; document 0 is its pair 1.
		if out.Object != "list" || out.Model != "reranker" || len(out.Results) != 2 || out.Results[0].Index != 1 || out.Results[1].Index != 0 {
			t.Fatalf("%s: %s", path, body)
		}
		for k, wi := range []int{0, 1} {
			if d := math.Abs(float64(out.Results[k].RelevanceScore - want(wi))); d > 1e-4 {
				t.Errorf("result %d: score %v, llama.cpp's %v", k, out.Results[k].RelevanceScore, want(wi))
			}
		}
		if out.Results[0].Document == nil || out.Results[0].Document.Text != ref.Pairs[0].Document {
			t.Errorf("return_documents: %s", body)
		}
		if tokens := ref.NTokens[0] + ref.NTokens[1]; out.Usage.PromptTokens != tokens {
			t.Errorf("usage %+v, want %d tokens", out.Usage, tokens)
		}
	}
	resp, body := ts.post(t, "/v1/rerank", `{"model":"reranker","query":`+quote(q)+`,"documents":`+string(docs)+`,"top_n":1}`)
	out.Results = nil
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 || len(out.Results) != 1 || out.Results[0].Index != 1 || out.Results[0].Document != nil {
		t.Errorf("top_n 1: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		body   string
		status int
		param  string
	}{
		{`{"model":"embedder","query":"q","documents":["d"]}`, 400, "model"},
		{`{"model":"nope","query":"q","documents":["d"]}`, 404, "model"},
		{`{"model":"reranker","documents":["d"]}`, 400, "query"},
		{`{"model":"reranker","query":"q"}`, 400, "documents"},
		{`{"model":"reranker","query":"q","documents":[]}`, 400, "documents"},
		{`{"model":"reranker","query":"q","documents":[3]}`, 400, "documents"},
		{`{"model":"reranker","query":"q","documents":[""]}`, 400, "documents"},
		{`{"model":"reranker","query":"q","documents":["d"],"top_n":0}`, 400, "top_n"},
		{`{"model":"reranker","query":"q","documents":["d"],"rank_fields":["x"]}`, 400, "rank_fields"},
		{`{"model":"reranker","query":"q","documents":["short","` + strings.Repeat("word ", 600) + `"]}`, 400, "documents[1]"},
	} {
		resp, body := ts.post(t, "/v1/rerank", tc.body)
		apiErr(t, resp, body, tc.status, tc.param)
	}
	resp, body = ts.get(t, "/v1/rerank")
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzDecodeRerank: any body is a request or a 4xx, never a panic.
func FuzzDecodeRerank(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","query":"q","documents":["a",{"text":"b"}],"top_n":1,"return_documents":true}`,
		`{"model":"m","query":"q","documents":[{"text":null}]}`,
		`{"model":"m","query":"q","documents":"x"}`,
		`[]`, `{}`, `{"model":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, e := decodeRerank(body)
		if (r == nil) == (e == nil) {
			t.Fatalf("request %v and error %v", r, e)
		}
		if e != nil && (e.Status < 400 || e.Status >= 500) {
			t.Fatalf("status %d", e.Status)
		}
		if r != nil && (len(r.Documents) == 0 || r.Query == "" || r.TopN < 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
