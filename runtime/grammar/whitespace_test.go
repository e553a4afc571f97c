package grammar

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// maxWS is the longest whitespace the JSON grammars allow between two
// tokens: two newlines and 20 spaces or tabs (the ws rule of primitives,
// documented in doc.go and docs/serve.md).
const maxWS = 2 + 20

// wsRun returns the most whitespace bytes (space, tab, newline, carriage
// return) m accepts in a row from state s, or -1 if it accepts more than
// limit: a breadth-first walk over the states those bytes reach.
func wsRun(m *Matcher, s int32, limit int) int {
	cur := map[int32]bool{s: true}
	for n := 0; ; n++ {
		next := map[int32]bool{}
		for st := range cur {
			for _, b := range []byte(" \t\n\r") {
				if t := m.step(st, b); t != dead {
					next[t] = true
				}
			}
		}
		if len(next) == 0 {
			return n
		}
		if n == limit {
			return -1
		}
		cur = next
	}
}

// TestWhitespaceBounded: the grammars of JSON objects and JSON Schemas let
// a model write at most maxWS whitespace bytes between two tokens, and none
// after the text is complete, so a model cannot fill its token budget with
// newlines. Every position outside a string of random texts of each
// grammar is checked (inside strings, spaces are content), and the bound is
// reached somewhere (it is the documented one, not a smaller one).
func TestWhitespaceBounded(t *testing.T) {
	grammars := map[string]*Grammar{"JSONObject": JSONObject()}
	for _, s := range fuzzSchemaSeeds {
		if g, err := FromJSONSchema([]byte(s)); err == nil {
			grammars[s] = g
		}
	}
	longest := 0
	for name, g := range grammars {
		rng := rand.New(rand.NewPCG(uint64(len(name)), 11))
		for range 20 {
			text, complete, err := randomText(g, rng, 200)
			if errors.Is(err, ErrLimit) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: random walk: %v", name, err)
			}
			m, err := NewMatcher(g, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.start(); err != nil {
				t.Fatal(err)
			}
			inString, escaped := false, false
			for i := 0; i <= len(text); i++ {
				if !inString {
					n := wsRun(m, m.cur, 4*maxWS)
					if n < 0 || n > maxWS {
						t.Fatalf("%s: after %q the grammar allows %d whitespace bytes in a row (-1: unbounded), want at most %d", name, text[:i], n, maxWS)
					}
					longest = max(longest, n)
					if i == len(text) && complete && n != 0 {
						t.Errorf("%s: the complete text %q may go on with %d whitespace bytes", name, text, n)
					}
				}
				if i == len(text) {
					break
				}
				c := text[i]
				switch {
				case escaped:
					escaped = false
				case inString && c == '\\':
					escaped = true
				case c == '"':
					inString = !inString
				}
				if m.cur = m.step(m.cur, c); m.cur == dead {
					t.Fatalf("%s: the walked text %q is rejected at %d", name, text, i)
				}
			}
		}
	}
	if longest != maxWS {
		t.Errorf("the longest whitespace allowed anywhere is %d bytes, want %d", longest, maxWS)
	}

	// The shapes the bound allows and refuses, on any JSON object.
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"{ }", true},
		{"{  }", false},
		{"{\n\n" + strings.Repeat(" ", 20) + "}", true},
		{"{\n\n" + strings.Repeat(" ", 21) + "}", false},
		{"{\n\n\n}", false},
		{"{\r\n}", false},
		{`{"a":` + "\n\t\t" + `1 ,` + "\n  " + `"b": [ 1 ]}`, true},
		{`{"a":1} `, false},
		{` {"a":1}`, false},
	} {
		if complete, _ := matches(t, JSONObject(), c.text); complete != c.ok {
			t.Errorf("JSONObject accepts %q: %t, want %t", c.text, complete, c.ok)
		}
	}
}
