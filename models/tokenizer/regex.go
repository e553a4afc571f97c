package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// A small backtracking matcher for the pre-tokenizer expressions llama.cpp
// hands to std::regex (ECMAScript: leftmost start, then the first
// alternative that succeeds, greedy quantifiers that give back one code
// point at a time, atomic look-aheads). It supports what those expressions
// use: alternation, groups, (?:) (?=) (?!), character classes with ranges
// and negation, \s \S \d \D \r \n \t, escaped punctuation, \p{L} \p{N}
// \p{P} \p{M} \p{S} \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo}, $, and the
// quantifiers ? * + {n} {n,} {n,m}.
//
// llama.cpp runs an expression in one of two ways, and the classes here
// reproduce both exactly:
//
//   - collapsed (the expression names a \p{..} category): every code point
//     above U+007F is replaced by one byte standing for its category (letter,
//     number, punctuation, mark, symbol, anything else) or by U+000B if it is
//     Unicode whitespace, and \p{X} becomes that byte plus a fixed list of
//     ASCII characters. The lists are llama.cpp's, not Unicode's: '~' is in
//     none of them (Unicode has it in \p{S}).
//   - wide (no \p{..}): std::wregex over the code points, with non-ASCII
//     whitespace replaced by U+000B; \s is ASCII whitespace.
type regex struct {
	expr      string
	collapsed bool
	alts      [][]*reNode
}

type reOp uint8

const (
	reClassOp reOp = iota // one code point of cls, repeated min..max times
	reGroup               // alts, repeated min..max times
	reLook                // (?=alts)
	reNegLook             // (?!alts)
	reEnd                 // $
)

type reNode struct {
	op       reOp
	cls      *reClass
	alts     [][]*reNode
	min, max int // max < 0: unbounded
}

// Collapsed categories of code points above U+007F (llama.cpp's bytes
// 0xD0..0xD5).
const (
	kindOther uint8 = 1 << iota
	kindNumber
	kindLetter
	kindPunct
	kindMark
	kindSymbol
)

// reClass is a set of code points.
type reClass struct {
	ascii  [2]uint64 // members among U+0000..U+007F
	kinds  uint8     // collapsed: members among the categories of other code points
	ranges [][2]rune // wide: members above U+007F
	neg    bool
	and    *reClass // also required (a one-code-point look-ahead folded in)
}

func (c *reClass) addASCII(r rune) { c.ascii[r>>6] |= 1 << (r & 63) }

func (c *reClass) hasASCII(r rune) bool { return c.ascii[r>>6]&(1<<(r&63)) != 0 }

// collapsedKind is the category byte llama.cpp gives a non-ASCII,
// non-whitespace code point.
func collapsedKind(f uint16) uint8 {
	switch {
	case f&flagNumber != 0:
		return kindNumber
	case f&flagLetter != 0:
		return kindLetter
	case f&flagPunctuation != 0:
		return kindPunct
	case f&flagMark != 0:
		return kindMark
	case f&flagSymbol != 0:
		return kindSymbol
	}
	return kindOther
}

// has reports whether code point r (with flags f) is in the class.
func (c *reClass) has(r rune, f uint16) bool {
	var in bool
	switch {
	case r >= 0 && r < utf8.RuneSelf:
		in = c.hasASCII(r)
	case f&flagWhitespace != 0:
		in = c.hasASCII('\v') // llama.cpp hands non-ASCII whitespace to the regex as U+000B
	case c.ranges != nil:
		for _, rg := range c.ranges {
			if r >= rg[0] && r <= rg[1] {
				in = true
				break
			}
		}
	default:
		in = c.kinds&collapsedKind(f) != 0
	}
	if c.neg {
		in = !in
	}
	if in && c.and != nil {
		in = c.and.has(r, f)
	}
	return in
}

// asciiSpace is \s: C's isspace.
const asciiSpace = " \t\n\v\f\r"

// categoryASCII are the ASCII members llama.cpp gives each \p{X} in a
// collapsed expression.
var categoryASCII = map[uint8]string{
	kindNumber: "0123456789",
	kindLetter: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	kindPunct:  "!\"#%&'()*,-./:;?@[\\]_{}",
	kindMark:   "",
	kindSymbol: "$+<=>^`|",
}

var categoryNames = map[string]uint8{
	"N": kindNumber, "L": kindLetter, "P": kindPunct, "M": kindMark, "S": kindSymbol,
	"Lu": kindLetter, "Ll": kindLetter, "Lt": kindLetter, "Lm": kindLetter, "Lo": kindLetter,
}

