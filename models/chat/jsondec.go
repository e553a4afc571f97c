package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// decodeJSON decodes JSON keeping the order of object keys (jsonObject),
// for template variables given as JSON.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("json: trailing data")
	}
	return v, nil
}

// maxJSONDepth bounds the nesting of JSON given to templates.
const maxJSONDepth = DefaultDepth

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("json: nested deeper than %d", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			var obj jsonObject
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj = append(obj, struct {
					key string
					val any
				}{k.(string), v})
			}
			_, err := dec.Token()
			return obj, err
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return float64(i), nil
		}
		f, err := t.Float64()
		return f, err
	}
	return tok, nil
}

// renderJSON renders a parsed template with variables given as a JSON
// object (tests use it to pass tools and other inputs beyond messages),
// under the default budgets.
func renderJSON(prog []node, vars string) (string, error) {
	v, err := decodeJSON(vars)
	if err != nil {
		return "", err
	}
	d, ok := fromJSON(v).(*dict)
	if !ok {
		return "", fmt.Errorf("variables must be a JSON object")
	}
	root := map[string]any{}
	for _, k := range d.keys {
		root[k] = d.m[k]
	}
	return runVars(context.Background(), prog, root, Options{}, newBudget(Limits{}, int64(len(vars)), nil))
}
