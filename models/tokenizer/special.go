package tokenizer

import "strings"

// fragment is a piece of the input: raw text [off, off+n) or a special token.
type fragment struct {
	tok    int32 // token id, or -1 for raw text
	off, n int
}

// specialTrie is a byte trie over the special tokens' texts; it finds which
// of them occur in a text in one pass, so that the partition below only
// searches for those.
type specialTrie struct {
	nodes []trieNode
	root  [256]int32 // child of the root per byte, 0 if none
}

type trieNode struct {
	next map[byte]int32
	id   int32 // token ending here, or -1
}

func buildSpecialTrie(tokens *strTable, specials []int32) specialTrie {
	tr := specialTrie{nodes: []trieNode{{id: -1}}}
	for _, id := range specials {
		cur := int32(0)
		for _, b := range []byte(tokens.at(int(id))) {
			nx, ok := tr.nodes[cur].next[b]
			if !ok {
				if tr.nodes[cur].next == nil {
					tr.nodes[cur].next = make(map[byte]int32)
				}
				nx = int32(len(tr.nodes))
				tr.nodes = append(tr.nodes, trieNode{id: -1})
				tr.nodes[cur].next[b] = nx
			}
			cur = nx
		}
		tr.nodes[cur].id = id
	}
	for b, nx := range tr.nodes[0].next {
		tr.root[b] = nx
	}
	return tr
}

// present returns the set of special tokens that occur in text (nil if
// none).
func (tr *specialTrie) present(text string) map[int32]bool {
	var found map[int32]bool
	for i := 0; i < len(text); i++ {
		cur := tr.root[text[i]]
		for j := i + 1; cur != 0; j++ {
			if id := tr.nodes[cur].id; id >= 0 {
				if found == nil {
					found = make(map[int32]bool)
				}
				found[id] = true
			}
			if j >= len(text) {
				break
			}
			cur = tr.nodes[cur].next[text[j]]
		}
	}
	return found
}

// partition splits text into raw fragments and special tokens as llama.cpp's
// tokenizer_st_partition does: for each special token, longest text first,
// every occurrence in every remaining raw fragment is cut out, left to
// right. Control and unknown tokens take part only with parseSpecial;
// user-defined tokens always do. A token with the lstrip/rstrip attribute
// eats the C whitespace before/after it.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{tok: -1, off: 0, n: len(text)}}
	if len(t.specials) == 0 || text == "" {
		return frags
	}
	seen := t.trie.present(text)
	if len(seen) == 0 {
		return frags
	}
	var next []fragment
	for _, id := range t.specials {
		if !seen[id] {
			continue
		}
		a := t.attrs[id]
		if !parseSpecial && a&attrSpecial != 0 {
			continue
		}
		tok := t.tokens.at(int(id))
		next = next[:0]
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			off, n := f.off, f.n
			for {
				i := strings.Index(text[off:off+n], tok)
				if i < 0 {
					next = append(next, fragment{tok: -1, off: off, n: n})
					break
				}
				if i > 0 {
					left := i
					if a&attrLStrip != 0 {
						for left > 0 && isCSpace(text[off+left-1]) {
							left--
						}
					}
					if left > 0 {
						next = append(next, fragment{tok: -1, off: off, n: left})
					}
				}
				next = append(next, fragment{tok: id})
				end := off + i + len(tok)
				rest := off + n - end
				if rest == 0 {
					break
				}
				if a&attrRStrip != 0 {
					for rest > 0 && isCSpace(text[end]) {
						end++
						rest--
					}
				}
				if rest == 0 {
					break
				}
				off, n = end, rest
			}
		}
		frags, next = next, frags
	}
	return frags
}