// compileRegex parses expr. It reports syntax the matcher does not support
// and expressions that can match the empty string (std::regex_iterator
// treats those specially; none of llama.cpp's pre-tokenizers has one).
func compileRegex(expr string) (*regex, error) {
	re := &regex{expr: expr}
	for name := range categoryNames {
		if strings.Contains(expr, `\p{`+name+`}`) {
			re.collapsed = true
		}
	}
	p := &reParser{re: re, s: []rune(expr)}
	alts, err := p.alternation()
	if err == nil && p.i < len(p.s) {
		err = p.errorf("unexpected %q", p.s[p.i])
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: regex %q: %w", expr, err)
	}
	re.alts = simplifyAlts(alts)
	if err := checkRepeats(re.alts); err != nil {
		return nil, fmt.Errorf("tokenizer: regex %q: %w", expr, err)
	}
	if nullableAlts(re.alts) {
		return nil, fmt.Errorf("tokenizer: regex %q can match the empty string", expr)
	}
	return re, nil
}

func mustCompile(expr string) *regex {
	re, err := compileRegex(expr)
	if err != nil {
		panic(err)
	}
	return re
}

type reParser struct {
	re *regex
	s  []rune
	i  int
}

func (p *reParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at %d: "+format, append([]any{p.i}, args...)...)
}

func (p *reParser) peek() (rune, bool) {
	if p.i < len(p.s) {
		return p.s[p.i], true
	}
	return 0, false
}

func (p *reParser) alternation() ([][]*reNode, error) {
	var alts [][]*reNode
	for {
		seq, err := p.sequence()
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		if r, ok := p.peek(); !ok || r != '|' {
			return alts, nil
		}
		p.i++
	}
}

func (p *reParser) sequence() ([]*reNode, error) {
	var seq []*reNode
	for {
		r, ok := p.peek()
		if !ok || r == '|' || r == ')' {
			return seq, nil
		}
		n, err := p.atom()
		if err != nil {
			return nil, err
		}
		if err := p.quantifier(n); err != nil {
			return nil, err
		}
		seq = append(seq, n)
	}
}

func (p *reParser) atom() (*reNode, error) {
	r := p.s[p.i]
	switch r {
	case '(':
		p.i++
		op := reGroup
		if p.i < len(p.s) && p.s[p.i] == '?' {
			if p.i+1 >= len(p.s) {
				return nil, p.errorf("unterminated group")
			}
			switch p.s[p.i+1] {
			case ':':
			case '=':
				op = reLook
			case '!':
				op = reNegLook
			default:
				return nil, p.errorf("group (?%c is not supported", p.s[p.i+1])
			}
			p.i += 2
		}
		alts, err := p.alternation()
		if err != nil {
			return nil, err
		}
		if r, ok := p.peek(); !ok || r != ')' {
			return nil, p.errorf("missing )")
		}
		p.i++
		return &reNode{op: op, alts: alts, min: 1, max: 1}, nil
	case '[':
		c, err := p.class()
		if err != nil {
			return nil, err
		}
		return &reNode{op: reClassOp, cls: c, min: 1, max: 1}, nil
	case '$':
		p.i++
		return &reNode{op: reEnd, min: 1, max: 1}, nil
	case '.', '^', '*', '+', '?', '{', '}', ']':
		return nil, p.errorf("%q is not supported here", r)
	case '\\':
		c := &reClass{}
		if err := p.escape(c, false); err != nil {
			return nil, err
		}
		return &reNode{op: reClassOp, cls: c, min: 1, max: 1}, nil
	}
	p.i++
	c := &reClass{}
	if err := p.addRange(c, r, r); err != nil {
		return nil, err
	}
	return &reNode{op: reClassOp, cls: c, min: 1, max: 1}, nil
}

func (p *reParser) quantifier(n *reNode) error {
	r, ok := p.peek()
	if !ok {
		return nil
	}
	switch r {
	case '?':
		n.min, n.max = 0, 1
	case '*':
		n.min, n.max = 0, -1
	case '+':
		n.min, n.max = 1, -1
	case '{':
		j := p.i + 1
		num := func() (int, bool) {
			v, k := 0, j
			for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' && v < 1<<20 {
				v = v*10 + int(p.s[j]-'0')
				j++
			}
			return v, j > k
		}
		lo, ok := num()
		if !ok {
			return p.errorf("bad {}")
		}
		hi := lo
		if j < len(p.s) && p.s[j] == ',' {
			j++
			if hi, ok = num(); !ok {
				hi = -1
			}
		}
		if j >= len(p.s) || p.s[j] != '}' || (hi >= 0 && hi < lo) {
			return p.errorf("bad {}")
		}
		n.min, n.max = lo, hi
		p.i = j
	default:
		return nil
	}
	p.i++
	if n.op == reLook || n.op == reNegLook || n.op == reEnd {
		return p.errorf("quantified assertion")
	}
	if r, ok := p.peek(); ok && (r == '?' || r == '+' || r == '*' || r == '{') {
		return p.errorf("lazy or possessive quantifiers are not supported")
	}
	return nil
}

