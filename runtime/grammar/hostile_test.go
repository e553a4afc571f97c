package grammar

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Hostile grammars and schemas get a clear error, in bounded time and
// memory (these tests would hang or run out of memory otherwise).
func TestHostileGrammars(t *testing.T) {
	// a chain of 20,000 rules: compiles (no recursion limit in the checks)
	var b strings.Builder
	b.WriteString("root ::= r0\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "r%d ::= \"x\" r%d\n", i, i+1)
	}
	b.WriteString("r20000 ::= \"y\"\n")
	if _, err := ParseGBNF(b.String()); err != nil {
		t.Errorf("rule chain: %v", err)
	}
	// ... and a left-recursive cycle through all of them
	b.Reset()
	b.WriteString("root ::= r0\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "r%d ::= r%d \"x\"\n", i, (i+1)%20000)
	}
	if _, err := ParseGBNF(b.String()); err == nil || !strings.Contains(err.Error(), "left recursion") {
		t.Errorf("long left-recursive cycle: %v", err)
	}
	for _, c := range []struct{ src, want string }{
		{`root ::= "a"{1000000}`, "above the limit"},
		{`root ::= ("ab"{16}){16}{16}{16}{16}`, "states"},
		{"root ::= " + strings.Repeat("(", 10000) + `"a"` + strings.Repeat(")", 10000), "nested deeper"},
		{"root ::= x\nx ::= y? x \"a\"\ny ::= \"\"", "left recursion"},
		{strings.Repeat("x", MaxSource+1), "bytes, more than"},
	} {
		if _, err := ParseGBNF(c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60q: %v, want %q", c.src, err, c.want)
		}
	}
}

// An ambiguous grammar whose parse stacks grow with the input stops with
// ErrLimit.
func TestStackExplosion(t *testing.T) {
	g := mustParse(t, "root ::= s\ns ::= \"a\" s \"b\" | \"a\" s | \"\"")
	m, err := NewMatcher(g, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for range MaxStacks + 10 {
		if last = m.AcceptString("a"); last != nil {
			break
		}
	}
	if !errors.Is(last, ErrLimit) {
		t.Fatalf("after %d a's: %v, want ErrLimit", MaxStacks+10, last)
	}
	// the error sticks
	if err := m.AcceptString("b"); !errors.Is(err, ErrLimit) {
		t.Errorf("after the limit: %v", err)
	}
	// exponential ambiguity in one closure
	g = mustParse(t, "root ::= "+strings.Repeat(`( "a" | "a" "" | "" "a" )`, 14)+" x\nx ::= \"b\"")
	m, err = NewMatcher(g, nil, Options{})
	if err == nil {
		err = m.AcceptString(strings.Repeat("a", 14) + "b")
	}
	if err != nil && !errors.Is(err, ErrLimit) {
		t.Errorf("ambiguous alternatives: %v", err)
	}
}

// Nesting deeper than MaxDepth is not offered: the text is rejected, the
// matcher does not grow without bound.
func TestDepthLimit(t *testing.T) {
	g := JSONObject()
	m, err := NewMatcher(g, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AcceptString(`{"a":`); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < 2*MaxDepth; n++ {
		if err := m.AcceptString("["); err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatal(err)
			}
			break
		}
	}
	if n == 2*MaxDepth || n < 100 {
		t.Errorf("nesting stopped after %d arrays", n)
	}
	// closing what was opened is still possible
	if err := m.AcceptString(strings.Repeat("]", n) + "}"); err != nil || !m.Done() {
		t.Errorf("closing: %v, done %v", err, m.Done())
	}
}

func TestHostileSchemas(t *testing.T) {
	deep := strings.Repeat(`{"type":"array","items":`, 200) + "{}" + strings.Repeat("}", 200)
	for _, c := range []struct{ schema, want string }{
		{deep, "nested deeper"},
		{`{"$ref":"#"}`, "leads back to itself"},
		{`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`, "leads back to itself"},
		{`{"type":"object","properties":{"a":{"$ref":"#"}},"required":["a"]}`, "never end"},
		{`{"anyOf":[{"$ref":"#"},{"type":"null"}]}`, "left recursion"},
		{`{"type":"string","maxLength":1000000000}`, "above the limit"},
		{`{"type":"array","minItems":20000}`, "above the limit"},
		{`{"type":"integer","minimum":1e300}`, "beyond 16 digits"},
		{`{"$ref":"https://example.com/s.json"}`, "only local references"},
		{`{"$ref":"#/$defs/missing"}`, "points to nothing"},
		{`{"type":"string","pattern":"(a)\\1"}`, "pattern"},
		{`{"type":"string","pattern":"(?=a)"}`, "pattern"},
		{`{"type":"string","pattern":"a{2000000}"}`, "pattern"},
		{`{"allOf":[{"type":"string"},{"type":"integer"}]}`, "types do not overlap"},
		{`{"type":"integer","minimum":5,"maximum":4}`, "between the minimum and the maximum"},
		{`{"type":"strin"}`, `unknown type "strin"`},
		{`{"type":"object","properties":{"a":false},"required":["a"]}`, "schema is false"},
		{`{"enum":[]}`, "non-empty array"},
		{`false`, "matches no value"},
		{`{"type":"object"} {}`, "after the JSON value"},
		{strings.Repeat(" ", MaxSchemaBytes+1), "more than"},
	} {
		_, err := FromJSONSchema([]byte(c.schema))
		if err == nil || !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.70s: %v, want %q", c.schema, err, c.want)
		}
	}
	// a huge enum compiles (or fails clearly), without blowing up
	var b strings.Builder
	b.WriteString(`{"enum":[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"value-%d"`, i)
	}
	b.WriteString("]}")
	if _, err := FromJSONSchema([]byte(b.String())); err != nil && !errors.Is(err, ErrSchema) {
		t.Errorf("huge enum: %v", err)
	}
}

// Property names that sanitize to nothing or to a primitive's name do not
// clash with the grammar's own rules.
func TestSchemaRuleNames(t *testing.T) {
	for _, s := range []string{
		`{"type":"object","properties":{"":{"type":"string","maxLength":3},"root":{"type":"integer","maximum":5},"ws":{"enum":[1,2]},"json-string":{"type":"string","minLength":1}},"required":["","root","ws","json-string"]}`,
		`{"type":"object","properties":{"日本":{"type":"string","maxLength":2},"!!":{"type":"string","maxLength":2}},"required":["日本","!!"]}`,
	} {
		checkSchema(t, []byte(s), 10)
		if _, err := FromJSONSchema([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
