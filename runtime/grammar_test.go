package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edgeai-go/edgeai/internal/testutil"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
	"github.com/edgeai-go/edgeai/runtime/sample"
)

var grammarSweep = flag.Int("grammar-sweep", 0, "schema/seed cases per model in TestGrammarSchemaSweep (0: the CI size)")

// TestGrammarSchemaSweep generates with random JSON Schemas, seeds and
// temperatures on real models (stories260K: a 512-token SentencePiece
// vocabulary with byte fallback; the tiny Qwen2 of ../shared: a byte-level
// BPE vocabulary) and checks every output with an independent validator
// (santhosh-tekuri/jsonschema, formats asserted). Model quality does not
// matter: the grammar alone makes the output valid.
func TestGrammarSchemaSweep(t *testing.T) {
	models := []struct {
		name, path string
		cases      int
	}{
		{"stories260K", testutil.Stories(t), 250},
		{"tiny-qwen2", testutil.SharedPath(t, "testdata/qwen2/tiny-qwen2-Q8_0.gguf"), 60},
	}
	total := 0
	for _, mc := range models {
		t.Run(mc.name, func(t *testing.T) {
			if mc.name == "tiny-qwen2" && !testutil.HasShared(t, "testdata/qwen2/tiny-qwen2-Q8_0.gguf") {
				t.Skipf("needs ../shared/testdata/qwen2: %s", testutil.SharedHelp)
			}
			n := mc.cases
			if *grammarSweep > 0 {
				n = *grammarSweep
			}
			m, err := runtime.Load(context.Background(), mc.path, runtime.WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			stops := map[string]int{}
			for i := range n {
				stops[sweepCase(t, m, mc.name, uint64(i))]++
				total++
			}
			t.Logf("%s: %d cases validated (stop reasons %v)", mc.name, n, stops)
		})
	}
	t.Logf("%d generations validated", total)
}

func sweepCase(t *testing.T, m *runtime.Model, model string, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	schema := randRootSchema(rng)
	schemaJSON, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	g, err := grammar.FromJSONSchema(schemaJSON)
	if err != nil {
		t.Fatalf("%s case %d: schema %s: %v", model, seed, schemaJSON, err)
	}
	// a token budget that fits the shortest valid text, with room to spare
	mt, err := grammar.NewMatcher(g, nil, grammar.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := sample.DefaultParams()
	p.Seed = seed
	p.Temperature = []float32{0, 0.3, 0.8, 1, 1.5, 3}[rng.IntN(6)]
	p.TopK = []int{0, 5, 40}[rng.IntN(3)]
	p.TopP = []float32{1, 0.9}[rng.IntN(2)]
	opts := runtime.GenerateOptions{
		Grammar:       g,
		Sampling:      p,
		MaxTokens:     mt.Remaining() + 8 + rng.IntN(48),
		FinishGrammar: true,
	}
	var st runtime.Stats
	opts.Stats = &st
	prompt := []string{"Once upon a time", "Answer in JSON:", "{", "The list"}[rng.IntN(4)]
	var streamed strings.Builder
	for tok, err := range m.Generate(context.Background(), prompt, opts) {
		if err != nil {
			t.Fatalf("%s case %d: schema %s: %v (text so far %q)", model, seed, schemaJSON, err, streamed.String())
		}
		streamed.WriteString(tok.Text)
	}
	if streamed.String() != st.Text {
		t.Fatalf("streamed text %q != Stats.Text %q", streamed.String(), st.Text)
	}
	if !st.GrammarComplete || (st.StopReason != runtime.StopEOS && st.StopReason != runtime.StopLength) {
		t.Fatalf("%s case %d: schema %s: stop %q, complete %v after %d tokens (budget %d): %q",
			model, seed, schemaJSON, st.StopReason, st.GrammarComplete, st.GeneratedTokens, opts.MaxTokens, st.Text)
	}
	validate(t, schemaJSON, st.Text, fmt.Sprintf("%s case %d", model, seed))
	return st.StopReason
}

// validate checks text against schema with santhosh-tekuri/jsonschema.
func validate(t *testing.T, schema []byte, text, what string) {
	t.Helper()
	sv, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", sv); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("%s: the validator rejects the schema %s: %v", what, schema, err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%s: schema %s: output is not JSON: %v\n%q", what, schema, err, text)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("%s: schema %s: output does not validate: %v\n%q", what, schema, err, text)
	}
}

