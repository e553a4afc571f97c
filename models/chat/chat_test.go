package chat

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// realTemplate is a model's template with Python jinja2's renderings of
// goldenConversations (see realtemplates_data_test.go).
type realTemplate struct {
	name, tmpl, bos, eos, family string
	want                         []string
	toolWant                     []string // renderings of toolConversations; "\x00error: ..." when the template raises
}

// toolConversation is a conversation with tools, tool calls, reasoning or
// the thinking switch (see testdata/gen_goldens.py).
type toolConversation struct {
	msgs     []Message
	gen      bool
	tools    bool
	thinking *bool
}

var yes, no = true, false

func (c toolConversation) options(r realTemplate) Options {
	o := Options{BOS: r.bos, EOS: r.eos, AddGenerationPrompt: c.gen, EnableThinking: c.thinking}
	if c.tools {
		o.Tools = []byte(toolsJSON)
	}
	return o
}

// goldenConversations are the conversations of testdata/gen_goldens.py.
var goldenConversations = []struct {
	msgs []Message
	gen  bool
}{
	{llamaCppConversation, true},
	{llamaCppConversation[1:4], false},
	{[]Message{{Role: "user", Content: " What is 2+2? "}}, true},
	{[]Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}, true},
}

// TestRealTemplates checks Detect on real model templates and Apply
// against Python jinja2's renderings with Hugging Face's settings.
func TestRealTemplates(t *testing.T) {
	for _, c := range realTemplates {
		tm, err := Detect(c.tmpl)
		if err != nil {
			t.Errorf("%s: Detect: %v", c.name, err)
			continue
		}
		if tm.Name != c.family {
			t.Errorf("%s: detected as %q, want %q", c.name, tm.Name, c.family)
		}
		for i, conv := range goldenConversations {
			got, err := tm.Apply(conv.msgs, Options{BOS: c.bos, EOS: c.eos, AddGenerationPrompt: conv.gen})
			if err != nil {
				t.Errorf("%s conversation %d: %v", c.name, i, err)
				continue
			}
			if got != c.want[i] {
				t.Errorf("%s conversation %d:\n got %q\nwant %q", c.name, i, got, c.want[i])
			}
		}
		// A turn ends with a stop string, or with the model's EOS token.
		if len(tm.StopStrings()) == 0 && !strings.Contains(c.want[1], "Hi there "+c.eos) {
			t.Errorf("%s: no stop strings", c.name)
		}
	}
}

func findReal(t *testing.T, name string) realTemplate {
	t.Helper()
	for _, c := range realTemplates {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no real template %s", name)
	return realTemplate{}
}

// TestNamed checks each built-in template against a real model template's
// rendering of the golden conversations (those its format shares: a named
// template has no model-specific default system prompt).
func TestNamed(t *testing.T) {
	for _, c := range []struct {
		name  string
		model string
		convs []int // which golden conversations to compare
	}{
		{"llama2", "meta-llama/Llama-2-7b-chat-hf", []int{0, 1, 2, 3}},
		{"llama3", "meta-llama/Meta-Llama-3-8B-Instruct", []int{0, 1, 2, 3}},
		{"llama3.1", "meta-llama/Llama-3.2-3B-Instruct", []int{0, 1, 2, 3}},
		{"phi3", "microsoft/Phi-3-mini-4k-instruct", []int{0, 1, 2, 3}},
		{"gemma", "google/gemma-3-1b-it", []int{0, 1, 2, 3}},
		{"gemma", "google/gemma-2-2b-it", []int{1, 2}}, // Gemma 2 has no system role
		{"zephyr", "HuggingFaceH4/zephyr-7b-beta", []int{0, 1, 2, 3}},
		{"mistral", "mistralai/Mixtral-8x7B-Instruct-v0.1", []int{0, 1, 2, 3}},
		{"chatml", "Qwen/Qwen2.5-7B-Instruct", []int{0, 3}}, // those with a system message
	} {
		tm, err := Named(c.name)
		if err != nil {
			t.Fatal(err)
		}
		real := findReal(t, c.model)
		for _, i := range c.convs {
			conv := goldenConversations[i]
			got, err := tm.Apply(conv.msgs, Options{BOS: real.bos, EOS: real.eos, AddGenerationPrompt: conv.gen})
			if err != nil || got != real.want[i] {
				t.Errorf("Named(%q) vs %s conversation %d:\n got %q, %v\nwant %q", c.name, c.model, i, got, err, real.want[i])
			}
		}
	}
	// The llama.cpp goldens of the families.
	for _, c := range llamaCppCases {
		if c.family == "jinja" {
			continue
		}
		tm, err := Named(c.family)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tm.Apply(llamaCppConversation, Options{BOS: c.bos, EOS: c.eos, AddGenerationPrompt: true})
		if c.family == "gemma" { // Named("gemma") is Gemma 3's: system merged with "\n\n", with bos
			c.want = strings.Replace(c.want, "assistant\nHello", "assistant\n\nHello", 1)
		}
		if err != nil || got != c.want {
			t.Errorf("Named(%q) vs llama.cpp's %s:\n got %q, %v\nwant %q", c.family, c.name, got, err, c.want)
		}
	}
}

func TestNamedUnknown(t *testing.T) {
	_, err := Named("chatgpt")
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("Named(chatgpt) = %v", err)
	}
	for _, n := range []string{"chatml", "llama2", "llama3", "mistral", "phi3", "gemma", "zephyr"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
		if !slices.Contains(Names(), n) {
			t.Errorf("Names() lacks %s", n)
		}
		if _, err := Named(n); err != nil {
			t.Errorf("Named(%s): %v", n, err)
		}
	}
}

