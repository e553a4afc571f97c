package grammar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Errors of a Matcher.
var (
	// ErrRejected is wrapped by Accept's error for a token or text the
	// grammar does not allow where it stands.
	ErrRejected = errors.New("grammar: not allowed here")
	// ErrNoToken is wrapped by Mask's error when no token of the vocabulary
	// can continue the grammar (it needs bytes no token spells, or a limit
	// below cut every continuation).
	ErrNoToken = errors.New("grammar: no token can continue the text")
	// ErrLimit is wrapped when a grammar is too ambiguous or too deep for the
	// matcher's bounds: MaxStacks, MaxDepth, or the work of one call.
	ErrLimit = errors.New("grammar: matcher limit reached")
)

// Matcher limits: an ambiguous grammar can make the set of parse stacks grow
// with every byte; past these bounds the matcher reports ErrLimit instead of
// using unbounded time or memory.
const (
	// MaxStacks bounds the parse stacks alive at one position.
	MaxStacks = 4096
	// MaxDepth bounds the nesting of rule calls; deeper continuations are
	// not offered (a recursive grammar is cut at this depth).
	MaxDepth = 2048
	// maxWork bounds the closure steps of one Mask or Accept call.
	maxWork = 1 << 22
	// maxFrames and maxStates bound the matcher's tables; past them it
	// keeps only the current position and starts over.
	maxFrames = 1 << 21
	maxStates = 1 << 15
	// maskCacheBytes bounds the memory of cached masks.
	maskCacheBytes = 64 << 20
)

// frame is one level of a parse stack: a state of a rule's automaton and the
// frame to return to when the rule ends (-1: the root rule). Frames are
// interned, so a stack is its top frame's id and equal stacks share ids.
type frame struct {
	node, parent int32
	depth        int32 // rule calls below this frame
	dist         int32 // fewest bytes that complete the grammar from here
}

// dstate is a set of parse stacks, all stopped where a byte or a token is
// read; the matcher's position is one dstate. dstates are interned and their
// byte transitions cached: the matcher is a lazily built DFA.
type dstate struct {
	frames   []int32 // sorted frame ids at nByte or nToken nodes
	complete bool    // the grammar can end here
	tokens   bool    // some frame reads a whole token
	dist     int32   // fewest bytes to complete: 0 if complete
	next     *[256]int32
	mask     []uint64 // cached Mask result (without token elements and EOG)
	maxAfter int32    // largest dist after a token of mask
}

// State ids: 0 is "not computed" in transition tables, 1 the dead state.
const dead = 1

// Options configure a Matcher.
type Options struct {
	// StripFirstSpace drops the leading space of the first token that has
	// text, as the text stream does after a prompt that is BOS alone with a
	// SentencePiece vocabulary that adds a space prefix
	// (tokenizer.StripsFirstSpace): the grammar sees the text the caller
	// sees.
	StripFirstSpace bool
	// NoEOG never allows end-of-generation tokens (generation that ignores
	// EOS); the grammar then ends only when nothing can follow.
	NoEOG bool
}

// Matcher follows one generation through a grammar: Mask gives the tokens
// that can continue the text, Accept moves past the chosen one. It is not
// safe for concurrent use; make one per generation (NewMatcher is cheap: the
// work happens lazily and is cached while the generation runs).
type Matcher struct {
	p    *program
	v    *Vocab
	opts Options
	toks []int // token element -> token id

	frames   []frame
	frameIdx map[uint64]int32
	states   []dstate
	stateIdx map[string]int32
	cur      int32
	strip    bool // the next token with text loses its leading space
	ended    bool // an end-of-generation token was accepted
	masks    int  // cached masks

	// scratch
	seen     []uint32 // frame -> stamp of the closure that visited it
	stamp    uint32
	work     []int32
	buf      []int32
	complete bool
	budget   int
	err      error
	key      []byte
	walk     []int32
}