// Random schemas: the keywords FromJSONSchema supports, nested up to three
// levels, with $defs and recursive references.
type obj = map[string]any

func randRootSchema(rng *rand.Rand) obj {
	if rng.IntN(6) == 0 {
		// a recursive tree through $defs
		return obj{
			"$defs": obj{"node": obj{
				"type": "object",
				"properties": obj{
					"v":    randSchema(rng, 2),
					"kids": obj{"type": "array", "items": obj{"$ref": "#/$defs/node"}, "maxItems": rng.IntN(3)},
				},
				"required":             []string{"v"},
				"additionalProperties": false,
			}},
			"$ref": "#/$defs/node",
		}
	}
	if rng.IntN(5) == 0 {
		return obj{
			"definitions": obj{"item": randSchema(rng, 1)},
			"type":        "array",
			"items":       obj{"$ref": "#/definitions/item"},
			"maxItems":    1 + rng.IntN(3),
		}
	}
	s := randSchema(rng, 0)
	if rng.IntN(2) == 0 {
		s = randObject(rng, 0) // apps mostly ask for objects
	}
	return s
}

var propNames = []string{"name", "id", "age", "tags", "é", "a b", `q"uote`, "back\\slash", "nested", "x", "value", "日本"}

func randObject(rng *rand.Rand, depth int) obj {
	props := obj{}
	var req []string
	for _, i := range rng.Perm(len(propNames))[:rng.IntN(5)] {
		props[propNames[i]] = randSchema(rng, depth+1)
		if rng.IntN(2) == 0 {
			req = append(req, propNames[i])
		}
	}
	s := obj{"type": "object", "properties": props}
	if len(req) > 0 {
		s["required"] = req
	}
	switch rng.IntN(5) {
	case 0:
		s["additionalProperties"] = false
	case 1:
		s["additionalProperties"] = obj{"type": "integer", "minimum": 0, "maximum": 9}
	case 2:
		s["additionalProperties"] = true
	}
	if rng.IntN(6) == 0 {
		// allOf of mergeable parts
		extra := obj{"properties": obj{"extra": obj{"type": "boolean"}}, "required": []string{"extra"}}
		if s["additionalProperties"] != nil && s["additionalProperties"] != true {
			delete(s, "additionalProperties")
		}
		return obj{"allOf": []any{s, extra}}
	}
	return s
}