func TestDetectUnknown(t *testing.T) {
	for _, src := range []string{
		"",
		"   \n",
		"{% for m in messages %}{{ m.content }", // unclosed tag
		"{% if x %}never closed",                // unclosed block
		"{{ guideline + messages[0].content }}", // needs a variable we do not have
		"{% for m in messages %}{% endfor %}",   // renders nothing of the messages
		"{% raw %}{{ x }}{% endraw %}",          // unsupported
		"{{ raise_exception('this template only works with tools') }}", // rejects every conversation
		"{{ messages | unknown_filter }}",
	} {
		_, err := Detect(src)
		if !errors.Is(err, ErrUnknownTemplate) {
			t.Errorf("Detect(%q) = %v, want ErrUnknownTemplate", src, err)
			continue
		}
		if !strings.Contains(err.Error(), "--chat-template") || !strings.Contains(err.Error(), "chatml") {
			t.Errorf("Detect(%q) error lacks advice: %v", src, err)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	for _, n := range []string{"llama2", "mistral", "mistral-v3", "gemma"} {
		tm, _ := Named(n)
		_, err := tm.Apply([]Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}}, Options{})
		if !errors.Is(err, ErrMessages) {
			t.Errorf("%s: non-alternating roles: %v", n, err)
		}
	}
	tm, _ := Named("chatml")
	if _, err := tm.Apply(nil, Options{}); !errors.Is(err, ErrMessages) {
		t.Errorf("no messages: %v", err)
	}
	var zero Template
	if _, err := zero.Apply([]Message{{Role: "user", Content: "x"}}, Options{}); err == nil {
		t.Error("zero Template applied")
	}
}

func TestStopStrings(t *testing.T) {
	for name, want := range map[string]string{
		"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "llama3.1": "<|eot_id|>", "phi3": "<|end|>",
		"gemma": "<end_of_turn>", "zephyr": "</s>", "llama2": "</s>", "mistral": "</s>",
	} {
		tm, _ := Named(name)
		if !slices.Contains(tm.StopStrings(), want) {
			t.Errorf("%s stop strings %q lack %q", name, tm.StopStrings(), want)
		}
	}
	// A template run by the interpreter: its end-of-turn text is found.
	for _, c := range []struct{ name, want string }{
		{"CohereForAI/c4ai-command-r-plus", "<|END_OF_TURN_TOKEN|>"},
		{"phi-4", "<|im_end|>"},
		{"ibm-granite/granite-3.0-8b-instruct", "<|end_of_text|>"},
	} {
		for _, lc := range llamaCppCases {
			if lc.name == c.name {
				tm, err := Detect(lc.tmpl)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(tm.StopStrings(), []string{c.want}) {
					t.Errorf("%s stop strings %q, want %q", c.name, tm.StopStrings(), c.want)
				}
			}
		}
	}
}

