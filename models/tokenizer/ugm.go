package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SentencePiece Unigram ("t5" vocabularies: T5, XLM-R and the embedders and
// rerankers built on it), as llama.cpp's llm_tokenizer_ugm does it:
//
//  1. Normalise: at each position take the longest user-defined token (kept
//     as is), else the longest match in the precompiled charsmap (replaced),
//     else one UTF-8 character (U+FFFD for a byte that starts none); then
//     spaces become "▁", with one "▁" put before the first word
//     (add_space_prefix) or, with remove_extra_whitespaces, before every word
//     and runs of spaces dropped.
//  2. Segment with Viterbi (Kudo 2018): the segmentation of the normalised
//     text into vocabulary pieces whose scores (log probabilities) sum
//     highest; user-defined pieces score 0; a character no single piece
//     covers is the unknown token, scoring 10 below the lowest piece; runs of
//     unknown tokens become one.

// ugmModel is the Unigram state of a Tokenizer.
type ugmModel struct {
	pieces      byteTrie  // normal, user-defined and unused tokens
	userDefined byteTrie  // user-defined tokens, matched before normalising
	charsmap    *charsmap // nil without tokenizer.ggml.precompiled_charsmap
	unkScore    float32   // lowest normal score - 10
	mergeSpaces bool      // tokenizer.ggml.remove_extra_whitespaces
}

// byteTrie is a trie over byte strings with each node's children stored
// together, sorted by byte.
type byteTrie struct {
	label []byte   // node -> the byte that leads to it
	first []int32  // node -> index of its first child
	count []uint16 // node -> number of children
	id    []int32  // node -> token ending here, or -1
}

// buildTrie builds the trie of keys (with ids[i] the token of keys[i]).
func buildTrie(keys []string, ids []int32) byteTrie {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	// In sorted order each key adds one node per byte past the prefix it
	// shares with the key before it: size the arrays exactly.
	nodes, prev := 1, ""
	for _, i := range order {
		k := keys[i]
		l := 0
		for l < len(k) && l < len(prev) && k[l] == prev[l] {
			l++
		}
		nodes += len(k) - l
		prev = k
	}
	t := byteTrie{label: make([]byte, 1, nodes), first: make([]int32, 1, nodes), count: make([]uint16, 1, nodes), id: make([]int32, 1, nodes)}
	t.id[0] = -1
	// Depth first with an explicit stack (a key may be megabytes long): each
	// node's children are allocated together when the node is visited.
	type span struct{ node, lo, hi, depth int }
	stack := []span{{0, 0, len(order), 0}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		lo := s.lo
		if lo < s.hi && len(keys[order[lo]]) == s.depth {
			t.id[s.node] = ids[order[lo]] // sorted: the key that ends here comes first
			lo++
		}
		t.first[s.node] = int32(len(t.label))
		for i := lo; i < s.hi; {
			b := keys[order[i]][s.depth]
			j := i + 1
			for j < s.hi && keys[order[j]][s.depth] == b {
				j++
			}
			child := len(t.label)
			t.label = append(t.label, b)
			t.first = append(t.first, 0)
			t.count = append(t.count, 0)
			t.id = append(t.id, -1)
			t.count[s.node]++
			stack = append(stack, span{child, i, j, s.depth + 1})
			i = j
		}
	}
	return t
}

// child returns the child of node for byte b, or -1.
func (t *byteTrie) child(node int32, b byte) int32 {
	lo, hi := t.first[node], t.first[node]+int32(t.count[node])
	for lo < hi {
		m := int32(uint32(lo+hi) >> 1)
		switch c := t.label[m]; {
		case c == b:
			return m
		case c < b:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}

// longest returns the length of the longest key that prefixes s, or 0.
func (t *byteTrie) longest(s string) int {
	best := 0
	node := int32(0)
	for i := 0; i < len(s); i++ {
		if node = t.child(node, s[i]); node < 0 {
			break
		}
		if t.id[node] >= 0 {
			best = i + 1
		}
	}
	return best
}

// charsmap is sentencepiece's precompiled normalisation map: a uint32
// length, that many bytes of an XOR-compressed double array (each entry a
// uint32: BASE in bits 10-30, shifted left 8 more when bit 9 is set, LCHECK
// in bits 0-7 and 31, LEAF in bit 8; a leaf's value is its entry without bit
// 31), then NUL-terminated replacement strings the leaves point into.
type charsmap struct {
	xcda []uint32
	repl []byte
}

// parseCharsmap checks the header as llama.cpp does and copies the array.
func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap has %d bytes, too few for its header", len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n+4 >= uint64(len(b)) {
		return nil, fmt.Errorf("precompiled_charsmap: an array of %d bytes in %d", n, len(b))
	}
	m := &charsmap{xcda: make([]uint32, n/4), repl: b[4+n:]}
	for i := range m.xcda {
		m.xcda[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	return m, nil
}

// match returns the length of the longest prefix of s the map replaces and
// its replacement. A walk that leaves the array, or a leaf whose
// replacement is out of range or unterminated, ends the search (llama.cpp
// throws there; real charsmaps never do it).
func (m *charsmap) match(s string) (n int, repl string) {
	node := func(i uint32) (uint32, bool) {
		if uint64(i) >= uint64(len(m.xcda)) {
			return 0, false
		}
		return m.xcda[i], true
	}
	base := func(v uint32) uint32 { return (v >> 10) << ((v & (1 << 9)) >> 6) }
	root, ok := node(0)
	if !ok {
		return 0, ""
	}
	idx := base(root)
	for i := 0; i < len(s) && s[i] != 0; i++ {
		c := uint32(s[i])
		idx ^= c
		v, ok := node(idx)
		if !ok || v&(1<<31|0xFF) != c {
			break
		}
		leaf := v>>8&1 != 0
		idx ^= base(v)
		if leaf {
			lv, ok := node(idx)
			if !ok {
				break
			}
			off := uint64(lv & (1<<31 - 1))
			if off >= uint64(len(m.repl)) {
				break
			}
			end := off
			for end < uint64(len(m.repl)) && m.repl[end] != 0 {
				end++
			}
			if end == uint64(len(m.repl)) {
				break
			}
			n, repl = i+1, string(m.repl[off:end])
		}
	}
	return n, repl
}

// newUGM builds the Unigram state from the loaded vocabulary.
func newUGM(t *Tokenizer, cm *charsmap, mergeSpaces bool) *ugmModel {
	u := &ugmModel{charsmap: cm, mergeSpaces: mergeSpaces}
	var keys, udKeys []string
	var ids, udIDs []int32
	minScore := float32(math.MaxFloat32)
	for i, a := range t.attrs {
		if a&attrNormal != 0 {
			minScore = min(minScore, t.scores[i])
		}
		if a&(attrNormal|attrUserDefined|attrUnused) != 0 {
			keys = append(keys, t.tokens.at(i))
			ids = append(ids, int32(i))
		}
		if a&attrUserDefined != 0 {
			udKeys = append(udKeys, t.tokens.at(i))
			udIDs = append(udIDs, int32(i))
		}
	}
	u.unkScore = minScore - 10 // float32, as in llama.cpp
	u.pieces = buildTrie(keys, ids)
	u.userDefined = buildTrie(udKeys, udIDs)
	return u
}

// spmUTF8Len returns the length of the UTF-8 sequence at s[i] as llama.cpp's
// unicode_cpt_from_utf8 accepts it (lead byte and continuation bytes only;
// overlong forms, surrogates and values above U+10FFFF pass), or 0.
func spmUTF8Len(s string, i int) int {
	b := s[i]
	cont := func(j int) bool { return j < len(s) && s[j]&0xC0 == 0x80 }
	switch {
	case b < 0x80:
		return 1
	case b < 0xC0:
		return 0
	case b < 0xE0:
		if cont(i + 1) {
			return 2
		}
	case b < 0xF0:
		if cont(i+1) && cont(i+2) {
			return 3
		}
	case b < 0xF8:
		if cont(i+1) && cont(i+2) && cont(i+3) {
			return 4
		}
	}
	return 0
}

// normalize is llama.cpp's UGM normalisation of one raw fragment.
func (u *ugmModel) normalize(text string, addSpacePrefix bool, dst []byte) []byte {
	const space = "\u2581"
	prepended, inWord := false, false
	for i := 0; i < len(text); {
		var piece string
		// A whole user-defined token is copied as is. (llama.cpp's walk of
		// its trie stops at any depth, whole token or not, and so copies a
		// mere prefix of one unnormalised, possibly cutting a character in
		// two; edgeai does not follow it there. Whole tokens never get
		// here: the special-token partition cut them out before.)
		if n := u.userDefined.longest(text[i:]); n > 0 {
			piece = text[i : i+n]
			i += n
		} else if n, repl := u.charsmap.matchOrNone(text[i:]); n > 0 {
			piece = repl
			i += n
		} else if n := spmUTF8Len(text, i); n > 0 {
			piece = text[i : i+n]
			i += n
		} else {
			piece = "\uFFFD"
			i++
		}
		for j := 0; j < len(piece); j++ {
			c := piece[j]
			if c != ' ' {
				if !inWord {
					inWord = true
					if (addSpacePrefix && !prepended) || u.mergeSpaces {
						dst = append(dst, space...)
						prepended = true
					}
				}
				dst = append(dst, c)
				continue
			}
			inWord = false
			if !u.mergeSpaces {
				dst = append(dst, space...)
			}
		}
	}
	return dst
}

func (m *charsmap) matchOrNone(s string) (int, string) {
	if m == nil {
		return 0, ""
	}
	return m.match(s)
}

// ugmBest is the best segmentation found so far of the text up to a byte
// position: its last token, where that token starts and the total score.
type ugmBest struct {
	id    int32
	start int32
	score float64
}

// encodeUGM appends the tokens of one raw fragment to out.
func (t *Tokenizer) encodeUGM(text string, out []int) []int {
	u := t.ugm
	norm := u.normalize(text, t.addSpacePrefix, make([]byte, 0, len(text)+len(text)/2+3))
	return t.viterbiUGM(string(norm), out)
}

// viterbiUGM appends the best segmentation of normalised text to out.
func (t *Tokenizer) viterbiUGM(s string, out []int) []int {
	n := len(s)
	if n == 0 {
		return out
	}
	u := t.ugm
	unk := int32(t.unk)
	best := make([]ugmBest, n+1)
	for i := range best {
		best[i] = ugmBest{id: unk, score: math.Inf(-1)}
	}
	best[0].score = 0
	for off := 0; off < n; {
		width := min(utf8Len(s[off]), n-off)
		cur := best[off].score
		single := false
		node := int32(0)
		for p := off; p < n; p++ {
			if node = u.pieces.child(node, s[p]); node < 0 {
				break
			}
			id := u.pieces.id[node]
			if id < 0 {
				continue
			}
			if p+1-off == width {
				single = true
			}
			score := float64(t.scores[id])
			if t.attrs[id]&attrUserDefined != 0 {
				score = 0
			}
			if sc := cur + score; sc > best[p+1].score {
				best[p+1] = ugmBest{id: id, start: int32(off), score: sc}
			}
		}
		if !single {
			if sc := cur + float64(u.unkScore); sc > best[off+width].score {
				best[off+width] = ugmBest{id: unk, start: int32(off), score: sc}
			}
		}
		off += width
	}
	start := len(out)
	prevUnk := false
	for pos := n; ; {
		b := best[pos]
		isUnk := b.id == unk
		if !(prevUnk && isUnk) {
			out = append(out, int(b.id))
		}
		if b.start == 0 {
			break
		}
		prevUnk = isUnk
		pos = int(b.start)
	}
	for i, j := start, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