// NewMatcher starts matching g from its beginning over the tokens of v. v
// may be nil to match text only (AcceptString), for grammars without token
// elements.
func NewMatcher(g *Grammar, v *Vocab, o Options) (*Matcher, error) {
	m := &Matcher{p: g.prog, v: v, opts: o}
	m.toks = make([]int, len(m.p.toks))
	for i, r := range m.p.toks {
		if v == nil {
			return nil, fmt.Errorf("%w: token elements need a vocabulary", ErrGrammar)
		}
		id, err := v.resolve(r)
		if err != nil {
			return nil, err
		}
		m.toks[i] = id
	}
	m.reset()
	m.budget = maxWork
	m.begin()
	if f := m.frameID(m.p.start[m.p.root], -1); f >= 0 {
		m.closure(f)
	}
	m.cur = m.intern()
	if m.err != nil {
		return nil, m.err
	}
	m.strip = o.StripFirstSpace
	return m, nil
}

// reset empties the tables.
func (m *Matcher) reset() {
	m.frames = m.frames[:0]
	m.frameIdx = make(map[uint64]int32)
	m.states = append(m.states[:0], dstate{}, dstate{dist: inf}) // 0: unused, 1: dead
	m.stateIdx = make(map[string]int32)
	m.masks = 0
}

// Complete reports whether the text so far is a complete string of the
// grammar (an end-of-generation token may follow).
func (m *Matcher) Complete() bool { return m.ended || m.states[m.cur].complete }

// Done reports whether the grammar is complete and nothing can follow: the
// generation is over.
func (m *Matcher) Done() bool {
	st := &m.states[m.cur]
	return m.ended || st.complete && len(st.frames) == 0
}

// Remaining returns the fewest bytes that complete the grammar from here
// (0 when complete). Tokens that read whole tokens count one each.
func (m *Matcher) Remaining() int { return int(m.states[m.cur].dist) }

// frameID interns the frame (node, parent), or returns -1 for a frame
// deeper than MaxDepth.
func (m *Matcher) frameID(node, parent int32) int32 {
	key := uint64(uint32(node))<<32 | uint64(uint32(parent))
	if id, ok := m.frameIdx[key]; ok {
		return id
	}
	var depth, pd int32
	if parent >= 0 {
		depth, pd = m.frames[parent].depth+1, m.frames[parent].dist
	}
	if depth > MaxDepth {
		return -1
	}
	id := int32(len(m.frames))
	m.frames = append(m.frames, frame{node: node, parent: parent, depth: depth, dist: min(m.p.dist[node]+pd, inf)})
	m.frameIdx[key] = id
	if len(m.seen) < len(m.frames) {
		m.seen = append(m.seen, make([]uint32, len(m.frames)-len(m.seen)+1024)...)
	}
	return id
}

// begin starts collecting the stacks of a new position.
func (m *Matcher) begin() {
	m.buf = m.buf[:0]
	m.complete = false
	m.stamp++
	if m.stamp == 0 { // wrapped: clear the stamps
		clear(m.seen)
		m.stamp = 1
	}
}

// closure adds to m.buf every stack reachable from frame f without reading:
// through alternatives, into called rules and out of finished ones.
func (m *Matcher) closure(f int32) {
	p := m.p
	m.work = append(m.work[:0], f)
	for len(m.work) > 0 {
		f := m.work[len(m.work)-1]
		m.work = m.work[:len(m.work)-1]
		if m.seen[f] == m.stamp {
			continue
		}
		m.seen[f] = m.stamp
		if m.budget--; m.budget < 0 {
			m.fail(fmt.Errorf("%w: more than %d parse steps for one token (the grammar is too ambiguous)", ErrLimit, maxWork))
			return
		}
		fr := m.frames[f]
		if fr.dist >= inf {
			continue // cannot complete
		}
		nd := p.nodes[fr.node]
		switch nd.kind {
		case nByte, nToken:
			m.buf = append(m.buf, f)
		case nSplit:
			for _, t := range p.eps[nd.a:nd.b] {
				if id := m.frameID(t, fr.parent); id >= 0 {
					m.work = append(m.work, id)
				}
			}
		case nCall:
			ret := fr.parent
			if p.nodes[nd.b].kind != nEnd { // a call in tail position returns straight to the caller's caller
				if ret = m.frameID(nd.b, fr.parent); ret < 0 {
					continue
				}
			}
			if id := m.frameID(p.start[nd.a], ret); id >= 0 {
				m.work = append(m.work, id)
			}
		case nEnd:
			if fr.parent < 0 {
				m.complete = true
			} else {
				m.work = append(m.work, fr.parent)
			}
		}
	}
}