func randSchema(rng *rand.Rand, depth int) obj {
	k := rng.IntN(16)
	if depth >= 3 && k >= 11 {
		k = rng.IntN(11)
	}
	switch k {
	case 0, 1:
		s := obj{"type": "string"}
		if rng.IntN(2) == 0 {
			s["maxLength"] = rng.IntN(10)
			if rng.IntN(2) == 0 {
				s["minLength"] = rng.IntN(s["maxLength"].(int) + 1)
			}
		} else if rng.IntN(2) == 0 {
			s["minLength"] = rng.IntN(4)
		}
		return s
	case 2:
		return obj{"type": "string", "format": []string{"date", "time", "date-time", "uuid"}[rng.IntN(4)]}
	case 3:
		return obj{"type": "string", "pattern": []string{`^[a-z]{2,5}$`, `^\d{3}-\d{4}$`, `ab`, `^(foo|bar)+$`, `^[A-Z][a-z]*!?$`, `x\d`, `^[^"\\]{1,4}$`, `^a.c$`, `^(?i:yes|no)$`, `^\w+@\w+\.com$`}[rng.IntN(10)]}
	case 4:
		s := obj{"type": "integer"}
		lo := rng.IntN(2000) - 1000
		switch rng.IntN(4) {
		case 0:
			s["minimum"] = lo
		case 1:
			s["maximum"] = lo
		case 2:
			s["minimum"], s["maximum"] = lo, lo+rng.IntN(300)
		case 3:
			s["exclusiveMinimum"], s["exclusiveMaximum"] = lo, lo+2+rng.IntN(50)
		}
		return s
	case 5:
		s := obj{"type": "number"}
		switch rng.IntN(3) {
		case 0:
			s["minimum"] = float64(rng.IntN(100)) - 50.5
		case 1:
			s["minimum"], s["maximum"] = -3, 2.5
		}
		return s
	case 6:
		return obj{"type": []string{"boolean", "null", "integer"}[rng.IntN(3)]}
	case 7:
		vals := []any{"red", "green", "é\"x", 3, 2.5, true, nil, "line\nbreak", []any{1, "a"}, obj{"k": "v"}}
		if rng.IntN(3) == 0 {
			return obj{"const": vals[rng.IntN(len(vals))]}
		}
		var e []any
		for _, i := range rng.Perm(len(vals))[:1+rng.IntN(4)] {
			e = append(e, vals[i])
		}
		return obj{"enum": e}
	case 8:
		return obj{"type": []string{"string", "null"}, "maxLength": 6}
	case 9:
		// disjoint alternatives, so oneOf (read as anyOf) stays exact
		alts := []any{obj{"type": "string", "maxLength": 5}, obj{"type": "integer"}, obj{"type": "null"}, obj{"type": "boolean"}}
		rng.Shuffle(len(alts), func(i, j int) { alts[i], alts[j] = alts[j], alts[i] })
		return obj{[]string{"anyOf", "oneOf"}[rng.IntN(2)]: alts[:2+rng.IntN(2)]}
	case 10:
		return obj{}
	case 11, 12:
		s := obj{"type": "array", "items": randSchema(rng, depth+1)}
		lo := rng.IntN(3)
		if rng.IntN(3) > 0 {
			s["minItems"] = lo
		}
		if rng.IntN(3) > 0 {
			s["maxItems"] = lo + rng.IntN(4)
		}
		return s
	case 13:
		s := obj{"type": "array", "prefixItems": []any{randSchema(rng, depth+1), randSchema(rng, depth+1)}}
		if rng.IntN(2) == 0 {
			s["items"] = false
		}
		return s
	default:
		return randObject(rng, depth)
	}
}

