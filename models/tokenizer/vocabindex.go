package tokenizer

import "hash/maphash"

// vocabIndex finds the id of a token text: an open-addressing table of ids
// hashed by their text (tokens[id]), at most half full, 4 bytes a slot:
// about a third of the memory of a map[string]int32 over the same
// vocabulary (SmolLM2's 49152 tokens: 0.5 MiB, not 1.6 MiB).
type vocabIndex struct {
	seed   maphash.Seed
	slots  []int32 // id+1; 0 is an empty slot
	tokens *strTable
}

// newVocabIndex returns an empty index for up to n of tokens' entries.
func newVocabIndex(tokens *strTable, n int) vocabIndex {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return vocabIndex{seed: maphash.MakeSeed(), slots: make([]int32, size), tokens: tokens}
}

// add indexes id under tokens[id]; it reports the id already indexed
// under that text (and indexes nothing) if there is one.
func (v *vocabIndex) add(id int32) (prev int32, dup bool) {
	s := v.tokens.at(int(id))
	mask := uint64(len(v.slots) - 1)
	for i := maphash.String(v.seed, s) & mask; ; i = (i + 1) & mask {
		e := v.slots[i]
		if e == 0 {
			v.slots[i] = id + 1
			return 0, false
		}
		if v.tokens.at(int(e-1)) == s {
			return e - 1, true
		}
	}
}

// get returns the id of the token whose text is s.
func (v *vocabIndex) get(s string) (int32, bool) {
	if len(v.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(v.slots) - 1)
	for i := maphash.String(v.seed, s) & mask; ; i = (i + 1) & mask {
		e := v.slots[i]
		if e == 0 {
			return 0, false
		}
		if v.tokens.at(int(e-1)) == s {
			return e - 1, true
		}
	}
}

// getb is get of the text in b (without converting it to a string).
func (v *vocabIndex) getb(b []byte) (int32, bool) {
	if len(v.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(v.slots) - 1)
	for i := maphash.Bytes(v.seed, b) & mask; ; i = (i + 1) & mask {
		e := v.slots[i]
		if e == 0 {
			return 0, false
		}
		if v.tokens.at(int(e-1)) == string(b) {
			return e - 1, true
		}
	}
}