// TestDate checks the date of Llama 3.2's template: Options.Date, or 26 Jul
// 2024 by default; the 3.1 template always prints its fixed date.
func TestDate(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "Hi"}}
	d := Options{Date: time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		model, want, wantDefault string
	}{
		{"meta-llama/Llama-3.2-3B-Instruct", "Today Date: 09 Mar 2025\n", "Today Date: 26 Jul 2024\n"},
		{"meta-llama/Llama-3.1-8B-Instruct", "Today Date: 26 Jul 2024\n", "Today Date: 26 Jul 2024\n"},
	} {
		tm, err := Detect(findReal(t, c.model).tmpl)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := tm.Apply(msgs, d)
		def, _ := tm.Apply(msgs, Options{})
		if !strings.Contains(got, c.want) || !strings.Contains(def, c.wantDefault) {
			t.Errorf("%s: %q / %q", c.model, got, def)
		}
	}
}

// render parses and renders a template with JSON variables.
func render(t *testing.T, src, vars string) (string, error) {
	t.Helper()
	prog, err := parseTemplate(src)
	if err != nil {
		return "", err
	}
	return renderJSON(prog, vars)
}

// interpreterCases cover the Jinja subset; every expectation is what
// Python's jinja2 3.1.6 prints with Hugging Face's settings (checked with
// testdata/check_interpreter_cases.py).
var interpreterCases = []struct{ src, vars, want string }{
	// whitespace control
	{"a  {{- 'b' -}}  c", `{}`, "abc"},
	{"{% if true %}\nx\n{% endif %}\ny", `{}`, "x\ny"},
	{"  {% if true %}x{% endif %}", `{}`, "x"},
	{"  {%+ if true %}x{% endif %}", `{}`, "  x"},
	{"a\n  {# note #}\nb", `{}`, "a\nb"},
	{"line\n", `{}`, "line"},
	{"{{ 'x' }}\n", `{}`, "x"},
	// expressions
	{"{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }}", `{}`, "7 3 -4 1 1024 3.5"},
	{"{{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }}", `{}`, "a1None ababab"},
	{"{{ x.y }}|{{ x['y'] }}|{{ x.z }}|{{ x.z is defined }}", `{"x":{"y":5}}`, "5|5||False"},
	{"{{ l[0] }} {{ l[-1] }} {{ l[1:] }} {{ l[::-1] }} {{ l[:-1] }} {{ 'hello'[1:3] }}", `{"l":[1,2,3]}`, "1 3 [2, 3] [3, 2, 1] [1, 2] el"},
	{"{{ 'x' if a else 'y' }} {{ 'x' if b }}.", `{"a":false}`, "y ."},
	{"{{ 1 in [1,2] }} {{ 'b' in 'abc' }} {{ 'k' not in {'k':1} }}", `{}`, "True True False"},
	{"{{ a and b }} {{ a or b }} {{ not a }}", `{"a":0,"b":"s"}`, "0 s True"},
	{"{{ [1, 'a', none, true, {'k': [2]}] }}", `{}`, "[1, 'a', None, True, {'k': [2]}]"},
	{`{{ "it's" }} {{ ["it's", 'say "x"'] }}`, `{}`, `it's ["it's", 'say "x"']`},
	{"{{ 1.0 }} {{ 0.5 + 1 }} {{ 3 == 3.0 }}", `{}`, "1.0 1.5 True"},
	// loops
	{"{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }},{% endfor %}", `{"l":["a","b"]}`, "10TrueFalse22,21FalseTrue21,"},
	{"{% for x in l if x > 1 %}{{ x }}{{ loop.index }}{% else %}none{% endfor %}", `{"l":[1,2,3]}`, "2132"},
	{"{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", `{}`, "empty"},
	{"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", `{"d":{"b":1,"a":2}}`, "b=1;a=2;"},
	{"{% for x in l %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", `{"l":[1,2,3,4,5]}`, "13"},
	{"{% for x in range(3) %}{{ x }}{% endfor %}{% for x in range(1, 7, 2) %}{{ x }}{% endfor %}", `{}`, "012135"},
	{"{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %}", `{"l":[1,2,3]}`, "aba"},
	// scoping and namespace
	{"{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", `{}`, "1"},
	{"{% set ns = namespace(x=1) %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}", `{}`, "4"},
	{"{% set a, b = [1, 2] %}{{ a }}{{ b }}", `{}`, "12"},
	{"{% set s %}in{{ 1 }}{% endset %}[{{ s }}]", `{}`, "[in1]"},
	// macros
	{"{% macro m(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=2) }} {{ m(*[3, 4]) }}", `{}`, "1-d 1-2 3-4"},
	{"{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}", `{}`, "G"},
	{"{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}body{% endcall %}", `{}`, "[body]"},
	// filters
	{"{{ '  x ' | trim }}|{{ 'ab' | upper }}|{{ 'hi there' | title }}|{{ 'hI' | capitalize }}|{{ [1,2] | length }}|{{ 'héllo' | length }}", `{}`, "x|AB|Hi There|Hi|2|5"},
	{"{{ [3,1,2] | sort | join(',') }} {{ [1,2] | first }} {{ [1,2] | last }} {{ [1,2] | reverse | list }}", `{}`, "1,2,3 1 2 [2, 1]"},
	{"{{ x | default('d') }} {{ '' | default('d', true) }} {{ 'v' | d('x') }}", `{}`, "d d v"},
	{"[{{ x | trim }}{{ x | upper }}{{ x | length }}{{ x ~ 'y' }}{{ x }}]", `{}`, "[0y]"},
	{"{{ l | selectattr('r', 'equalto', 'u') | map(attribute='c') | list }}", `{"l":[{"r":"u","c":1},{"r":"a","c":2},{"r":"u","c":3}]}`, "[1, 3]"},
	{"{{ l | rejectattr('r', 'equalto', 'u') | list | length }} {{ l | selectattr('c') | list | length }}", `{"l":[{"r":"u","c":0},{"r":"a","c":2}]}`, "1 1"},
	{"{{ d | tojson }}", `{"d":{"b":[1,2.5,"x\"y",null,true],"a":"é"}}`, `{"b": [1, 2.5, "x\"y", null, true], "a": "é"}`},
	{"{{ d | tojson(indent=2) }}", `{"d":{"a":[1,{}],"b":[]}}`, "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"},
	{"{{ d | tojson(separators=(',', ':')) }}", `{"d":{"a":[1,2]}}`, `{"a":[1,2]}`},
	{"{{ 'a-b-c' | replace('-', '+') }} {{ '3' | int + 1 }} {{ 2 | float }} {{ -3 | abs }} {{ -(3 | abs) }}", `{}`, "a+b+c 4 2.0 3 -3"},
	{"{{ 'a\nb' | indent(2) }}|{{ [1,1,2] | unique | list }}|{{ (d | items | list)[0][0] }}", `{"d":{"k":1}}`, "a\n  b|[1, 2]|k"},
	// tests
	{"{{ x is defined }} {{ x is none }} {{ 's' is string }} {{ 1 is number }} {{ {} is mapping }} {{ [] is iterable }} {{ 3 is odd }} {{ 1 is equalto 1 }} {{ x is not defined }}", `{"x":null}`, "True True True True True True True True False"},
	// string methods
	{"{{ ' a '.strip() }}|{{ 'xax'.strip('x') }}|{{ 'ab'.startswith('a') }}|{{ 'ab'.endswith(('x','b')) }}|{{ 'a,b,c'.split(',') }}|{{ 'a b'.split() }}|{{ 'a,b,c'.split(',', 1) }}", `{}`, "a|a|True|True|['a', 'b', 'c']|['a', 'b']|['a', 'b,c']"},
	{"{{ 'x</think>y'.split('</think>')[-1].lstrip('\\n') }}|{{ 'Ab'.lower() }}|{{ 'ab'.replace('a', 'c') }}|{{ 'abc'.find('c') }}", `{}`, "y|ab|cb|2"},
	// dicts
	{"{{ d.get('a') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ dict(x=1) }}", `{"d":{"a":1}}`, "1 0 ['a'] {'x': 1}"},
	{"{% set d = {'a': 1, 'b': 2} %}{{ d['b'] }}{{ d.a }}{{ 'a' in d }}", `{}`, "21True"},
}

