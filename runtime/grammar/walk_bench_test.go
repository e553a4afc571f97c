package grammar

import "testing"

// BenchmarkWalk measures one full trie walk from a state that allows
// nearly every token (inside a JSON string), transitions warm.
func BenchmarkWalk(b *testing.B) {
	for _, vn := range []string{"llama-32k", "gpt2-50k", "synth-152k"} {
		b.Run(vn, func(b *testing.B) {
			v := benchVocab(b, vn)
			g, err := FromJSONSchema([]byte(`{"type":"string"}`))
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewMatcher(g, v, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := m.AcceptString(`"ab`); err != nil {
				b.Fatal(err)
			}
			dst := make([]uint64, v.Words())
			m.walkTrie(dst, &v.all, m.cur, 1, int32(len(v.all.nodes)), 0, maxTokenBytes, inf)
			c0 := cpuNow()
			for b.Loop() {
				m.walkTrie(dst, &v.all, m.cur, 1, int32(len(v.all.nodes)), 0, maxTokenBytes, inf)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(v.all.nodes)), "ns/node")
			b.ReportMetric(float64(cpuNow()-c0)/float64(b.N)/float64(len(v.all.nodes)), "cpu-ns/node")
		})
	}
}
