package grammar

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// byteVocab is a vocabulary of every single byte plus a few multi-byte
// tokens (whole and partial UTF-8 characters, JSON punctuation), for
// random walks through a grammar without a model.
var byteVocab = sync.OnceValue(func() *Vocab {
	var texts []string
	for b := range 256 {
		texts = append(texts, string([]byte{byte(b)}))
	}
	texts = append(texts, `"`, `":`, `",`, `"}`, `{"`, "true", "null", "é", "日本", "\xe6\x97", "😀", "\\u00e9", "  ", "\n  ", "12", "-0.5", "2024-", "\xc3", "")
	return newVocab(texts, []int{len(texts) - 1}, nil, false)
})

// randomText walks g with random allowed tokens of byteVocab and returns
// the text, complete unless the walk failed. The token budget steers it to
// completion (MaskWithin).
func randomText(g *Grammar, rng *rand.Rand, budget int) (string, bool, error) {
	v := byteVocab()
	m, err := NewMatcher(g, v, Options{})
	if err != nil {
		return "", false, err
	}
	mask := make([]uint64, v.Words())
	var b strings.Builder
	for left := budget; left > 0 && !m.Done(); left-- {
		if err := m.MaskWithin(mask, left); err != nil {
			return b.String(), false, err
		}
		var allowed []int
		for id := range v.size {
			if hasBit(mask, id) {
				allowed = append(allowed, id)
			}
		}
		id := allowed[rng.IntN(len(allowed))]
		if m.Complete() && rng.IntN(4) == 0 && hasBit(mask, v.size-1) {
			id = v.size - 1 // stop where the text is complete
		}
		if err := m.Accept(id); err != nil {
			return b.String(), false, err
		}
		if hasBit(v.eog, id) {
			break
		}
		b.WriteString(v.text[id])
	}
	return b.String(), m.Complete(), nil
}

// FuzzParseGBNF feeds arbitrary sources to the GBNF parser: errors must
// wrap ErrGrammar, never panic, and a grammar that compiles must run.
func FuzzParseGBNF(f *testing.F) {
	for _, s := range []string{
		`root ::= "a"`,
		"root ::= [a-z]+ (\",\" [0-9]{2,4})* # c\n",
		`root ::= "(" root ")" | ""`,
		"root ::= x{17,30} y?\nx ::= [^\\x00-\\x1F\"] | \"\\\\\" [nt]\ny ::= .",
		`root ::= <[3]> !<[4]>* "\U0001F600"`,
		"root ::= (\n \"a\" |\n \"b\"\n)+\n",
		`root ::= root`,
		`root ::= "x"{10001}`,
		`root ::= ("a"|"a")*`,
		"root ::= a\na ::= b\nb ::= \"\"",
	} {
		f.Add(s)
	}
	for _, p := range primitives {
		f.Add("root ::= " + p.name + "\n" + p.name + " ::= " + p.body + "\n")
	}
	f.Fuzz(func(t *testing.T, src string) {
		g, err := ParseGBNF(src)
		if err != nil {
			if !errors.Is(err, ErrGrammar) {
				t.Fatalf("error %v does not wrap ErrGrammar", err)
			}
			return
		}
		if g.String() != src {
			t.Fatal("String() is not the source")
		}
		rng := rand.New(rand.NewPCG(uint64(len(src)), 1))
		text, _, err := randomText(g, rng, 40)
		if err != nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrGrammar) {
			t.Fatalf("random walk: %v", err)
		}
		// the text walked is accepted again as a string (token elements
		// match tokens, not bytes)
		if err == nil && len(g.prog.toks) == 0 {
			m, err := NewMatcher(g, byteVocab(), Options{})
			if err == nil {
				if err := m.AcceptString(text); err != nil && !errors.Is(err, ErrLimit) {
					t.Fatalf("walked text %q rejected: %v", text, err)
				}
			}
		}
	})
}

// FuzzJSONSchema feeds arbitrary schemas to the converter: errors must wrap
// ErrSchema, the GBNF it writes must compile, and a random text of the
// grammar must be JSON that an independent validator accepts.
func FuzzJSONSchema(f *testing.F) {
	for _, s := range fuzzSchemaSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		checkSchema(t, schema, 3)
	})
}