func TestInterpreter(t *testing.T) {
	for _, c := range interpreterCases {
		got, err := render(t, c.src, c.vars)
		if err != nil || got != c.want {
			t.Errorf("%q\n got %q, %v\nwant %q", c.src, got, err, c.want)
		}
	}
}

func TestInterpreterErrors(t *testing.T) {
	for _, c := range []struct{ src, vars, want string }{
		{"{{ x.y }}", `{}`, "undefined"},
		{"{{ x + 1 }}", `{}`, "undefined"},
		{"{{ 'a' + 1 }}", `{}`, "cannot add"},
		{"{{ 1 / 0 }}", `{}`, "division by zero"},
		{"{{ raise_exception('nope') }}", `{}`, "nope"},
		{"{{ f() }}", `{}`, "undefined"},
		{"{{ 1 | nosuchfilter }}", `{}`, "not supported"},
		{"{% for x in 5 %}{% endfor %}", `{}`, "not iterable"},
		{"{% set x.y = 1 %}", `{"x":{}}`, "not a namespace"},
		{"{{ strftime_now('%Q') }}", `{}`, "unsupported directive"},
	} {
		_, err := render(t, c.src, c.vars)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.src, err, c.want)
		}
	}
	for _, src := range []string{"{% if %}", "{{ 1 + }}", "{% endfor %}", "{% for x %}", "{{ (1 }}", "{{ [1 }}", "{{ 'unterminated }}", "{% unknown %}", "{{ a | }}", "{% macro %}"} {
		if _, err := parseTemplate(src); err == nil {
			t.Errorf("parse %q: no error", src)
		}
	}
	// Deep nesting is an error, not a stack overflow.
	for _, src := range []string{
		"{{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}",
		"{{ " + strings.Repeat("[", 100000) + " }}",
		"{{ " + strings.Repeat("- ", 100000) + "1 }}",
		"{{ " + strings.Repeat("not ", 100000) + "1 }}",
		strings.Repeat("{% if true %}", 100000),
		"{{ 1" + strings.Repeat(" + 1", 100000) + " }}",
		strings.Repeat("x", maxSource+1),
	} {
		if _, err := parseTemplate(src); err == nil {
			t.Errorf("parse of %d bytes of nesting: no error", len(src))
		}
	}
}

