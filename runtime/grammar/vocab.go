package grammar

import (
	"fmt"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/tokenizer"
)

// Vocab is a vocabulary prepared for constrained sampling: the bytes each
// token adds to the text, in a trie that the matcher walks against the
// grammar, so tokens sharing a prefix are checked together and a prefix the
// grammar rejects rejects its whole subtree. Build one per tokenizer and
// share it: it is immutable and safe for concurrent use.
type Vocab struct {
	size    int      // token ids: [0, size)
	text    []string // id -> bytes added to the text; "" for none
	eog     []uint64 // bit set: end-of-generation tokens
	anyTok  []uint64 // bit set: tokens a negated token element (!<x>) may match
	strip   bool     // the tokenizer drops the first space after BOS
	tok     *tokenizer.Tokenizer
	all     trie // every token with text
	long    trie // the tokens longer than shortLen bytes
	skipped int  // tokens longer than maxTokenBytes, never allowed
}

// shortLen splits the vocabulary for the mask cache: the tokens of at most
// shortLen bytes (nearly all) are masked once per kind of grammar position
// and cached; the few longer ones are checked at every position.
const shortLen = 16

// trie is a byte trie of token texts.
type trie struct {
	nodes  []trieNode // preorder; nodes[0] is the root (the empty prefix)
	ids    []int32    // tokens by trie node: nodes[i].tok0 .. +tokN
	space  int32      // index of the root's child for ' ', or -1
	maxLen int        // longest token text
}

// trieNode is one byte of the trie, laid out in preorder so that a subtree
// is the range [i, i+size).
type trieNode struct {
	b     byte
	depth uint16 // bytes from the root
	size  int32  // nodes in the subtree, itself included
	tok0  int32  // first token ending here, in Vocab.ids
	tokN  int32  // number of tokens ending here
}

// maxTokenBytes bounds the length of a token's text; longer tokens (none in
// real vocabularies) are never allowed.
const maxTokenBytes = 1024

// NewVocab prepares t's vocabulary: token texts as StreamDecoder emits them
// (tokenizer.TokenText), end-of-generation tokens (allowed only where the
// grammar is complete) and control tokens (never text; matched only by token
// elements such as <|im_end|> in a grammar).
func NewVocab(t *tokenizer.Tokenizer) *Vocab {
	n := t.VocabSize()
	texts := make([]string, n)
	var eog, control []int
	for id := range n {
		texts[id] = t.TokenText(id)
		if t.IsEOG(id) {
			eog = append(eog, id)
		}
		if t.IsControl(id) {
			control = append(control, id)
		}
	}
	v := newVocab(texts, eog, control, t.StripsFirstSpace())
	v.tok = t
	return v
}

// newVocab builds a Vocab from token texts; eog and control list token ids.
func newVocab(texts []string, eog, control []int, strip bool) *Vocab {
	n := len(texts)
	w := (n + 63) / 64
	v := &Vocab{size: n, text: texts, eog: make([]uint64, w), anyTok: make([]uint64, w), strip: strip}
	for _, id := range eog {
		setBit(v.eog, id)
	}
	for _, id := range control {
		setBit(v.anyTok, id)
	}
	order := make([]int32, 0, n)
	for id, s := range texts {
		if s == "" {
			continue
		}
		setBit(v.anyTok, id)
		if len(s) > maxTokenBytes {
			v.skipped++
			continue
		}
		order = append(order, int32(id))
	}
	for _, id := range eog {
		v.anyTok[id/64] &^= 1 << (id % 64)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := strings.Compare(texts[a], texts[b]); c != 0 {
			return c
		}
		return int(a - b)
	})
	v.all = buildTrie(texts, order)
	v.long = buildTrie(texts, slices.DeleteFunc(slices.Clone(order), func(id int32) bool { return len(texts[id]) <= shortLen }))
	return v
}

// buildTrie lays out the texts of the tokens in order (sorted by text) as a
// preorder trie: each text adds the nodes of its bytes after its common
// prefix with the previous one.
func buildTrie(texts []string, order []int32) trie {
	t := trie{nodes: []trieNode{{}}, ids: make([]int32, 0, len(order)), space: -1}
	path := []int32{0} // path[d]: node index at depth d
	prev := ""
	closeTo := func(d int) { // pop the path down to depth d, sizing the subtrees
		for len(path) > d+1 {
			i := path[len(path)-1]
			t.nodes[i].size = int32(len(t.nodes)) - i
			path = path[:len(path)-1]
		}
	}
	for _, id := range order {
		s := texts[id]
		c := 0
		for c < len(s) && c < len(prev) && s[c] == prev[c] {
			c++
		}
		closeTo(c)
		for d := c; d < len(s); d++ {
			path = append(path, int32(len(t.nodes)))
			t.nodes = append(t.nodes, trieNode{b: s[d], depth: uint16(d + 1)})
		}
		last := &t.nodes[path[len(path)-1]]
		if last.tokN == 0 {
			last.tok0 = int32(len(t.ids))
		}
		last.tokN++
		t.ids = append(t.ids, id)
		t.maxLen = max(t.maxLen, len(s))
		prev = s
	}
	closeTo(0)
	t.nodes[0].size = int32(len(t.nodes))
	for i := int32(1); i < int32(len(t.nodes)); i += t.nodes[i].size {
		if t.nodes[i].b == ' ' {
			t.space = i
		}
	}
	return t
}

func setBit(s []uint64, i int) { s[i/64] |= 1 << (i % 64) }

func hasBit(s []uint64, i int) bool { return s[i/64]>>(i%64)&1 != 0 }

// Size returns the number of token ids.
func (v *Vocab) Size() int { return v.size }

// Words returns the length in uint64 words of a token mask: bit id%64 of
// word id/64 is token id.
func (v *Vocab) Words() int { return (v.size + 63) / 64 }

// TrieNodes returns the number of nodes of the vocabulary's byte trie (the
// distinct non-empty prefixes of the token texts): the most a mask walks.
func (v *Vocab) TrieNodes() int { return len(v.all.nodes) - 1 }

// resolve returns the token id of a token element.
func (v *Vocab) resolve(r tokRef) (int, error) {
	if r.text == "" {
		if r.id < 0 || r.id >= v.size {
			return 0, fmt.Errorf("%w: token <[%d]> is outside the vocabulary of %d tokens", ErrGrammar, r.id, v.size)
		}
		return r.id, nil
	}
	if v.tok != nil {
		ids, err := v.tok.Encode(r.text, tokenizer.EncodeOptions{ParseSpecial: true})
		if err == nil && len(ids) == 1 {
			return ids[0], nil
		}
		return 0, fmt.Errorf("%w: token %s is not a single token of the vocabulary", ErrGrammar, r.text)
	}
	for id, s := range v.text {
		if s == r.text {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%w: token %s is not in the vocabulary", ErrGrammar, r.text)
}
