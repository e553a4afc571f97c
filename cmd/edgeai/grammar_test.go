package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"
)

// edgeai run --json-schema / --grammar-file: the output follows the grammar
// for every seed and temperature.
func TestRunGrammar(t *testing.T) {
	model := testutil.Stories(t)
	schema := `{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":99},"ok":{"type":"boolean"}},"required":["name","age","ok"]}`
	dir := t.TempDir()
	schemaFile := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schemaFile, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{schema, schemaFile} {
		for _, temp := range []string{"0", "0.8", "2"} {
			out, errs, code := runCLI(t, "", "run", "-m", model, "-p", "Once upon a time", "--json-schema", arg, "--no-echo", "--temp", temp, "--seed", "7")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var v struct {
				Name *string
				Age  *int
				OK   *bool
			}
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil || v.Name == nil || v.Age == nil || v.OK == nil || *v.Age < 0 || *v.Age > 99 || len([]rune(*v.Name)) > 8 {
				t.Errorf("temp %s: output %q does not follow the schema (%v)", temp, out, err)
			}
			if !strings.Contains(errs, "stop: eos") || strings.Contains(errs, "incomplete") {
				t.Errorf("stderr: %s", errs)
			}
		}
	}

	gbnf := filepath.Join(dir, "yn.gbnf")
	if err := os.WriteFile(gbnf, []byte("root ::= answer \".\"\nanswer ::= \"yes\" | \"no\" # one word\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "", "run", "-m", model, "-p", "Is it?", "--grammar-file", gbnf, "--no-echo", "--seed", "3")
	if code != 0 || (out != "yes.\n" && out != "no.\n") {
		t.Errorf("--grammar-file: exit %d, stdout %q, stderr %s", code, out, errs)
	}

	// a token limit before the grammar is complete: the text is cut, and
	// stderr says so
	_, errs, code = runCLI(t, "", "run", "-m", model, "-p", "x", "--json-schema", `{"type":"string","minLength":20}`, "--max-new", "3", "--no-echo")
	if code != 0 || !strings.Contains(errs, "stop: length") || !strings.Contains(errs, "output is incomplete") {
		t.Errorf("cut output: exit %d, stderr %s", code, errs)
	}
}

func TestRunGrammarErrors(t *testing.T) {
	model := testutil.Stories(t)
	bad := filepath.Join(t.TempDir(), "bad.gbnf")
	if err := os.WriteFile(bad, []byte("root ::= root \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--json-schema", `{"type":"string","format":"email"}`}, `unsupported JSON Schema keywords: format "email" at #`},
		{[]string{"--json-schema", `{"type":"array","uniqueItems":true,"not":{}}`}, "not at #, uniqueItems at #"},
		{[]string{"--json-schema", `{"type":`}, "not JSON"},
		{[]string{"--json-schema", "missing.json"}, "no such file"},
		{[]string{"--grammar-file", bad}, "left recursion"},
		{[]string{"--grammar-file", bad, "--json-schema", "{}"}, "exclude each other"},
	} {
		_, errs, code := runCLI(t, "", append([]string{"run", "-m", model, "-p", "x"}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
	}
}