var fuzzSchemaSeeds = []string{
	`{"type":"object"}`,
	`{"type":"object","properties":{"a":{"type":"string","maxLength":20},"b":{"type":"integer","minimum":-5,"maximum":300}},"required":["b"]}`,
	`{"type":"array","items":{"enum":[1,"x",null,{"k":[true]}]},"minItems":1,"maxItems":3}`,
	`{"anyOf":[{"type":"string","format":"date"},{"type":"string","format":"time"},{"type":"string","format":"date-time"},{"type":"string","format":"uuid"}]}`,
	`{"$defs":{"n":{"type":"object","properties":{"v":{"type":"number"},"k":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v"],"additionalProperties":false}},"$ref":"#/$defs/n"}`,
	`{"type":"string","pattern":"^[a-z]{2,5}\\d?$"}`,
	`{"type":"string","pattern":"ab|c+"}`,
	`{"type":["string","null"],"minLength":2,"maxLength":4}`,
	`{"allOf":[{"type":"object","properties":{"a":{"type":"integer"}}},{"properties":{"b":{"const":"x"}},"required":["b"]}]}`,
	`{"type":"object","properties":{"a":{"type":"boolean"}},"additionalProperties":{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}}`,
	`{"prefixItems":[{"type":"integer"},{"type":"string"}],"items":false}`,
	`{"type":"number","minimum":-2.5,"maximum":3.25}`,
	`{"oneOf":[{"type":"integer"},{"type":"boolean"}]}`,
	`{"type":"string","minLength":17,"maxLength":40}`,
	`{"enum":["a\"b","\\","\u00e9","\n"]}`,
	`true`,
	`{"type":"object","properties":{"é":{},"a b":{"type":"null"}},"required":["é"]}`,
}

// checkSchema converts schema and, when it converts, validates random texts
// of its grammar against it.
func checkSchema(t *testing.T, schema []byte, texts int) {
	t.Helper()
	src, err := SchemaGBNF(schema)
	if err != nil {
		if !errors.Is(err, ErrSchema) {
			t.Fatalf("error %v does not wrap ErrSchema", err)
		}
		var ue *UnsupportedError
		if errors.As(err, &ue) && len(ue.Keywords) == 0 {
			t.Fatal("UnsupportedError without keywords")
		}
		return
	}
	g, err := ParseGBNF(src)
	if err != nil {
		if errors.Is(err, ErrGrammar) && strings.Contains(err.Error(), "left recursion") || strings.Contains(err.Error(), "never end") {
			return // a recursive schema with no base case: FromJSONSchema reports it
		}
		t.Fatalf("schema %s: the converter wrote GBNF that does not compile: %v\n%s", schema, err, src)
	}
	// oneOf is enforced as anyOf (documented): validate with that meaning
	sv, err := jsonschema.UnmarshalJSON(bytes.NewReader(bytes.ReplaceAll(schema, []byte(`"oneOf"`), []byte(`"anyOf"`))))
	if err != nil {
		return
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if c.AddResource("schema.json", sv) != nil {
		return
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		return // the validator refuses the schema (e.g. a keyword of the wrong type)
	}
	rng := rand.New(rand.NewPCG(uint64(len(schema)), 7))
	for range texts {
		text, complete, err := randomText(g, rng, 300)
		if err != nil {
			if errors.Is(err, ErrLimit) {
				continue
			}
			t.Fatalf("schema %s: random walk: %v (text %q)", schema, err, text)
		}
		if !complete {
			continue // the budget was too small for this grammar
		}
		if !utf8.ValidString(text) {
			t.Fatalf("schema %s: invalid UTF-8 %q", schema, text)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
		if err != nil {
			t.Fatalf("schema %s: %q is not JSON: %v\n%s", schema, text, err, src)
		}
		if err := sch.Validate(inst); err != nil {
			t.Fatalf("schema %s: %q does not validate: %v\n%s", schema, text, err, src)
		}
	}
}

// TestSchemaSeeds runs the fuzz seeds with more random texts each.
func TestSchemaSeeds(t *testing.T) {
	for _, s := range fuzzSchemaSeeds {
		checkSchema(t, []byte(s), 20)
	}
}
