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
	maxStates = 1 << 14
	// maskCacheBytes bounds the memory of cached masks.
	maskCacheBytes = 16 << 20
)

// frame is one level of a parse stack: a state of a rule's automaton, the
// frame to return to when the rule ends (-1: the root rule) and, in a
// counted repetition, the iterations done. Frames are interned, so a stack
// is its top frame's id and equal stacks share ids.
type frame struct {
	node, parent int32
	count        int32 // iterations of the node's counted repetition
	depth        int32 // rule calls below this frame
	dist         int32 // fewest bytes that complete the grammar from here
}

type frameKey struct{ node, parent, count int32 }

// dstate is a set of parse stacks, all stopped where a byte or a token is
// read; the matcher's position is one dstate. dstates are interned and their
// byte transitions cached: the matcher is a lazily built DFA.
type dstate struct {
	frames   []int32 // sorted frame ids at nByte or nToken nodes
	complete bool    // the grammar can end here
	escape   bool    // (detached states) a stack returned to the cut-off context
	tokens   bool    // some frame reads a whole token
	dist     int32   // fewest bytes to complete: 0 if complete
	next     *[256]int32
	long     []int32 // the long tokens allowed here (valid when longOK)
	longOK   bool
	short    *shortMask // the short tokens' mask (nil until computed)
}

// shortMask is the mask of the tokens of at most shortLen bytes for every
// state with the same canonical key: the same stacks with repetition counts
// far from their bounds read alike (see canon).
type shortMask struct {
	bits   []uint64
	growth int32 // largest dist after a token of bits, minus the dist before; -1: unknown
}

// localMask is the short-token walk of a detached state (see detach): the
// tokens allowed without leaving it, and the trie nodes after which a stack
// returns to the context it was cut from.
type localMask struct {
	bits    []uint64
	escapes []int32
}

