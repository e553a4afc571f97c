package tokenizer

import (
	"fmt"
	"math"
	"strings"
)

// strTable holds a vocabulary's strings (token texts, rendered pieces) in
// one string: 4 bytes of offset per entry where a []string costs a 16-byte
// header and an allocation each (SmolLM2's 49152 tokens: 0.4 MiB, not
// 1.1 MiB). at returns a substring, without allocating.
type strTable struct {
	data string
	end  []uint32 // entry i is data[end[i-1]:end[i]] (from 0 for i = 0)
}

// newStrTable builds a table of n entries, entry i being at(i).
func newStrTable(n int, at func(i int) string) (strTable, error) {
	var total uint64
	for i := range n {
		total += uint64(len(at(i)))
		if total > math.MaxUint32 || total > math.MaxInt {
			return strTable{}, fmt.Errorf("%w: the vocabulary's texts exceed 4 GiB", ErrVocab)
		}
	}
	var b strings.Builder
	b.Grow(int(total))
	end := make([]uint32, n)
	for i := range n {
		b.WriteString(at(i))
		end[i] = uint32(b.Len())
	}
	return strTable{data: b.String(), end: end}, nil
}

// len returns the number of entries.
func (s *strTable) len() int { return len(s.end) }

// at returns entry i.
func (s *strTable) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = s.end[i-1]
	}
	return s.data[start:s.end[i]]
}