// class parses [...] at p.i.
func (p *reParser) class() (*reClass, error) {
	p.i++ // [
	c := &reClass{}
	if r, ok := p.peek(); ok && r == '^' {
		c.neg = true
		p.i++
	}
	first := true
	for {
		r, ok := p.peek()
		if !ok {
			return nil, p.errorf("missing ]")
		}
		if r == ']' && !first {
			p.i++
			return c, nil
		}
		first = false
		var lo rune
		if r == '\\' {
			// An escape is a single character unless it names a set.
			save := p.i
			p.i++
			e, ok := p.peek()
			if !ok {
				return nil, p.errorf("trailing \\")
			}
			if ch, single := escapeChar(e); single {
				p.i++
				lo = ch
			} else {
				p.i = save
				if err := p.escape(c, true); err != nil {
					return nil, err
				}
				continue
			}
		} else {
			p.i++
			lo = r
		}
		hi := lo
		if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
			p.i++
			h := p.s[p.i]
			p.i++
			if h == '\\' {
				e, ok := p.peek()
				ch, single := escapeChar(e)
				if !ok || !single {
					return nil, p.errorf("bad range end")
				}
				p.i++
				h = ch
			}
			hi = h
			if hi < lo {
				return nil, p.errorf("bad range %q-%q", lo, hi)
			}
		}
		if err := p.addRange(c, lo, hi); err != nil {
			return nil, err
		}
	}
}

// escapeChar returns the character an escape \e stands for, if it stands
// for one character.
func escapeChar(e rune) (rune, bool) {
	switch e {
	case 'r':
		return '\r', true
	case 'n':
		return '\n', true
	case 't':
		return '\t', true
	case 'v':
		return '\v', true
	case 'f':
		return '\f', true
	case 's', 'S', 'd', 'D', 'p', 'w', 'W', 'b', 'B':
		return 0, false
	}
	if e < utf8.RuneSelf && !('a' <= e && e <= 'z' || 'A' <= e && e <= 'Z' || '0' <= e && e <= '9') {
		return e, true // escaped punctuation
	}
	return 0, false
}

// escape adds the set an escape at p.i names to c. Inside a class, \S and
// \D can only be added to a class that is otherwise empty.
func (p *reParser) escape(c *reClass, inClass bool) error {
	p.i++ // backslash
	e, ok := p.peek()
	if !ok {
		return p.errorf("trailing \\")
	}
	p.i++
	if ch, single := escapeChar(e); single {
		return p.addRange(c, ch, ch)
	}
	switch e {
	case 's', 'd':
		set := asciiSpace
		if e == 'd' {
			set = "0123456789"
		}
		for _, r := range set {
			c.addASCII(r)
		}
		return nil
	case 'S', 'D':
		if inClass {
			return p.errorf("\\%c inside a class is not supported", e)
		}
		set := asciiSpace
		if e == 'D' {
			set = "0123456789"
		}
		for _, r := range set {
			c.addASCII(r)
		}
		c.neg = true
		return nil
	case 'p':
		j := p.i
		for j < len(p.s) && p.s[j] != '}' {
			j++
		}
		if p.i >= len(p.s) || p.s[p.i] != '{' || j >= len(p.s) {
			return p.errorf("bad \\p")
		}
		name := string(p.s[p.i+1 : j])
		kind, ok := categoryNames[name]
		if !ok {
			return p.errorf("\\p{%s} is not supported", name)
		}
		p.i = j + 1
		c.kinds |= kind
		for _, r := range categoryASCII[kind] {
			c.addASCII(r)
		}
		return nil
	}
	return p.errorf("\\%c is not supported", e)
}

func (p *reParser) addRange(c *reClass, lo, hi rune) error {
	for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
		c.addASCII(r)
	}
	if hi < utf8.RuneSelf {
		return nil
	}
	if p.re.collapsed {
		// llama.cpp refuses such expressions too.
		return p.errorf("a non-ASCII character in an expression with \\p{..}")
	}
	c.ranges = append(c.ranges, [2]rune{max(lo, utf8.RuneSelf), hi})
	return nil
}

// simplifyAlts folds what the matcher would do one code point at a time
// into classes: a group that is one class becomes that class (with the
// group's quantifier), "(?=[A])[B]" becomes the class of A and B, and a
// group matched exactly once with one alternative is spliced into its
// sequence.
func simplifyAlts(alts [][]*reNode) [][]*reNode {
	for i, seq := range alts {
		alts[i] = simplifySeq(seq)
	}
	return alts
}

