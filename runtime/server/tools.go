package server

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/edgeai-go/edgeai/models/chat"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// Tool calling: the request's tools reach the model through its chat
// template (chat.Options.Tools), the answer is parsed back into tool_calls
// by the template's format (chat.Parser), and tool_choice "required" or a
// named function is enforced with a grammar of the format's call syntax.

const maxTools = 128

// tool is one validated function tool.
type tool struct {
	Name       string
	Parameters json.RawMessage // a JSON Schema, nil when absent
}

// toolSpec is the tool part of a chat request.
type toolSpec struct {
	Raw      json.RawMessage // the tools array as given, for the template
	Tools    []tool
	Choice   string // "auto", "none", "required" or "function"
	Named    string // the function of tool_choice {"type": "function", ...}
	Parallel bool   // parallel_tool_calls (default true)
}

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

// decodeTools reads tools, tool_choice and parallel_tool_calls.
func decodeTools(f *fields, t *toolSpec) {
	t.Choice, t.Parallel = "auto", true
	if v := f.raw("tools"); v != nil && f.err == nil {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil {
			f.err = badParam("tools", "tools must be an array of function tools")
			return
		}
		if len(list) > maxTools {
			f.err = badParam("tools", "at most %d tools are accepted, got %d", maxTools, len(list))
			return
		}
		for i, raw := range list {
			where := fmt.Sprintf("tools[%d]", i)
			tf, e := decodeObject(raw)
			if e != nil {
				f.err = badParam(where, "%s must be an object {\"type\": \"function\", \"function\": {...}}", where)
				return
			}
			var typ string
			tf.take("type", &typ, "a string")
			if typ != "function" && tf.err == nil {
				f.err = unsupported(where+".type", "only function tools are implemented")
				return
			}
			fn := tf.raw("function")
			if e := tf.rest(); e != nil {
				e.Param = where + "." + e.Param
				f.err = e
				return
			}
			if fn == nil {
				f.err = badParam(where+".function", "%s.function is required", where)
				return
			}
			ff, e := decodeObject(fn)
			if e != nil {
				f.err = badParam(where+".function", "%s.function must be an object with a name", where)
				return
			}
			var tl tool
			var desc string
			ff.take("name", &tl.Name, "a string")
			ff.take("description", &desc, "a string")
			ff.boolean("strict") // the parameters are enforced when a call is required
			tl.Parameters = ff.raw("parameters")
			if e := ff.rest(); e != nil {
				e.Param = where + ".function." + e.Param
				f.err = e
				return
			}
			if !toolName.MatchString(tl.Name) {
				f.err = badParam(where+".function.name", "%s.function.name must be 1 to 64 letters, digits, _ . or -", where)
				return
			}
			for _, o := range t.Tools {
				if o.Name == tl.Name {
					f.err = badParam(where+".function.name", "two tools are named %q", tl.Name)
					return
				}
			}
			t.Tools = append(t.Tools, tl)
		}
		if len(t.Tools) > 0 {
			t.Raw = v
		}
	}
	if v := f.raw("tool_choice"); v != nil && f.err == nil {
		var s string
		if json.Unmarshal(v, &s) == nil {
			switch s {
			case "auto", "none", "required":
				t.Choice = s
			default:
				f.err = badParam("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}, got %q", quoteKey(s))
				return
			}
		} else {
			var named struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			if json.Unmarshal(v, &named) != nil || named.Type != "function" || named.Function.Name == "" {
				f.err = badParam("tool_choice", "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}")
				return
			}
			t.Choice, t.Named = "function", named.Function.Name
		}
	}
	if v := f.raw("parallel_tool_calls"); v != nil && f.err == nil {
		if json.Unmarshal(v, &t.Parallel) != nil {
			f.err = badParam("parallel_tool_calls", "parallel_tool_calls must be a boolean")
			return
		}
	}
	if f.err != nil {
		return
	}
	switch {
	case (t.Choice == "required" || t.Choice == "function") && len(t.Tools) == 0:
		f.err = badParam("tool_choice", "tool_choice %s needs tools", t.Choice)
	case t.Choice == "function" && !t.has(t.Named):
		f.err = badParam("tool_choice", "tool_choice names the function %q, which is not in tools", quoteKey(t.Named))
	}
}

func (t *toolSpec) has(name string) bool {
	for _, tl := range t.Tools {
		if tl.Name == name {
			return true
		}
	}
	return false
}

// offered reports whether the model sees the tools (tool_choice none hides
// them, as llama.cpp does).
func (t *toolSpec) offered() bool { return len(t.Tools) > 0 && t.Choice != "none" }

// forcing reports whether the answer must be tool calls.
func (t *toolSpec) forcing() bool { return t.Choice == "required" || t.Choice == "function" }