// out is the parent of the bottom frames of a detached state: returning to
// it is an escape into the context.
const out = -2

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
	frameIdx map[frameKey]int32
	states   []dstate
	stateIdx map[string]int32
	cur      int32
	strip    bool // the next token with text loses its leading space
	ended    bool // an end-of-generation token was accepted

	// canonical frames and the short-token mask cache (see canon)
	canonOf  []int32 // frame -> canonical frame
	canonIdx map[frameKey]int32
	shorts   map[string]*shortMask
	locals   map[string]*localMask
	maskMem  int  // bytes of cached masks
	escape   bool // closure scratch: a stack returned to out

	// scratch
	seen     []uint32 // frame -> stamp of the closure that visited it
	stamp    uint32
	work     []int32
	buf      []int32
	complete bool
	budget   int
	err      error
	key      []byte
	walk     []int32       // walkTrie: state by depth
	tables   []*[256]int32 // walkTrie: transition table by depth
	longBits []uint64      // longTokens: scratch mask
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
	if f := m.frameID(m.p.start[m.p.root], -1, 0); f >= 0 {
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
	m.frameIdx = make(map[frameKey]int32)
	m.states = append(m.states[:0], dstate{}, dstate{dist: inf}) // 0: unused, 1: dead
	m.stateIdx = make(map[string]int32)
	m.canonOf = m.canonOf[:0]
	m.canonIdx = make(map[frameKey]int32)
	m.shorts = make(map[string]*shortMask)
	m.locals = make(map[string]*localMask)
	m.maskMem = 0
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
// (0 when complete). Token elements count one byte each.
func (m *Matcher) Remaining() int { return int(m.states[m.cur].dist) }

// frameID interns the frame (node, parent, count), or returns -1 for a
// frame deeper than MaxDepth.
func (m *Matcher) frameID(node, parent, count int32) int32 {
	key := frameKey{node, parent, count}
	if id, ok := m.frameIdx[key]; ok {
		return id
	}
	var depth, pd int32
	if parent >= 0 {
		depth, pd = m.frames[parent].depth+1, m.frames[parent].dist
	} else if parent == out {
		depth = MaxDepth / 2 // unknown: the context's depth is cut off
	}
	if depth > MaxDepth {
		return -1
	}
	id := int32(len(m.frames))
	m.frames = append(m.frames, frame{node: node, parent: parent, count: count, depth: depth, dist: m.frameDist(node, count, pd)})
	m.frameIdx[key] = id
	m.canonOf = append(m.canonOf, -1)
	if len(m.seen) < len(m.frames) {
		m.seen = append(m.seen, make([]uint32, len(m.frames)-len(m.seen)+1024)...)
	}
	return id
}

// frameDist is the fewest bytes that complete the grammar from node, in
// iteration count of its counted repetition if any, when the caller's frames
// need pd more.
func (m *Matcher) frameDist(node, count, pd int32) int32 {
	p := m.p
	d := int64(p.dist[node])
	if ri := p.repOf[node]; ri >= 0 {
		r := p.reps[ri]
		need := int64(r.min - count)
		if node == r.loop {
			d = 0
		} else {
			need-- // this iteration ends before the loop counts it
		}
		if need > 0 {
			d += need * int64(r.minBody)
		}
	}
	return int32(min(d+int64(pd), inf))
}

// begin starts collecting the stacks of a new position.
func (m *Matcher) begin() {
	m.buf = m.buf[:0]
	m.complete = false
	m.escape = false
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
	push := func(node, parent, count int32) {
		if id := m.frameID(node, parent, count); id >= 0 {
			m.work = append(m.work, id)
		}
	}
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
				push(t, fr.parent, fr.count)
			}
		case nCall:
			ret := fr.parent
			if p.nodes[nd.b].kind != nEnd { // a call in tail position returns straight to the caller's caller
				if ret = m.frameID(nd.b, fr.parent, fr.count); ret < 0 {
					continue
				}
			}
			push(p.start[nd.a], ret, 0)
		case nEnd:
			m.pop(fr.parent)
		case nCount:
			r := p.reps[nd.a]
			if fr.count >= r.min {
				m.pop(fr.parent)
			}
			if r.max < 0 || fr.count < r.max {
				push(r.body, fr.parent, fr.count)
			}
		case nCountInc:
			r := p.reps[nd.a]
			c := fr.count + 1
			if r.max < 0 && c > r.min {
				c = r.min // past the minimum an unbounded loop no longer counts
			}
			push(nd.b, fr.parent, c)
		}
	}
}

// pop returns from a rule to frame parent (-1: the grammar is complete;
// out: a detached stack escapes to its context).
func (m *Matcher) pop(parent int32) {
	switch {
	case parent >= 0:
		m.work = append(m.work, parent)
	case parent == out:
		m.escape = true
	default:
		m.complete = true
	}
}

func (m *Matcher) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// intern returns the state of the stacks collected in m.buf.
func (m *Matcher) intern() int32 {
	if len(m.buf) == 0 && !m.complete && !m.escape {
		return dead
	}
	if len(m.buf) > MaxStacks {
		m.fail(fmt.Errorf("%w: more than %d parse stacks at one position (the grammar is too ambiguous)", ErrLimit, MaxStacks))
		return dead
	}
	slices.Sort(m.buf)
	m.key = m.key[:0]
	if m.complete || m.escape {
		m.key = append(m.key, btoi(m.complete)|btoi(m.escape)<<1)
	}
	for _, f := range m.buf {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(f))
	}
	if id, ok := m.stateIdx[string(m.key)]; ok {
		return id
	}
	st := dstate{frames: slices.Clone(m.buf), complete: m.complete, escape: m.escape, dist: inf}
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