func (m *Matcher) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// intern returns the state of the stacks collected in m.buf.
func (m *Matcher) intern() int32 {
	if len(m.buf) == 0 && !m.complete {
		return dead
	}
	if len(m.buf) > MaxStacks {
		m.fail(fmt.Errorf("%w: more than %d parse stacks at one position (the grammar is too ambiguous)", ErrLimit, MaxStacks))
		return dead
	}
	slices.Sort(m.buf)
	m.key = m.key[:0]
	if m.complete {
		m.key = append(m.key, 1)
	}
	for _, f := range m.buf {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(f))
	}
	if id, ok := m.stateIdx[string(m.key)]; ok {
		return id
	}
	st := dstate{frames: slices.Clone(m.buf), complete: m.complete, dist: inf}
	if m.complete {
		st.dist = 0
	}
	for _, f := range st.frames {
		st.dist = min(st.dist, m.frames[f].dist)
		if m.p.nodes[m.frames[f].node].kind == nToken {
			st.tokens = true
		}
	}
	id := int32(len(m.states))
	m.states = append(m.states, st)
	m.stateIdx[string(m.key)] = id
	return id
}

// step returns the state after reading byte b in state s.
func (m *Matcher) step(s int32, b byte) int32 {
	st := &m.states[s]
	if st.next == nil {
		st.next = new([256]int32)
	} else if t := st.next[b]; t != 0 {
		return t
	}
	if m.err != nil {
		return dead
	}
	p := m.p
	m.begin()
	for _, f := range st.frames {
		fr := m.frames[f]
		nd := p.nodes[fr.node]
		if nd.kind != nByte {
			continue
		}
		for _, e := range p.edges[nd.a:nd.b] {
			if b < e.lo {
				break
			}
			if b <= e.hi {
				if id := m.frameID(e.next, fr.parent); id >= 0 {
					m.closure(id)
				}
				break
			}
		}
	}
	t := m.intern()
	if m.err != nil {
		return dead
	}
	m.states[s].next[b] = t
	return t
}

// tokenStep returns the state after the token elements of state s read
// token id (dead if none does).
func (m *Matcher) tokenStep(s int32, id int) int32 {
	m.begin()
	for _, f := range m.states[s].frames {
		fr := m.frames[f]
		nd := m.p.nodes[fr.node]
		if nd.kind != nToken {
			continue
		}
		want, neg := m.toks[nd.a], m.p.toks[nd.a].neg
		ok := id == want
		if neg {
			ok = id != want && hasBit(m.v.anyTok, id)
		}
		if ok {
			if nf := m.frameID(nd.b, fr.parent); nf >= 0 {
				m.closure(nf)
			}
		}
	}
	return m.intern()
}

// union returns the state holding the stacks of both a and b.
func (m *Matcher) union(a, b int32) int32 {
	switch {
	case a == dead:
		return b
	case b == dead || a == b:
		return a
	}
	m.begin()
	m.buf = append(append(m.buf, m.states[a].frames...), m.states[b].frames...)
	m.buf = slices.Compact(slices.Sorted(slices.Values(m.buf)))
	m.complete = m.states[a].complete || m.states[b].complete
	return m.intern()
}

// start prepares a call: the work budget, and fresh tables when they have
// grown past their bounds.
func (m *Matcher) start() error {
	if m.err != nil {
		return m.err
	}
	m.budget = maxWork
	if len(m.frames) > maxFrames || len(m.states) > maxStates {
		m.compact()
	}
	return nil
}

// compact rebuilds the tables with only the current position's stacks.
func (m *Matcher) compact() {
	oldFrames := m.frames
	cur := slices.Clone(m.states[m.cur].frames)
	complete := m.states[m.cur].complete
	m.frames = nil
	m.reset()
	memo := map[int32]int32{-1: -1}
	var copyFrame func(f int32) int32
	copyFrame = func(f int32) int32 {
		if id, ok := memo[f]; ok {
			return id
		}
		fr := oldFrames[f]
		id := m.frameID(fr.node, copyFrame(fr.parent))
		memo[f] = id
		return id
	}
	m.begin()
	for _, f := range cur {
		m.buf = append(m.buf, copyFrame(f))
	}
	m.complete = complete
	m.cur = m.intern()
}