// After a prompt that is BOS alone, SentencePiece drops the first space of
// the text: the grammar must see the text the caller gets.
func TestGrammarAfterBOS(t *testing.T) {
	m, err := runtime.Load(context.Background(), testutil.Stories(t), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bos := m.Tokenizer().BOS()
	for _, src := range []string{`root ::= [a-z]+ " " [a-z]+ "."`, `root ::= " "? [a-z]+`, `root ::= [A-Z] [a-z ]{3,30} "."`} {
		g, err := grammar.ParseGBNF(src)
		if err != nil {
			t.Fatal(err)
		}
		for seed := range uint64(20) {
			p := sample.DefaultParams()
			p.Seed = seed
			var st runtime.Stats
			var streamed strings.Builder
			for tok, err := range m.GenerateTokens(context.Background(), []int{bos}, runtime.GenerateOptions{Grammar: g, Sampling: p, MaxTokens: 40, FinishGrammar: true, Stats: &st}) {
				if err != nil {
					t.Fatalf("%s seed %d: %v", src, seed, err)
				}
				streamed.WriteString(tok.Text)
			}
			mt, _ := grammar.NewMatcher(g, nil, grammar.Options{})
			if err := mt.AcceptString(st.Text); err != nil || !mt.Complete() || !st.GrammarComplete || st.Text != streamed.String() {
				t.Fatalf("%s seed %d: text %q (streamed %q) does not match: %v", src, seed, st.Text, streamed.String(), err)
			}
		}
	}
	// the stream never starts with a space there: a grammar that needs one
	// is a clear error
	g, _ := grammar.ParseGBNF(`root ::= " " [a-z]+`)
	var gerr error
	for _, err := range m.GenerateTokens(context.Background(), []int{bos}, runtime.GenerateOptions{Grammar: g, MaxTokens: 5}) {
		gerr = err
	}
	if !errors.Is(gerr, grammar.ErrNoToken) {
		t.Errorf("leading space after BOS: %v, want ErrNoToken", gerr)
	}
}

// End-of-generation tokens end the text only where it is complete; a
// grammar that cannot be completed by the vocabulary is an error, not a
// hang.
func TestGrammarEOS(t *testing.T) {
	m, err := runtime.Load(context.Background(), testutil.Stories(t), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// "a"+ can go on forever: the model must choose EOS, which it may only
	// do after at least one "a"
	g, _ := grammar.ParseGBNF(`root ::= "a"+`)
	for seed := range uint64(10) {
		p := sample.DefaultParams()
		p.Seed, p.Temperature = seed, 2
		var st runtime.Stats
		for _, err := range m.Generate(context.Background(), "Once", runtime.GenerateOptions{Grammar: g, Sampling: p, MaxTokens: 30, Stats: &st}) {
			if err != nil {
				t.Fatal(err)
			}
		}
		if strings.Trim(st.Text, "a") != "" || st.Text == "" || (st.StopReason == runtime.StopEOS) != st.GrammarComplete && st.StopReason != runtime.StopLength {
			t.Fatalf("seed %d: %q stop %s complete %v", seed, st.Text, st.StopReason, st.GrammarComplete)
		}
	}
	// IgnoreEOS: EOS is never drawn, the limit ends the text
	var st runtime.Stats
	for _, err := range m.Generate(context.Background(), "Once", runtime.GenerateOptions{Grammar: g, MaxTokens: 12, IgnoreEOS: true, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st.StopReason != runtime.StopLength || st.GeneratedTokens != 12 || strings.Trim(st.Text, "a") != "" {
		t.Errorf("IgnoreEOS: %q stop %s after %d tokens", st.Text, st.StopReason, st.GeneratedTokens)
	}
	// a character no token spells: a clear error
	g, _ = grammar.ParseGBNF(`root ::= "a" [\U0001F600-\U0001F64F]`)
	var gerr error
	for _, err := range m.Generate(context.Background(), "Once", runtime.GenerateOptions{Grammar: g, MaxTokens: 10}) {
		gerr = err
	}
	if gerr != nil {
		t.Logf("emoji with stories' byte fallback: %v", gerr)
	}
	g, _ = grammar.ParseGBNF(`root ::= "a" <[1]>`) // BOS as a token element: allowed, then complete
	st = runtime.Stats{}
	for _, err := range m.Generate(context.Background(), "Once", runtime.GenerateOptions{Grammar: g, MaxTokens: 10, Stats: &st}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st.Text != "a" || !st.GrammarComplete || st.GeneratedTokens != 2 {
		t.Errorf("token element: %q complete %v tokens %d stop %s", st.Text, st.GrammarComplete, st.GeneratedTokens, st.StopReason)
	}
}

// A Grammar and the model's grammar vocabulary are shared by concurrent
// generations (go test -race).
func TestGrammarConcurrent(t *testing.T) {
	m, err := runtime.Load(context.Background(), testutil.Stories(t), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	g := grammar.JSONObject()
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			p := sample.DefaultParams()
			p.Seed = uint64(i)
			var st runtime.Stats
			for _, err := range m.Generate(context.Background(), "Once", runtime.GenerateOptions{Grammar: g, Sampling: p, MaxTokens: 60, FinishGrammar: true, Stats: &st}) {
				if err != nil {
					errs <- err
					return
				}
			}
			if !json.Valid([]byte(st.Text)) {
				errs <- fmt.Errorf("seed %d: %q is not JSON", i, st.Text)
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