func btoi(b bool) byte {
	if b {
		return 1
	}
	return 0
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
				if id := m.frameID(e.next, fr.parent, fr.count); id >= 0 {
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
			if nf := m.frameID(nd.b, fr.parent, fr.count); nf >= 0 {
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
		id := m.frameID(fr.node, copyFrame(fr.parent), fr.count)
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
	if text != "" && len(text) <= maxTokenBytes {
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
	all := &m.v.all
	full := int32(len(all.nodes))
	switch {
	case m.strip:
		// The first token's leading space is dropped: tokens under the
		// root's ' ' child are matched from their second byte.
		if sp := all.space; sp < 0 {
			m.walkTrie(dst, all, s, 1, full, 0, maxTokenBytes, limit)
		} else {
			end := sp + all.nodes[sp].size
			m.walkTrie(dst, all, s, 1, sp, 0, maxTokenBytes, limit)
			m.walkTrie(dst, all, s, sp+1, end, 1, maxTokenBytes, limit)
			m.walkTrie(dst, all, s, end, full, 0, maxTokenBytes, limit)
		}
	default:
		sm := m.short(s)
		if sm != nil && (limit >= inf || sm.growth >= 0 && limit >= m.states[s].dist+sm.growth) {
			copy(dst, sm.bits)
			m.longTokens(dst, s, limit)
		} else {
			m.walkTrie(dst, all, s, 1, full, 0, maxTokenBytes, limit)
		}
	}
	if m.err != nil {
		return m.err
	}
	st := &m.states[s]
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

// short returns the short-token mask of state s, computing it for the
// state's canonical key if no state with that key has. It returns nil if the
// cache has no room (the caller then walks the whole trie).
func (m *Matcher) short(s int32) *shortMask {
	st := &m.states[s]
	if st.short != nil {
		return st.short
	}
	key := m.canonKey(s)
	if sm, ok := m.shorts[key]; ok {
		m.states[s].short = sm
		return sm
	}
	words := m.v.Words()
	if m.maskMem+words*8 > maskCacheBytes {
		// full: forget every cached mask
		for i := range m.states {
			m.states[i].short = nil
		}
		clear(m.shorts)
		clear(m.locals)
		m.maskMem = 0
	}
	var sm *shortMask
	if x, local := m.detach(s); local != dead {
		sm = m.fromLocal(x, local)
	} else {
		bits := make([]uint64, words)
		maxAfter := m.walkTrie(bits, &m.v.all, s, 1, int32(len(m.v.all.nodes)), 0, shortLen, inf)
		sm = &shortMask{bits: bits, growth: max(maxAfter-m.states[s].dist, 0)}
	}
	if m.err != nil {
		return nil
	}
	m.shorts[key] = sm
	m.maskMem += words * 8
	m.states[s].short = sm
	return sm
}

// detach cuts state s off its context: x is the deepest frame below every
// stack of s (not itself one of them), and local the state of the same
// stacks with x replaced by out. Positions that differ only below x (a
// string value in another property, an object at another depth) have the
// same local state, so its short-token walk is shared; only the trie
// subtrees after an escape into x depend on the context. local is dead if
// the stacks share no frame.
func (m *Matcher) detach(s int32) (x, local int32) {
	frames := m.states[s].frames
	if len(frames) == 0 || m.states[s].tokens {
		return -1, dead
	}
	for _, f := range frames {
		if m.frames[f].depth > MaxDepth-4*shortLen {
			return -1, dead // near the depth limit the context matters
		}
	}
	// x: the deepest common ancestor of the stacks' parents
	x = m.frames[frames[0]].parent
	for _, f := range frames[1:] {
		y := m.frames[f].parent
		for x != y && x >= 0 && y >= 0 {
			if m.frames[x].depth >= m.frames[y].depth {
				x = m.frames[x].parent
			} else {
				y = m.frames[y].parent
			}
		}
		if x != y {
			return -1, dead
		}
	}
	if x < 0 {
		return -1, dead
	}
	for slices.Contains(frames, x) { // a stack's top is no cut
		if x = m.frames[x].parent; x < 0 {
			return -1, dead
		}
	}
	memo := map[int32]int32{x: out}
	var localize func(f int32) int32
	localize = func(f int32) int32 {
		if l, ok := memo[f]; ok {
			return l
		}
		fr := m.frames[f]
		p := localize(fr.parent)
		l := int32(-1)
		if p != -1 {
			l = m.frameID(fr.node, p, fr.count)
		}
		memo[f] = l
		return l
	}
	m.begin()
	for _, f := range frames {
		l := localize(f)
		if l < 0 {
			return -1, dead
		}
		m.buf = append(m.buf, l)
	}
	return x, m.intern()
}

// fromLocal makes the short mask of a state from its detached form: the
// cached local walk, plus a walk of the subtrees after each escape from
// the context frame x.
func (m *Matcher) fromLocal(x, local int32) *shortMask {
	key := m.canonKey(local)
	lm, ok := m.locals[key]
	if !ok {
		lm = &localMask{bits: make([]uint64, m.v.Words())}
		lm.escapes = m.walkLocal(lm.bits, local)
		m.locals[key] = lm
		m.maskMem += len(lm.bits)*8 + len(lm.escapes)*4
	}
	bits := slices.Clone(lm.bits)
	if len(lm.escapes) > 0 {
		m.begin()
		m.closure(x)
		ctx := m.intern()
		nodes := m.v.all.nodes
		for _, i := range lm.escapes {
			if n := nodes[i]; n.size > 1 && int(n.depth) < shortLen {
				m.walkTrie(bits, &m.v.all, ctx, i+1, i+n.size, int(n.depth), shortLen-int(n.depth), inf)
			}
		}
	}
	return &shortMask{bits: bits, growth: -1}
}

// walkLocal is walkTrie over the short tokens for a detached state: it
// sets the tokens allowed (inside the state or right after an escape) and
// returns the trie nodes after which a stack escapes to the context.
func (m *Matcher) walkLocal(dst []uint64, s int32) []int32 {
	t := &m.v.all
	nodes, ids := t.nodes, t.ids
	stack := m.prepareWalk(t.maxLen)
	tables := m.tables
	stack[0] = s
	tables[0] = m.table(s)
	var escapes []int32
	for i := int32(1); i < int32(len(nodes)); {
		n := &nodes[i]
		d := int(n.depth)
		ns := tables[d-1][n.b]
		if ns == 0 {
			ns = m.step(stack[d-1], n.b)
		}
		if ns == dead {
			i += n.size
			continue
		}
		st := &m.states[ns]
		if st.escape {
			escapes = append(escapes, i)
		}
		for _, id := range ids[n.tok0 : n.tok0+n.tokN] {
			dst[id>>6] |= 1 << (id & 63)
		}
		if n.size > 1 {
			if d >= shortLen || len(st.frames) == 0 {
				i += n.size
				continue
			}
			stack[d] = ns
			tables[d] = m.table(ns)
		}
		i++
	}
	return escapes
}

// longTokens adds the allowed tokens longer than shortLen bytes: walked
// for each state, remembered for the state (not for its canonical key: a
// long token can reach a repetition's bound).
func (m *Matcher) longTokens(dst []uint64, s, limit int32) {
	long := &m.v.long
	if len(long.nodes) <= 1 {
		return
	}
	if limit < inf {
		m.walkTrie(dst, long, s, 1, int32(len(long.nodes)), 0, maxTokenBytes, limit)
		return
	}
	if !m.states[s].longOK {
		if len(m.longBits) < m.v.Words() {
			m.longBits = make([]uint64, m.v.Words())
		}
		m.walkTrie(m.longBits, long, s, 1, int32(len(long.nodes)), 0, maxTokenBytes, inf)
		var ids []int32
		for _, id := range long.ids {
			if m.longBits[id>>6]>>(id&63)&1 != 0 {
				ids = append(ids, id)
				m.longBits[id>>6] &^= 1 << (id & 63)
			}
		}
		m.states[s].long, m.states[s].longOK = ids, true
	}
	for _, id := range m.states[s].long {
		dst[id>>6] |= 1 << (id & 63)
	}
}

// canonKey returns the key of state s in the short-mask cache: its frames
// with repetition counts saturated (see canon).
func (m *Matcher) canonKey(s int32) string {
	st := &m.states[s]
	m.key = m.key[:0]
	m.key = append(m.key, btoi(st.complete)|btoi(st.escape)<<1)
	start := len(m.key)
	for _, f := range st.frames {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(m.canon(f)))
	}
	// canonical ids need not be in the frames' order
	ids := make([]uint32, 0, len(st.frames))
	for i := start; i < len(m.key); i += 4 {
		ids = append(ids, binary.LittleEndian.Uint32(m.key[i:]))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	m.key = m.key[:start]
	for _, id := range ids {
		m.key = binary.LittleEndian.AppendUint32(m.key, id)
	}
	return string(m.key)
}

// canon returns the canonical frame of f: the same node, the canonical
// parent, and the repetition count replaced by how far it is from the
// repetition's bounds, capped at shortLen+1. Within a token of at most
// shortLen bytes (each iteration reads a byte at least) a count that far
// from a bound cannot reach it, so stacks with the same canonical frames
// allow the same short tokens: all positions of a long string of bounded
// length but the last few share one mask. Frames near MaxDepth keep their
// depth.
func (m *Matcher) canon(f int32) int32 {
	if f < 0 {
		return f
	}
	if c := m.canonOf[f]; c >= 0 {
		return c
	}
	fr := m.frames[f]
	sat := int32(0)
	if ri := m.p.repOf[fr.node]; ri >= 0 {
		r := m.p.reps[ri]
		need := min(max(r.min-fr.count, 0), shortLen+1)
		left := int32(63)
		if r.max >= 0 {
			left = min(r.max-fr.count, shortLen+1)
		}
		sat = need<<6 | left
	}
	if fr.depth > MaxDepth-2*shortLen {
		sat |= fr.depth << 16
	}
	key := frameKey{fr.node, m.canon(fr.parent), sat}
	c, ok := m.canonIdx[key]
	if !ok {
		c = int32(len(m.canonIdx))
		m.canonIdx[key] = c
	}
	m.canonOf[f] = c
	return c
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

// prepareWalk sizes the per-depth scratch of a trie walk.
func (m *Matcher) prepareWalk(maxLen int) []int32 {
	if need := maxLen + 1; len(m.walk) < need {
		m.walk = make([]int32, need)
		m.tables = make([]*[256]int32, need)
	}
	return m.walk
}

// walkTrie sets the bits of the tokens of t under trie nodes [from, to)
// (whole subtrees, at depth off+1 and below relative to state s) whose text
// the grammar can read from state s, keeping the tokens of at most cut bytes
// and those after which the grammar can complete within limit bytes. It
// returns the largest such distance.
//
// This loop is the cost of a cold mask: it runs once per trie node the
// grammar does not prune, with the transition table of each depth's state at
// hand so that a warm step is one load.
func (m *Matcher) walkTrie(dst []uint64, t *trie, s, from, to int32, off, cut int, limit int32) int32 {
	nodes, ids := t.nodes, t.ids
	stack := m.prepareWalk(t.maxLen)
	tables := m.tables
	stack[0] = s
	tables[0] = m.table(s)
	var maxAfter int32
	for i := from; i < to; {
		n := &nodes[i]
		d := int(n.depth) - off
		ns := tables[d-1][n.b]
		if ns == 0 {
			ns = m.step(stack[d-1], n.b)
		}
		if ns == dead {
			i += n.size
			continue
		}
		if n.tokN > 0 {
			if dist := m.states[ns].dist; dist <= limit {
				maxAfter = max(maxAfter, dist)
				for _, id := range ids[n.tok0 : n.tok0+n.tokN] {
					dst[id>>6] |= 1 << (id & 63)
				}
			}
		}
		if n.size > 1 {
			if d >= cut {
				i += n.size
				continue
			}
			stack[d] = ns
			tables[d] = m.table(ns)
		}
		i++
	}
	return maxAfter
}

// table returns the transition table of state s, allocating it if needed.
func (m *Matcher) table(s int32) *[256]int32 {
	st := &m.states[s]
	if st.next == nil {
		st.next = new([256]int32)
	}
	return st.next
}