// Accept moves past token id. It fails, wrapping ErrRejected, if the grammar
// does not allow the token here (the matcher stays where it was).
// End-of-generation tokens are accepted where the grammar is complete.
func (m *Matcher) Accept(id int) error {
	if err := m.start(); err != nil {
		return err
	}
	if m.v == nil || id < 0 || id >= m.v.size {
		return fmt.Errorf("%w: token %d is outside the vocabulary", ErrRejected, id)
	}
	if m.ended {
		return fmt.Errorf("%w: token %d after the end of generation", ErrRejected, id)
	}
	s := m.cur
	text := m.v.text[id]
	if m.strip && text != "" && text[0] == ' ' {
		text = text[1:]
	}
	res := int32(dead)
	if text != "" {
		res = m.run(s, text)
	}
	if m.states[s].tokens {
		res = m.union(res, m.tokenStep(s, id))
	}
	if m.err != nil {
		return m.err
	}
	if res == dead {
		if hasBit(m.v.eog, id) && m.states[s].complete && !m.opts.NoEOG {
			m.ended = true
			return nil
		}
		return fmt.Errorf("%w: token %d %q", ErrRejected, id, m.v.text[id])
	}
	m.cur = res
	if m.v.text[id] != "" {
		m.strip = false
	}
	return nil
}

// AcceptString moves past the bytes of s, as if generated; it fails,
// wrapping ErrRejected, if the grammar does not allow them (the matcher stays
// where it was).
func (m *Matcher) AcceptString(s string) error {
	if err := m.start(); err != nil {
		return err
	}
	if m.ended && s != "" {
		return fmt.Errorf("%w: text after the end of generation", ErrRejected)
	}
	res := m.run(m.cur, s)
	if m.err != nil {
		return m.err
	}
	if res == dead {
		return fmt.Errorf("%w: %q", ErrRejected, s)
	}
	m.cur = res
	if s != "" {
		m.strip = false
	}
	return nil
}

// run reads the bytes of s from state s0.
func (m *Matcher) run(s0 int32, s string) int32 {
	for i := 0; i < len(s) && s0 != dead; i++ {
		s0 = m.step(s0, s[i])
	}
	return s0
}

// Mask sets in dst the tokens that can come next: bit id%64 of dst[id/64]
// for token id. dst must hold at least Vocab.Words() words; words past the
// vocabulary are cleared (a model's output may have more rows than the
// vocabulary has tokens). A token is allowed when its text can continue the
// text so far (tokens that end inside a UTF-8 character included),
// end-of-generation tokens where the grammar is complete, control tokens only
// where the grammar names them (<|im_end|>). Tokens without text and tokens
// longer than 1024 bytes are never allowed. It fails with ErrNoToken when no
// token can continue.
func (m *Matcher) Mask(dst []uint64) error { return m.mask(dst, inf) }

// MaskWithin is Mask restricted to the tokens after which the grammar can
// still be completed within budget-1 more bytes: called with the number of
// tokens left (this one included), it steers the generation to a complete
// text before a token limit, as long as the vocabulary spells every byte (a
// byte-fallback or byte-level vocabulary). If no token fits the budget it
// returns Mask's result.
func (m *Matcher) MaskWithin(dst []uint64, budget int) error {
	if budget < 1 {
		budget = 1
	}
	err := m.mask(dst, int32(min(budget-1, inf)))
	if errors.Is(err, ErrNoToken) {
		return m.mask(dst, inf)
	}
	return err
}

