package server

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// Structured output: response_format (OpenAI) and grammar (llama.cpp's
// extension, a GBNF source) become a grammar.Grammar that constrains the
// generation (runtime.GenerateOptions.Grammar).

// decodeResponseFormat reads "response_format" and "grammar" into g.
func decodeResponseFormat(f *fields, g *genRequest) {
	if v := f.raw("response_format"); v != nil && f.err == nil {
		gr, kind, e := responseFormat(v, "response_format")
		if e != nil {
			f.err = e
			return
		}
		g.Grammar, g.Format = gr, kind
	}
	var src string
	if f.take("grammar", &src, "a string (a GBNF grammar)") && src != "" {
		if g.Grammar != nil {
			f.err = badParam("grammar", "give either grammar or a JSON response_format, not both")
			return
		}
		gr, err := grammar.ParseGBNF(src)
		if err != nil {
			f.err = badParam("grammar", "invalid grammar: %s", strings.TrimPrefix(err.Error(), "grammar: "))
			return
		}
		g.Grammar, g.Format = gr, "grammar"
	}
}

// responseFormat compiles an OpenAI response_format object:
// {"type": "text"}, {"type": "json_object"} or {"type": "json_schema",
// "json_schema": {"name", "description", "schema", "strict"}}. The grammar
// is nil for text.
func responseFormat(v json.RawMessage, param string) (*grammar.Grammar, string, *apiError) {
	rf, e := decodeObject(v)
	if e != nil {
		return nil, "", badParam(param, "%s must be an object with a type", param)
	}
	var typ string
	if !rf.take("type", &typ, "a string") {
		if rf.err != nil {
			rf.err.Param = param + ".type"
			return nil, "", rf.err
		}
		return nil, "", badParam(param+".type", "%s.type is required (text, json_object or json_schema)", param)
	}
	var gr *grammar.Grammar
	switch typ {
	case "text":
	case "json_object":
		gr = grammar.JSONObject()
	case "json_schema":
		js := rf.raw("json_schema")
		if js == nil {
			return nil, "", badParam(param+".json_schema", "%s.json_schema is required with type json_schema", param)
		}
		sf, e := decodeObject(js)
		if e != nil {
			return nil, "", badParam(param+".json_schema", "%s.json_schema must be an object with a name and a schema", param)
		}
		var name, desc string
		sf.take("name", &name, "a string")
		sf.take("description", &desc, "a string")
		sf.boolean("strict") // the schema is always enforced, strict or not
		schema := sf.raw("schema")
		if e := sf.rest(); e != nil {
			e.Param = param + ".json_schema." + e.Param
			return nil, "", e
		}
		if schema == nil {
			gr = grammar.JSONObject() // OpenAI: no schema, any JSON object
			break
		}
		var err error
		if gr, err = schemaGrammar(schema); err != nil {
			return nil, "", schemaError(param+".json_schema.schema", err)
		}
	default:
		return nil, "", badParam(param+".type", "%s.type must be text, json_object or json_schema, got %q", param, quoteKey(typ))
	}
	if e := rf.rest(); e != nil {
		e.Param = param + "." + e.Param
		return nil, "", e
	}
	return gr, typ, nil
}

// schemaGrammar compiles a JSON Schema given as JSON.
func schemaGrammar(schema json.RawMessage) (*grammar.Grammar, error) {
	return grammar.FromJSONSchema(schema)
}

// schemaError turns FromJSONSchema's error into a 400 naming the
// unsupported keywords (code "unsupported_schema") or the invalid part.
func schemaError(param string, err error) *apiError {
	if ue, ok := errors.AsType[*grammar.UnsupportedError](err); ok {
		var b strings.Builder
		for i, k := range ue.Keywords {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteKey(k.Name) + " at " + quoteKey(k.Path))
		}
		e := badParam(param, "the JSON schema of %s uses keywords this server cannot enforce: %s (see docs/grammar.md for the supported ones)", param, b.String())
		e.Code = "unsupported_schema"
		return e
	}
	e := badParam(param, "invalid JSON schema in %s: %s", param, strings.TrimPrefix(err.Error(), "grammar: "))
	e.Code = "invalid_schema"
	return e
}
