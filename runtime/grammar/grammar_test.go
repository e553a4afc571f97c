package grammar

import (
	"errors"
	"strings"
	"testing"
)

// matches reports whether s is a complete string of g, and whether it is a
// prefix of one.
func matches(t testing.TB, g *Grammar, s string) (complete, prefix bool) {
	t.Helper()
	m, err := NewMatcher(g, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AcceptString(s); err != nil {
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("AcceptString(%q): %v", s, err)
		}
		return false, false
	}
	return m.Complete(), true
}

func mustParse(t testing.TB, src string) *Grammar {
	t.Helper()
	g, err := ParseGBNF(src)
	if err != nil {
		t.Fatalf("ParseGBNF(%q): %v", src, err)
	}
	return g
}

func TestGBNFMatch(t *testing.T) {
	cases := []struct {
		src       string
		pass      []string
		fail      []string // neither complete nor (if in prefixFail) a prefix
		prefixOK  []string // prefixes that are not complete
		prefixBad []string // not even prefixes
	}{
		{src: `root ::= "abc"`, pass: []string{"abc"}, prefixOK: []string{"", "a", "ab"}, prefixBad: []string{"b", "abcd", "abd"}},
		{src: `root ::= "a" | "bc" | ""`, pass: []string{"a", "bc", ""}, prefixOK: []string{"b"}, prefixBad: []string{"c", "ab"}},
		{src: "root ::= [a-z]+ [0-9]*", pass: []string{"a", "abc9", "z00"}, prefixOK: []string{""}, prefixBad: []string{"0", "a0a", "A"}},
		{src: "root ::= [^a-c]", pass: []string{"d", "é", "😀", "\n"}, prefixBad: []string{"a", "b", "c", "dd"}},
		{src: "root ::= .", pass: []string{"a", "é", "😀", "\x00"}, prefixBad: []string{"ab"}},
		{src: `root ::= "x"{3}`, pass: []string{"xxx"}, prefixOK: []string{"xx"}, prefixBad: []string{"xxxx"}},
		{src: `root ::= "x"{2,}`, pass: []string{"xx", "xxxxxxxx"}, prefixOK: []string{"x"}},
		{src: `root ::= "x"{1,3} "y"`, pass: []string{"xy", "xxy", "xxxy"}, prefixBad: []string{"y", "xxxxy"}},
		{src: `root ::= "x"{0,2}`, pass: []string{"", "x", "xx"}, prefixBad: []string{"xxx"}},
		{src: `root ::= ("ab" | "c")* "d"`, pass: []string{"d", "abd", "cabcd"}, prefixBad: []string{"ad", "bd"}},
		{src: `root ::= "a"? "b"+`, pass: []string{"b", "abbb"}, prefixBad: []string{"aa"}},
		{src: "root ::= item (\",\" item)*\nitem ::= [0-9]+ # a number\n", pass: []string{"1", "12,3,45"}, prefixBad: []string{",", "1,,"}},
		{src: "root ::= \"\\x41\\u00e9\\U0001F600\\t\\n\\\\\\\"\\[\\]\"", pass: []string{"Aé😀\t\n\\\"[]"}},
		{src: `root ::= [\x00-\x1F\u00e0-\u00ff]`, pass: []string{"\x00", "\x1f", "à", "ÿ"}, prefixBad: []string{" ", "ā"}},
		{src: "root ::= [a-]", pass: []string{"a", "-"}, prefixBad: []string{"b"}},
		{src: "root ::= (\n  \"a\"\n  | \"b\" # comment\n)\n", pass: []string{"a", "b"}},
		{src: "root ::= a b\na ::= | \"x\"\nb ::= \"y\"", pass: []string{"xy", "y"}},
		// right recursion stays flat: the call is in tail position
		{src: `root ::= "(" root ")" | ""`, pass: []string{"", "()", "((()))"}, prefixOK: []string{"(("}, prefixBad: []string{")", "())"}},
		{src: `root ::= "a" root | "b"`, pass: []string{"b", "aaab", strings.Repeat("a", 5000) + "b"}},
		// ambiguity: both alternatives alive
		{src: `root ::= "ab" "c" | "a" [b-z] "d"`, pass: []string{"abc", "abd", "acd"}, prefixBad: []string{"acc"}},
		// counted repetitions (above countFrom: run by a counter)
		{src: `root ::= "ab"{17,20}`, pass: []string{strings.Repeat("ab", 17), strings.Repeat("ab", 20)}, prefixOK: []string{strings.Repeat("ab", 16), "a"}, prefixBad: []string{strings.Repeat("ab", 21), "b"}},
		{src: `root ::= [a-c]{0,30} "x"`, pass: []string{"x", strings.Repeat("c", 30) + "x"}, prefixBad: []string{strings.Repeat("c", 31)}},
		{src: `root ::= ("a" | "bc"){18,} "!"`, pass: []string{strings.Repeat("bc", 18) + "!", strings.Repeat("a", 100) + "!"}, prefixOK: []string{strings.Repeat("a", 17)}, prefixBad: []string{strings.Repeat("a", 17) + "!"}},
		{src: `root ::= ("x"{17}){17}`, pass: []string{strings.Repeat("x", 289)}, prefixOK: []string{strings.Repeat("x", 288)}, prefixBad: []string{strings.Repeat("x", 290)}},
		{src: `root ::= ("x"{20} | "y"){0,25}`, pass: []string{"", "y", strings.Repeat("x", 20) + "y", strings.Repeat(strings.Repeat("x", 20), 25)}, prefixBad: []string{strings.Repeat(strings.Repeat("x", 20), 25) + "y", strings.Repeat("x", 19) + "y"}},
		{src: "root ::= item{17,18}\nitem ::= \"<\" item? \">\"", pass: []string{strings.Repeat("<>", 17), strings.Repeat("<<>>", 18)}, prefixBad: []string{strings.Repeat("<>", 19)}},
		// UTF-8 across ranges of different lengths
		{src: `root ::= [\u0070-\u0800\U00010000-\U00010001]`, pass: []string{"p", "߿", "ࠀ", "\U00010000", "\U00010001"}, prefixBad: []string{"o", "ࠁ", "\U00010002"}},
	}
	for _, c := range cases {
		g := mustParse(t, c.src)
		for _, s := range c.pass {
			if complete, _ := matches(t, g, s); !complete {
				t.Errorf("%q: %q does not match", c.src, s)
			}
		}
		for _, s := range c.prefixOK {
			if complete, prefix := matches(t, g, s); complete || !prefix {
				t.Errorf("%q: %q: complete %v prefix %v, want a prefix only", c.src, s, complete, prefix)
			}
		}
		for _, s := range c.prefixBad {
			if _, prefix := matches(t, g, s); prefix {
				t.Errorf("%q: %q is accepted as a prefix", c.src, s)
			}
		}
	}
}