func FuzzDetect(f *testing.F) {
	for _, c := range llamaCppCases[:8] {
		f.Add(c.tmpl)
	}
	f.Add("{% for m in messages %}{{ m.content }}{% endfor %}")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		tm, err := Detect(src)
		if err != nil {
			if !errors.Is(err, ErrUnknownTemplate) {
				t.Fatalf("Detect error without ErrUnknownTemplate: %v", err)
			}
			return
		}
		_, _ = tm.Apply(llamaCppConversation, Options{BOS: "<s>", EOS: "</s>", AddGenerationPrompt: true})
	})
}

func ExampleTemplate_Apply() {
	tm, err := Named("chatml")
	if err != nil {
		panic(err)
	}
	prompt, err := tm.Apply([]Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "Hi"},
	}, Options{AddGenerationPrompt: true})
	if err != nil {
		panic(err)
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are terse.<|im_end|>
	// <|im_start|>user
	// Hi<|im_end|>
	// <|im_start|>assistant
}

// TestFamiliesMatchTemplates compares each recognised family with the
// interpreter running the model's own template on random conversations
// (alternating turns, an optional system message, contents with stray
// whitespace), beyond Detect's probes.
func TestFamiliesMatchTemplates(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", " b", "c ", "\n", "  ", "déjà", "x y", "\tz", ""}
	text := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(words[r.IntN(len(words))])
		}
		if b.Len() == 0 {
			return "q"
		}
		return b.String()
	}
	var templates []struct{ name, tmpl, bos, eos string }
	for _, c := range realTemplates {
		templates = append(templates, struct{ name, tmpl, bos, eos string }{c.name, c.tmpl, c.bos, c.eos})
	}
	for _, c := range llamaCppCases {
		templates = append(templates, struct{ name, tmpl, bos, eos string }{c.name, c.tmpl, "<s>", "</s>"})
	}
	for _, c := range templates {
		tm, err := Detect(c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if tm.fam == nil {
			continue
		}
		j, err := interpreted(c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			var msgs []Message
			switch r.IntN(4) {
			case 0:
				msgs = append(msgs, Message{Role: "system", Content: text()})
			case 1:
				msgs = append(msgs, Message{Role: "system", Content: ""})
			}
			n := 1 + r.IntN(5)
			for i := range n {
				role := "user"
				if i%2 == 1 {
					role = "assistant"
				}
				msgs = append(msgs, Message{Role: role, Content: text()})
			}
			o := Options{BOS: c.bos, EOS: c.eos, AddGenerationPrompt: r.IntN(2) == 0}
			want, werr := j.Apply(msgs, o)
			got, gerr := tm.Apply(msgs, o)
			if (werr != nil) != (gerr != nil) || got != want {
				t.Fatalf("%s (%s) on %q gen %v:\nfamily   %q, %v\ntemplate %q, %v", c.name, tm.Name, msgs, o.AddGenerationPrompt, got, gerr, want, werr)
			}
		}
	}
}