func simplifySeq(seq []*reNode) []*reNode {
	var out []*reNode
	for _, n := range seq {
		if n.alts != nil {
			n.alts = simplifyAlts(n.alts)
		}
		if n.op == reGroup && len(n.alts) == 1 {
			a := n.alts[0]
			if c := singleClass(a); c != nil {
				n = &reNode{op: reClassOp, cls: c, min: n.min, max: n.max}
			} else if n.min == 1 && n.max == 1 {
				out = append(out, a...)
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// singleClass returns the class a sequence matches if it always matches
// exactly one code point of a class.
func singleClass(seq []*reNode) *reClass {
	switch {
	case len(seq) == 1 && seq[0].op == reClassOp && seq[0].min == 1 && seq[0].max == 1:
		return seq[0].cls
	case len(seq) == 2 && seq[0].op == reLook && len(seq[0].alts) == 1 && seq[1].op == reClassOp && seq[1].min == 1 && seq[1].max == 1:
		if look := singleClass(seq[0].alts[0]); look != nil {
			return intersect(seq[1].cls, look)
		}
	}
	return nil
}

// intersect returns the class of code points in both a and b.
func intersect(a, b *reClass) *reClass {
	c := *a
	if c.and == nil {
		c.and = b
	} else {
		c.and = intersect(c.and, b)
	}
	return &c
}

func nullableAlts(alts [][]*reNode) bool {
	for _, seq := range alts {
		if nullableSeq(seq) {
			return true
		}
	}
	return false
}

func nullableSeq(seq []*reNode) bool {
	for _, n := range seq {
		switch n.op {
		case reClassOp:
			if n.min > 0 {
				return false
			}
		case reGroup:
			if n.min > 0 && !nullableAlts(n.alts) {
				return false
			}
		}
	}
	return true
}

// checkRepeats refuses a repeated group that can match the empty string
// (ECMAScript stops such a repetition in a way the matcher does not model).
func checkRepeats(alts [][]*reNode) error {
	for _, seq := range alts {
		for _, n := range seq {
			if n.alts == nil {
				continue
			}
			if n.op == reGroup && n.max != 1 && nullableAlts(n.alts) {
				return fmt.Errorf("a repeated group can match the empty string")
			}
			if err := checkRepeats(n.alts); err != nil {
				return err
			}
		}
	}
	return nil
}

// reMatcher matches an expression against one piece of text.
type reMatcher struct {
	c []rune
	f []uint16
}

// matchAt returns the length of the match at c[i:] (0 if none).
func (re *regex) matchAt(c []rune, f []uint16, i int) int {
	m := reMatcher{c: c, f: f}
	end := -1
	m.alts(re.alts, i, func(p int) bool { end = p; return true })
	if end < 0 {
		return 0
	}
	return end - i
}

func (m *reMatcher) alts(alts [][]*reNode, pos int, k func(int) bool) bool {
	for _, seq := range alts {
		if m.seq(seq, pos, k) {
			return true
		}
	}
	return false
}

func (m *reMatcher) seq(seq []*reNode, pos int, k func(int) bool) bool {
	if len(seq) == 0 {
		return k(pos)
	}
	n, rest := seq[0], seq[1:]
	switch n.op {
	case reClassOp:
		lim := len(m.c) - pos
		if n.max >= 0 && n.max < lim {
			lim = n.max
		}
		j := 0
		for j < lim && n.cls.has(m.c[pos+j], m.f[pos+j]) {
			j++
		}
		for ; j >= n.min; j-- {
			if m.seq(rest, pos+j, k) {
				return true
			}
		}
		return false
	case reEnd:
		return pos == len(m.c) && m.seq(rest, pos, k)
	case reLook, reNegLook:
		found := m.alts(n.alts, pos, func(int) bool { return true })
		return found == (n.op == reLook) && m.seq(rest, pos, k)
	}
	return m.repeat(n, 0, pos, func(p int) bool { return m.seq(rest, p, k) })
}

// repeat matches group n, having matched it count times, greedily.
func (m *reMatcher) repeat(n *reNode, count, pos int, k func(int) bool) bool {
	if n.max < 0 || count < n.max {
		more := m.alts(n.alts, pos, func(p int) bool {
			return p != pos && m.repeat(n, count+1, p, k)
		})
		if more {
			return true
		}
	}
	return count >= n.min && k(pos)
}

// regexStage splits a piece into the expression's leftmost-first matches
// and the gaps between them, as llama.cpp's std::regex path does.
func regexStage(expr string) stage {
	re := mustCompile(expr)
	return matchStage(re.matchAt)
}