// A multi-byte character split across AcceptString calls (as across tokens)
// matches like the whole character; invalid UTF-8 never does.
func TestPartialUTF8(t *testing.T) {
	g := mustParse(t, `root ::= [é😀]+`)
	m, err := NewMatcher(g, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"\xc3", "\xa9\xf0", "\x9f", "\x98", "\x80"} {
		if err := m.AcceptString(part); err != nil {
			t.Fatalf("%q: %v", part, err)
		}
		if part != "\x80" && part != "\xa9\xf0" && m.Complete() {
			// mid-character: never complete
		}
	}
	if !m.Complete() {
		t.Error("é😀 split over calls is not complete")
	}
	for _, bad := range []string{"\xc3\x28", "\xed\xa0\x80" /* surrogate */, "\xc0\x80" /* overlong */, "\xff"} {
		if _, prefix := matches(t, mustParse(t, "root ::= .*"), bad); prefix {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGBNFErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`root ::= "abc`, "unterminated string"},
		{`root ::= [abc`, "unterminated character class"},
		{`root ::= (abc`, "expecting )"},
		{`root ::= foo`, `rule "foo" is used but never defined`},
		{`foo ::= "x"`, "no rule named root"},
		{"root ::= \"a\"\nroot ::= \"b\"", "defined twice"},
		{`root ::= root "a"`, "left recursion: root -> root"},
		{"root ::= a\na ::= b? c\nb ::= \"x\"\nc ::= a \"y\"", "left recursion"},
		{`root ::= "a" root`, "can never end"},
		{`root ::= "x"{10001}`, "above the limit"},
		{`root ::= (((((("ab"){16}){16}){16}){16}){16})`, "states"},
		{`root ::= "x"{3,2}`, "below the minimum"},
		{`root ::= * "a"`, "no item before it"},
		{`root ::= "\q"`, "unknown escape"},
		{`root ::= "\xZZ"`, "hex digits"},
		{`root ::= "\UFFFFFFFF"`, "not a Unicode scalar"},
		{`root ::= [z-a]`, "backwards"},
		{`root = "a"`, "expecting ::="},
		{`root ::= "a" )`, "expecting a newline"},
		{"root ::= \"\xff\"", "invalid UTF-8"},
		{"root ::= " + strings.Repeat("(", 300) + `"a"` + strings.Repeat(")", 300), "nested deeper"},
	}
	for _, c := range cases {
		_, err := ParseGBNF(c.src)
		if err == nil {
			t.Errorf("%q: no error, want %q", c.src, c.want)
			continue
		}
		if !errors.Is(err, ErrGrammar) {
			t.Errorf("%q: %v does not wrap ErrGrammar", c.src, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, err, c.want)
		}
	}
	var se *SyntaxError
	if _, err := ParseGBNF("root ::= \"a\"\n  | [b\n"); !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("error %v: want a *SyntaxError on line 2", err)
	}
}