// callGrammar returns the grammar of an answer that is only tool calls of
// the allowed tools (one, or several with parallel_tool_calls), in format.
func (t *toolSpec) callGrammar(format string) (*grammar.Grammar, *apiError) {
	argsKey := "arguments"
	if format == chat.FormatLlama3 {
		argsKey = "parameters"
	}
	defs := map[string]json.RawMessage{}
	var alts []string
	for i, tl := range t.Tools {
		if t.Choice == "function" && tl.Name != t.Named {
			continue
		}
		params := tl.Parameters
		param := fmt.Sprintf("tools[%d].function.parameters", i)
		if params == nil {
			params = json.RawMessage(`{"type":"object"}`)
		} else if _, err := grammar.FromJSONSchema(params); err != nil {
			return nil, schemaError(param, err)
		}
		// Local references (#/$defs/x) keep working once the parameters sit
		// inside the call's schema: the definitions move to its root.
		var obj map[string]json.RawMessage
		if json.Unmarshal(params, &obj) == nil {
			for _, k := range []string{"$defs", "definitions"} {
				var d map[string]json.RawMessage
				if json.Unmarshal(obj[k], &d) != nil {
					continue
				}
				for name, s := range d {
					key := k + "/" + name
					if old, dup := defs[key]; dup && compactJSON(old) != compactJSON(s) {
						return nil, badParam(param, "two tools define #/%s differently; tool_choice %s needs one definition", key, t.Choice)
					}
					defs[key] = s
				}
				delete(obj, k)
			}
			if strings.Contains(string(params), `"#"`) {
				return nil, badParam(param, "a reference to the root of the parameters (\"#\") cannot be enforced inside a tool call")
			}
			params, _ = json.Marshal(obj)
		}
		name, _ := json.Marshal(tl.Name)
		alts = append(alts, fmt.Sprintf(`{"type":"object","properties":{"name":{"const":%s},%q:%s},"required":["name",%q],"additionalProperties":false}`, name, argsKey, params, argsKey))
	}
	schema := `{"anyOf":[` + strings.Join(alts, ",") + `]`
	byKind := map[string][]string{}
	for key, s := range defs {
		kind, name, _ := strings.Cut(key, "/")
		n, _ := json.Marshal(name)
		byKind[kind] = append(byKind[kind], string(n)+":"+string(s))
	}
	for kind, list := range byKind {
		schema += fmt.Sprintf(`,%q:{%s}`, kind, strings.Join(list, ","))
	}
	schema += "}"
	src, err := grammar.SchemaGBNF([]byte(schema))
	if err != nil {
		return nil, schemaError("tools", err)
	}
	src = renameRoot(src, "tool-call")
	var root string
	many := t.Parallel
	switch format {
	case chat.FormatHermes:
		root = `"<tool_call>\n" tool-call "\n</tool_call>"`
		if many {
			root += ` ( "\n<tool_call>\n" tool-call "\n</tool_call>" )*`
		}
	case chat.FormatMistral:
		root = `"[TOOL_CALLS][" tool-call ( ", " tool-call )* "]"`
	case chat.FormatGranite:
		root = `"<|tool_call|>[" tool-call ( ", " tool-call )* "]"`
	case chat.FormatPhi4:
		root = `"<|tool_call|>[" tool-call ( ", " tool-call )* "]<|/tool_call|>"`
	case chat.FormatLlama3:
		root = `tool-call`
		if many {
			root += ` ( "; " tool-call )*`
		}
	case chat.FormatGeneric, "":
		root = `"{\"tool_calls\": [" tool-call ( ", " tool-call )* "]}"`
	default:
		return nil, unsupported("tool_choice", fmt.Sprintf("tool_choice %s is not enforced for this model's tool-call format (%s); use auto", t.Choice, format))
	}
	if !many {
		root = strings.ReplaceAll(root, ` ( ", " tool-call )*`, "")
	}
	g, err := grammar.ParseGBNF("root ::= " + root + "\n" + src)
	if err != nil {
		return nil, &apiError{Status: 500, Type: typeServer, Message: "building the tool-call grammar failed: " + err.Error()}
	}
	return g, nil
}

// renameRoot renames the rule root of a GBNF source (and every reference
// to it outside literals and classes) to name.
func renameRoot(src, name string) string {
	ident := func(c byte) bool {
		return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var b strings.Builder
	inStr, inClass := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case (inStr || inClass) && c == '\\' && i+1 < len(src):
			b.WriteByte(c)
			i++
			b.WriteByte(src[i])
			continue
		case inStr:
			inStr = c != '"'
		case inClass:
			inClass = c != ']'
		case c == '"':
			inStr = true
		case c == '[':
			inClass = true
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			b.WriteString(src[i : i+j])
			i += j - 1
			continue
		case strings.HasPrefix(src[i:], "root") && (i == 0 || !ident(src[i-1])) && (i+4 == len(src) || !ident(src[i+4])):
			b.WriteString(name)
			i += 3
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