func (m *Matcher) mask(dst []uint64, limit int32) error {
	if m.v == nil {
		return fmt.Errorf("%w: no vocabulary", ErrGrammar)
	}
	w := m.v.Words()
	if len(dst) < w {
		return fmt.Errorf("grammar: mask of %d words for a vocabulary of %d tokens", len(dst), m.v.size)
	}
	if err := m.start(); err != nil {
		return err
	}
	clear(dst)
	if m.ended {
		return fmt.Errorf("%w: the generation has ended", ErrNoToken)
	}
	s := m.cur
	st := &m.states[s]
	nodes := m.v.nodes
	switch {
	case st.mask != nil && !m.strip && limit >= st.maxAfter:
		copy(dst, st.mask)
	case !m.strip:
		maxAfter := m.walkTrie(dst, s, 1, int32(len(nodes)), 0, limit)
		if m.err != nil {
			return m.err
		}
		if limit >= inf {
			m.cache(s, dst[:w], maxAfter)
		}
	default:
		// The first token's leading space is dropped: tokens under the
		// root's ' ' child are matched from their second byte.
		sp := m.v.space
		if sp < 0 {
			m.walkTrie(dst, s, 1, int32(len(nodes)), 0, limit)
		} else {
			m.walkTrie(dst, s, 1, sp, 0, limit)
			m.walkTrie(dst, s, sp+1, sp+nodes[sp].size, 1, limit)
			m.walkTrie(dst, s, sp+nodes[sp].size, int32(len(nodes)), 0, limit)
		}
		if m.err != nil {
			return m.err
		}
	}
	st = &m.states[s]
	if st.tokens {
		for _, f := range st.frames {
			nd := m.p.nodes[m.frames[f].node]
			if nd.kind != nToken || m.frames[f].dist > limit+1 {
				continue
			}
			id := m.toks[nd.a]
			if !m.p.toks[nd.a].neg {
				setBit(dst, id)
				continue
			}
			for i := range w {
				dst[i] |= m.v.anyTok[i]
			}
			if !m.allowsToken(s, id) {
				dst[id/64] &^= 1 << (id % 64)
			}
		}
	}
	if st.complete && !m.opts.NoEOG {
		for i := range w {
			dst[i] |= m.v.eog[i]
		}
	}
	for _, x := range dst[:w] {
		if x != 0 {
			return nil
		}
	}
	if st.dist >= inf {
		return fmt.Errorf("%w (the grammar cannot complete from here)", ErrNoToken)
	}
	return ErrNoToken
}

// allowsToken reports whether token id is allowed in state s by the text
// walk or a positive token element (used to undo a negated element's
// exclusion when another path allows the token).
func (m *Matcher) allowsToken(s int32, id int) bool {
	for _, f := range m.states[s].frames {
		nd := m.p.nodes[m.frames[f].node]
		if nd.kind == nToken && m.toks[nd.a] == id && !m.p.toks[nd.a].neg {
			return true
		}
	}
	text := m.v.text[id]
	if text == "" || len(text) > maxTokenBytes {
		return false
	}
	return m.run(s, text) != dead
}

// cache keeps a computed mask for state s while the cache has room.
func (m *Matcher) cache(s int32, mask []uint64, maxAfter int32) {
	if (m.masks+1)*len(mask)*8 > maskCacheBytes {
		for i := range m.states {
			m.states[i].mask = nil
		}
		m.masks = 0
	}
	m.states[s].mask = slices.Clone(mask)
	m.states[s].maxAfter = maxAfter
	m.masks++
}

// walkTrie sets the bits of the tokens under trie nodes [from, to) (whole
// subtrees, at depth off+1 and below relative to state s) whose text the
// grammar can read from state s, keeping those after which the grammar can
// complete within limit bytes. It returns the largest such distance.
func (m *Matcher) walkTrie(dst []uint64, s, from, to int32, off int, limit int32) int32 {
	nodes, ids := m.v.nodes, m.v.ids
	if need := m.v.maxLen + 1; len(m.walk) < need {
		m.walk = make([]int32, need)
	}
	stack := m.walk
	stack[0] = s
	var maxAfter int32
	for i := from; i < to; {
		n := &nodes[i]
		d := int(n.depth) - off
		cur := stack[d-1]
		var ns int32
		if tbl := m.states[cur].next; tbl != nil && tbl[n.b] != 0 {
			ns = tbl[n.b]
		} else {
			ns = m.step(cur, n.b)
		}
		if ns == dead {
			i += n.size
			continue
		}
		stack[d] = ns
		if n.tokN > 0 {
			if dist := m.states[ns].dist; dist <= limit {
				maxAfter = max(maxAfter, dist)
				for _, id := range ids[n.tok0 : n.tok0+n.tokN] {
					dst[id>>6] |= 1 << (id & 63)
				}
			}
		}
		i++
	}
	return maxAfter
}
