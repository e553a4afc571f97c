package grammar

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrSchema is wrapped by every error of FromJSONSchema: an invalid schema, a
// schema no JSON value satisfies, or one using keywords it does not support
// (an *UnsupportedError).
var ErrSchema = errors.New("grammar: JSON Schema")

// SchemaError is an invalid or unusable schema at a JSON pointer.
type SchemaError struct {
	Path string // JSON pointer of the subschema, "#" for the root
	Msg  string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("grammar: JSON Schema at %s: %s", e.Path, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSchema) true.
func (e *SchemaError) Unwrap() error { return ErrSchema }

// Keyword is a keyword of a schema and where it appears.
type Keyword struct {
	Name string // the keyword, with its value where that is what is unsupported: format "email"
	Path string // JSON pointer of the subschema holding it
}

// UnsupportedError names every keyword of a schema that FromJSONSchema cannot
// enforce. A keyword is never dropped silently: the schema is refused.
type UnsupportedError struct {
	Keywords []Keyword
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	b.WriteString("grammar: unsupported JSON Schema keywords: ")
	for i, k := range e.Keywords {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s at %s", k.Name, k.Path)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrSchema) true.
func (e *UnsupportedError) Unwrap() error { return ErrSchema }

// FromJSONSchema compiles a JSON Schema (draft 2020-12, with the keywords of
// earlier drafts that apps still send) to the grammar of JSON texts that
// validate against it. See the package documentation for what is supported,
// the order of properties and the whitespace allowed. Unsupported keywords
// give an *UnsupportedError naming all of them; other problems a
// *SchemaError; both wrap ErrSchema.
func FromJSONSchema(schema []byte) (*Grammar, error) {
	src, err := SchemaGBNF(schema)
	if err != nil {
		return nil, err
	}
	g, err := ParseGBNF(src)
	if err != nil {
		return nil, &SchemaError{Path: "#", Msg: err.Error()}
	}
	return g, nil
}

// SchemaGBNF returns the GBNF source of FromJSONSchema's grammar.
func SchemaGBNF(schema []byte) (string, error) {
	root, err := parseJSON(schema)
	if err != nil {
		return "", &SchemaError{Path: "#", Msg: "not JSON: " + err.Error()}
	}
	c := &converter{root: root, refs: map[string]string{}, used: map[string]bool{}}
	c.reserve()
	body := c.visit(root, "#", "root")
	if c.err == nil && len(c.unsupported) > 0 {
		sort.SliceStable(c.unsupported, func(i, j int) bool {
			a, b := c.unsupported[i], c.unsupported[j]
			return a.Path < b.Path || a.Path == b.Path && a.Name < b.Name
		})
		return "", &UnsupportedError{Keywords: slices.Compact(c.unsupported)}
	}
	if c.err != nil {
		return "", c.err
	}
	if body != "root" { // the top rule may have taken the name already
		c.define("root", body)
	}
	return c.source(), nil
}

var jsonObject = sync.OnceValue(func() *Grammar {
	g, err := FromJSONSchema([]byte(`{"type":"object"}`))
	if err != nil {
		panic(err)
	}
	return g
})

// JSONObject returns the grammar of any JSON object: OpenAI's
// response_format {"type": "json_object"} and Ollama's format "json".
func JSONObject() *Grammar { return jsonObject() }

// The JSON primitives, with the whitespace policy: ws is nothing, a space,
// or one or two newlines and up to 20 spaces or tabs (bounded, as llama.cpp
// does, so a model cannot loop on whitespace). ws may appear after { [ , :
// and after a value inside an object or array, never at the start or the end
// of the text. Numbers keep at most 16 integer digits, 16 fraction digits and
// 2 exponent digits; \u escapes never name a surrogate, so every escape is
// one character for minLength and maxLength.
var primitives = []struct{ name, body string }{
	{"ws", `| " " | "\n"{1,2} [ \t]{0,20}`},
	{"json-value", `json-object | json-array | json-string | json-number | json-boolean | json-null`},
	{"json-object", `"{" ws ( json-member ( "," ws json-member )* )? "}"`},
	{"json-member", `json-string ws ":" ws json-value ws`},
	{"json-array", `"[" ws ( json-value ws ( "," ws json-value ws )* )? "]"`},
	{"json-string", `"\"" json-char* "\""`},
	{"json-char", `[^"\\\x00-\x1F\x7F] | "\\" ( ["\\/bfnrt] | "u" json-hex4 )`},
	{"json-hex4", `( [0-9a-cA-C] [0-9a-fA-F] | [dD] [0-7] | [eEfF] [0-9a-fA-F] ) [0-9a-fA-F]{2}`},
	{"json-number", `json-integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )?`},
	{"json-integer", `"-"? ( "0" | [1-9] [0-9]{0,15} )`},
	{"json-boolean", `"true" | "false"`},
	{"json-null", `"null"`},
	{"json-key-char", `[^"\\\x00-\x1F\x7F]`},
	// formats: calendar dates (leap years included), RFC 3339 times with
	// seconds 00-59 and at most 9 fraction digits
	{"fmt-date", `[0-9]{4} "-" fmt-month-day | fmt-leap-year "-02-29"`},
	{"fmt-month-day", `( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] )`},
	{"fmt-leap-year", `[0-9] [0-9] ( "0" [48] | [2468] [048] | [13579] [26] ) | ( "0" [048] | [2468] [048] | [13579] [26] ) "00"`},
	{"fmt-time", `( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )`},
	{"fmt-date-time", `fmt-date "T" fmt-time`},
	{"fmt-uuid", `[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}`},
}

// Limits of schema conversion.
const (
	maxMergeDepth = 32  // nested allOf merges
	maxAlts       = 256 // alternatives made by distributing anyOf over allOf
)

// annotations are keywords that do not constrain values: they are ignored.
// (So are keys starting with "x-", vendor extensions.)
var annotations = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "example": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "$comment": true, "$schema": true,
	"$defs": true, "definitions": true,
}

// handled are the keywords the converter enforces (or that are satisfied by
// construction: unevaluatedProperties/unevaluatedItems, as the grammar
// produces no property or item that another keyword does not evaluate).
var handled = map[string]bool{
	"type": true, "enum": true, "const": true, "$ref": true, "anyOf": true, "oneOf": true, "allOf": true,
	"properties": true, "required": true, "additionalProperties": true,
	"items": true, "prefixItems": true, "additionalItems": true, "minItems": true, "maxItems": true,
	"minLength": true, "maxLength": true, "format": true, "pattern": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"unevaluatedProperties": true, "unevaluatedItems": true,
	"minProperties": true, "maxProperties": true, "uniqueItems": true, "multipleOf": true, "$id": true,
}

// primRef finds the rules a primitive uses.
var primRef = regexp.MustCompile(`\b(json|fmt)-[a-z0-9-]+|\bws\b`)

// converter writes the GBNF of a schema.
type converter struct {
	root        *jval
	rules       []gbnfRule
	used        map[string]bool   // rule names taken
	refs        map[string]string // $ref -> rule name
	prims       map[string]bool   // primitives added
	unsupported []Keyword
	err         error
	merges      int
	rootTaken   bool
}

type gbnfRule struct{ name, body string }

func (c *converter) reserve() {
	for _, p := range primitives {
		c.used[p.name] = true
	}
	c.used["root"] = true // for the top rule alone (see fresh)
}

func (c *converter) fail(path, format string, args ...any) string {
	if c.err == nil {
		c.err = &SchemaError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	return `""`
}

func (c *converter) unsupportedKw(path, name string) {
	c.unsupported = append(c.unsupported, Keyword{Name: name, Path: path})
}

// prim returns the name of a primitive rule, adding it and its dependencies.
func (c *converter) prim(name string) string {
	if c.prims == nil {
		c.prims = map[string]bool{}
	}
	if c.prims[name] {
		return name
	}
	c.prims[name] = true
	for _, p := range primitives {
		if p.name == name {
			for _, dep := range primRef.FindAllString(p.body, -1) {
				c.prim(dep)
			}
		}
	}
	return name
}

// fresh returns an unused rule name derived from hint; the hint "root"
// (the top schema's) gets the name root once.
func (c *converter) fresh(hint string) string {
	if hint == "root" && !c.rootTaken {
		c.rootTaken = true
		return "root"
	}
	var b strings.Builder
	for _, r := range hint {
		if r < 128 && isWordChar(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "schema"
	}
	if len(base) > 60 {
		base = base[:60]
	}
	name := base
	for i := 2; c.used[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	c.used[name] = true
	return name
}

func (c *converter) define(name, body string) string {
	c.rules = append(c.rules, gbnfRule{name, body})
	return name
}

// rule adds a rule with a fresh name for body, or returns body itself when
// it is a single name.
func (c *converter) rule(hint, body string) string {
	if isName(body) {
		return body
	}
	return c.define(c.fresh(hint), body)
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordChar(s[i]) {
			return false
		}
	}
	return true
}

func (c *converter) source() string {
	var b strings.Builder
	for _, r := range c.rules {
		if r.name == "root" {
			fmt.Fprintf(&b, "root ::= %s\n", r.body)
		}
	}
	for _, r := range c.rules {
		if r.name != "root" {
			fmt.Fprintf(&b, "%s ::= %s\n", r.name, r.body)
		}
	}
	for _, p := range primitives {
		if c.prims[p.name] {
			fmt.Fprintf(&b, "%s ::= %s\n", p.name, p.body)
		}
	}
	return b.String()
}

func child(path string, parts ...string) string {
	for _, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		path += "/" + p
	}
	return path
}

// visit returns a rule name or an atom for the values of schema s at path;
// hint names the rules it adds.
func (c *converter) visit(s *jval, path, hint string) string {
	e := c.visitExpr(s, path, hint)
	if isName(e) || isLiteral(e) {
		return e
	}
	return c.rule(hint, e)
}

// isLiteral reports whether e is one GBNF string literal.
func isLiteral(e string) bool {
	if len(e) < 2 || e[0] != '"' || e[len(e)-1] != '"' {
		return false
	}
	for i := 1; i < len(e)-1; i++ {
		switch e[i] {
		case '\\':
			i++
		case '"':
			return false
		}
	}
	return true
}

func (c *converter) visitExpr(s *jval, path, hint string) string {
	if c.err != nil {
		return `""`
	}
	switch s.kind {
	case jBool:
		if s.b {
			return c.prim("json-value")
		}
		return c.fail(path, "the schema false matches no value")
	case jObj:
	default:
		return c.fail(path, "a schema must be an object or a boolean")
	}
	c.checkKeywords(s, path)
	if ref := s.get("$ref"); ref != nil {
		if len(schemaKeys(s, "$ref")) == 0 {
			return c.ref(ref, path)
		}
		target, tpath := c.resolve(ref, path)
		if target == nil {
			return `""`
		}
		merged := c.merge(target, without(s, "$ref"), tpath, path, 0)
		if merged == nil {
			return `""`
		}
		return c.visit(merged, path, hint)
	}
	if all := s.get("allOf"); all != nil {
		if all.kind != jArr || len(all.arr) == 0 {
			return c.fail(path, "allOf must be a non-empty array")
		}
		merged := without(s, "allOf")
		for i, sub := range all.arr {
			merged = c.merge(merged, sub, path, child(path, "allOf", strconv.Itoa(i)), 0)
			if merged == nil {
				return `""`
			}
		}
		return c.visit(merged, path, hint)
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		alts := s.get(kw)
		if alts == nil {
			continue
		}
		if alts.kind != jArr || len(alts.arr) == 0 {
			return c.fail(path, "%s must be a non-empty array", kw)
		}
		rest := without(s, kw)
		var exprs []string
		for i, a := range alts.arr {
			sub := a
			apath := child(path, kw, strconv.Itoa(i))
			if len(schemaKeys(rest)) > 0 {
				if sub = c.merge(rest, a, path, apath, 0); sub == nil {
					return `""`
				}
			}
			exprs = append(exprs, c.visit(sub, apath, hint+"-"+strconv.Itoa(i)))
		}
		return c.rule(hint, strings.Join(exprs, " | "))
	}
	if s.has("const") || s.has("enum") {
		if others := schemaKeys(s, "type", "enum", "const"); len(others) > 0 {
			c.unsupportedKw(path, "enum or const with "+others[0])
			return `""`
		}
	}
	if v := s.get("const"); v != nil {
		if e := s.get("enum"); e != nil && !containsValue(e, v) {
			return c.fail(path, "const is not one of enum")
		}
		if !typesAllow(s, v) {
			return c.fail(path, "const does not have the schema's type")
		}
		return gbnfLiteral(v.compact())
	}
	if e := s.get("enum"); e != nil {
		if e.kind != jArr || len(e.arr) == 0 {
			return c.fail(path, "enum must be a non-empty array")
		}
		var lits []string
		for _, v := range e.arr {
			if typesAllow(s, v) {
				lits = append(lits, gbnfLiteral(v.compact()))
			}
		}
		if len(lits) == 0 {
			return c.fail(path, "no enum value has the schema's type")
		}
		return c.rule(hint, strings.Join(slices.Compact(lits), " | "))
	}
	types, ok := c.types(s, path)
	if !ok {
		return `""`
	}
	if len(types) > 1 {
		var exprs []string
		for _, t := range types {
			exprs = append(exprs, c.typed(s, t, path, hint+"-"+t))
		}
		return c.rule(hint, strings.Join(exprs, " | "))
	}
	return c.typed(s, types[0], path, hint)
}

// checkKeywords records the unsupported keywords of s.
func (c *converter) checkKeywords(s *jval, path string) {
	for _, m := range s.obj {
		k := m.key
		switch {
		case annotations[k] || strings.HasPrefix(k, "x-"):
		case k == "$id" && path != "#":
			c.unsupportedKw(path, "$id")
		case k == "format":
			// formats constrain strings only: on other types they are annotations
			if t := s.get("type"); t != nil && !typeListHas(t, "string") {
				continue
			}
			if m.val.kind == jStr && !knownFormat(m.val.str) {
				c.unsupportedKw(path, "format "+strconv.Quote(m.val.str))
			}
		case k == "multipleOf":
			if m.val.kind != jNum || !isOne(m.val.num) || !typeIs(s, "integer") {
				c.unsupportedKw(path, "multipleOf")
			}
		case !handled[k]:
			c.unsupportedKw(path, k)
		}
	}
}

func typeListHas(t *jval, name string) bool {
	if t.kind == jStr {
		return t.str == name
	}
	for _, e := range t.arr {
		if e.kind == jStr && e.str == name {
			return true
		}
	}
	return false
}

func isOne(num string) bool {
	f, err := strconv.ParseFloat(num, 64)
	return err == nil && f == 1
}

func typeIs(s *jval, t string) bool {
	v := s.get("type")
	return v != nil && v.kind == jStr && v.str == t
}

func knownFormat(f string) bool {
	switch f {
	case "date", "time", "date-time", "uuid":
		return true
	}
	return false
}

// schemaKeys returns the keys of s that constrain values, except skip.
func schemaKeys(s *jval, skip ...string) []string {
	var keys []string
	for _, m := range s.obj {
		if annotations[m.key] || strings.HasPrefix(m.key, "x-") || slices.Contains(skip, m.key) || m.key == "$id" {
			continue
		}
		keys = append(keys, m.key)
	}
	return keys
}

// without returns a copy of object s without the named members.
func without(s *jval, keys ...string) *jval {
	out := &jval{kind: jObj}
	for _, m := range s.obj {
		if !slices.Contains(keys, m.key) {
			out.obj = append(out.obj, m)
		}
	}
	return out
}

func containsValue(list, v *jval) bool {
	if list.kind != jArr {
		return false
	}
	for _, e := range list.arr {
		if e.equal(v) {
			return true
		}
	}
	return false
}

// allTypes are the JSON Schema type names, in the order alternatives are
// written.
var allTypes = []string{"object", "array", "string", "number", "integer", "boolean", "null"}

// types returns the types s allows: its "type", or the types its keywords
// imply, or every type.
func (c *converter) types(s *jval, path string) ([]string, bool) {
	t := s.get("type")
	if t == nil {
		var implied []string
		has := func(keys ...string) bool {
			for _, k := range keys {
				if s.has(k) {
					return true
				}
			}
			return false
		}
		if has("properties", "required", "additionalProperties", "minProperties", "maxProperties") {
			implied = append(implied, "object")
		}
		if has("items", "prefixItems", "minItems", "maxItems", "additionalItems") {
			implied = append(implied, "array")
		}
		if has("minLength", "maxLength", "pattern", "format") {
			implied = append(implied, "string")
		}
		if has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") {
			implied = append(implied, "number")
		}
		if len(implied) == 0 {
			return []string{"any"}, true
		}
		return implied, true
	}
	var names []string
	switch t.kind {
	case jStr:
		names = []string{t.str}
	case jArr:
		for _, e := range t.arr {
			if e.kind != jStr {
				c.fail(path, "type must be a string or an array of strings")
				return nil, false
			}
			names = append(names, e.str)
		}
	default:
		c.fail(path, "type must be a string or an array of strings")
		return nil, false
	}
	for _, n := range names {
		if !slices.Contains(allTypes, n) {
			c.fail(path, "unknown type %q", n)
			return nil, false
		}
	}
	names = slices.Compact(names)
	if len(names) == 0 {
		c.fail(path, "type is an empty array")
		return nil, false
	}
	// "integer" is inside "number"
	if slices.Contains(names, "number") {
		names = slices.DeleteFunc(names, func(n string) bool { return n == "integer" })
	}
	return names, true
}

// typesAllow reports whether value v has one of the types s allows.
func typesAllow(s *jval, v *jval) bool {
	t := s.get("type")
	if t == nil {
		return true
	}
	var names []string
	if t.kind == jStr {
		names = []string{t.str}
	} else {
		for _, e := range t.arr {
			names = append(names, e.str)
		}
	}
	for _, n := range names {
		switch {
		case n == "null" && v.kind == jNull, n == "boolean" && v.kind == jBool, n == "string" && v.kind == jStr,
			n == "array" && v.kind == jArr, n == "object" && v.kind == jObj, n == "number" && v.kind == jNum:
			return true
		case n == "integer" && v.kind == jNum:
			if f, err := strconv.ParseFloat(v.num, 64); err == nil && f == math.Trunc(f) {
				return true
			}
		}
	}
	return false
}

// typed returns the expression for the values of type t that s allows.
func (c *converter) typed(s *jval, t, path, hint string) string {
	switch t {
	case "any":
		return c.prim("json-value")
	case "null":
		return c.prim("json-null")
	case "boolean":
		return c.prim("json-boolean")
	case "string":
		return c.str(s, path, hint)
	case "integer", "number":
		return c.number(s, t == "integer", path, hint)
	case "array":
		return c.array(s, path, hint)
	case "object":
		return c.object(s, path, hint)
	}
	return c.fail(path, "unknown type %q", t)
}

// count reads a non-negative integer keyword; -1 if absent.
func (c *converter) count(s *jval, key, path string) int {
	v := s.get(key)
	if v == nil {
		return -1
	}
	if v.kind != jNum {
		c.fail(path, "%s must be a number", key)
		return -1
	}
	f, err := strconv.ParseFloat(v.num, 64)
	if err != nil || f < 0 || f != math.Trunc(f) {
		c.fail(path, "%s must be a non-negative integer", key)
		return -1
	}
	if f > MaxRepetition {
		if strings.HasPrefix(key, "max") {
			c.fail(path, "%s %s is above the limit of %d", key, v.num, MaxRepetition)
		} else {
			c.fail(path, "%s %s is above the limit of %d", key, v.num, MaxRepetition)
		}
		return -1
	}
	return int(f)
}

// repeat writes item repeated between lo and hi times (hi < 0: no limit).
func repeat(item string, lo, hi int) string {
	switch {
	case hi == 0:
		return `""`
	case lo == 0 && hi < 0:
		return item + "*"
	case lo == 1 && hi < 0:
		return item + "+"
	case lo == 0 && hi == 1:
		return item + "?"
	case hi < 0:
		return fmt.Sprintf("%s{%d,}", item, lo)
	case lo == hi:
		return fmt.Sprintf("%s{%d}", item, lo)
	}
	return fmt.Sprintf("%s{%d,%d}", item, lo, hi)
}

func (c *converter) str(s *jval, path, hint string) string {
	lo, hi := c.count(s, "minLength", path), c.count(s, "maxLength", path)
	if lo >= 0 && hi >= 0 && hi < lo {
		return c.fail(path, "maxLength %d is below minLength %d", hi, lo)
	}
	if f := s.get("format"); f != nil && f.kind == jStr && knownFormat(f.str) {
		if lo >= 0 || hi >= 0 || s.has("pattern") {
			c.unsupportedKw(path, "format with minLength, maxLength or pattern")
			return `""`
		}
		return `"\"" ` + c.prim("fmt-"+f.str) + ` "\""`
	}
	if p := s.get("pattern"); p != nil {
		if p.kind != jStr {
			return c.fail(path, "pattern must be a string")
		}
		if lo >= 0 || hi >= 0 {
			c.unsupportedKw(path, "pattern with minLength or maxLength")
			return `""`
		}
		body, err := c.pattern(p.str)
		if err != nil {
			return c.fail(path, "pattern %q: %v", p.str, err)
		}
		return c.rule(hint, `"\"" `+body+` "\""`)
	}
	if lo <= 0 && hi < 0 {
		return c.prim("json-string")
	}
	return c.rule(hint, `"\"" `+repeat(c.prim("json-char"), max(lo, 0), hi)+` "\""`)
}

// bound reads a numeric keyword; ok is false if absent.
func (c *converter) bound(s *jval, key, path string) (*big.Rat, bool) {
	v := s.get(key)
	if v == nil || v.kind == jBool {
		return nil, false
	}
	if v.kind != jNum {
		c.fail(path, "%s must be a number", key)
		return nil, false
	}
	r, ok := new(big.Rat).SetString(v.num)
	if !ok {
		c.fail(path, "%s %s is not a number", key, v.num)
		return nil, false
	}
	return r, true
}

// maxBound is the largest magnitude of a numeric bound: the grammar writes
// at most 16 integer digits.
const maxBound = 9999999999999999

func (c *converter) number(s *jval, integer bool, path, hint string) string {
	// Reduce every bound to an inclusive integer bound on the value: x >= lo
	// and x <= hi. A non-integer bound keeps the values beyond the next
	// integer (a subset of the valid ones).
	var lo, hi *big.Int
	tighten := func(key string, lower, exclusive bool) {
		r, ok := c.bound(s, key, path)
		if !ok {
			return
		}
		// draft 4: exclusiveMinimum/exclusiveMaximum are booleans on minimum/maximum
		if !exclusive {
			ex := "exclusiveMinimum"
			if !lower {
				ex = "exclusiveMaximum"
			}
			if e := s.get(ex); e != nil && e.kind == jBool && e.b {
				exclusive = true
			}
		}
		var b *big.Int
		if lower {
			b = ceilRat(r)
			if exclusive && r.IsInt() {
				b.Add(b, big.NewInt(1))
			}
			if lo == nil || b.Cmp(lo) > 0 {
				lo = b
			}
		} else {
			b = floorRat(r)
			if exclusive && r.IsInt() {
				b.Sub(b, big.NewInt(1))
			}
			if hi == nil || b.Cmp(hi) < 0 {
				hi = b
			}
		}
	}
	tighten("minimum", true, false)
	tighten("exclusiveMinimum", true, true)
	tighten("maximum", false, false)
	tighten("exclusiveMaximum", false, true)
	if c.err != nil {
		return `""`
	}
	if lo == nil && hi == nil {
		if integer {
			return c.prim("json-integer")
		}
		return c.prim("json-number")
	}
	limit := big.NewInt(maxBound)
	for _, b := range []*big.Int{lo, hi} {
		if b != nil && new(big.Int).Abs(b).Cmp(limit) > 0 {
			return c.fail(path, "numeric bound %v is beyond 16 digits", b)
		}
	}
	if lo != nil && hi != nil && lo.Cmp(hi) > 0 {
		return c.fail(path, "no %s lies between the minimum and the maximum", map[bool]string{true: "integer", false: "value"}[integer])
	}
	// Non-negative values: integer part in [max(lo,0), hi]; negative ones:
	// magnitude in [max(-hi,1 or 0), -lo].
	frac := `( "." [0-9]{1,16} )?`
	zeros := `( "." "0"{1,16} )?`
	var alts []string
	part := func(mlo int64, mhi int64, bounded bool) string {
		// magnitudes in [mlo, mhi] (mhi ignored if !bounded)
		if integer {
			return intRange(mlo, mhi, bounded)
		}
		if !bounded {
			return "( " + intRange(mlo, 0, false) + " ) " + frac
		}
		var a []string
		if mhi > mlo {
			a = append(a, "( "+intRange(mlo, mhi-1, true)+" ) "+frac)
		}
		a = append(a, `"`+strconv.FormatInt(mhi, 10)+`" `+zeros)
		return strings.Join(a, " | ")
	}
	if hi == nil || hi.Sign() >= 0 {
		mlo := int64(0)
		if lo != nil && lo.Sign() > 0 {
			mlo = lo.Int64()
		}
		if hi == nil {
			alts = append(alts, part(mlo, 0, false))
		} else {
			alts = append(alts, part(mlo, hi.Int64(), true))
		}
	}
	if lo == nil || lo.Sign() < 0 {
		mlo := int64(1) // no "-0" integer
		if !integer {
			mlo = 0 // "-0.5" (and "-0", which is 0, inside the range)
		}
		if hi != nil && hi.Sign() < 0 {
			mlo = -hi.Int64()
		}
		if lo == nil {
			alts = append(alts, `"-" ( `+part(mlo, 0, false)+` )`)
		} else {
			alts = append(alts, `"-" ( `+part(mlo, -lo.Int64(), true)+` )`)
		}
	}
	return c.rule(hint, strings.Join(alts, " | "))
}

func ceilRat(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func floorRat(r *big.Rat) *big.Int {
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	return q
}

// intRange writes the decimal integers in [lo, hi] (lo >= 0; no upper bound
// but 16 digits when !bounded), without leading zeros.
func intRange(lo, hi int64, bounded bool) string {
	digits := func(v int64) int { return len(strconv.FormatInt(v, 10)) }
	var alts []string
	dlo := digits(lo)
	dhi := 16
	if bounded {
		dhi = digits(hi)
	}
	for d := dlo; d <= dhi; d++ {
		a := lo
		if d > dlo {
			a = pow10(d - 1)
		}
		b := pow10(d) - 1
		if bounded && d == dhi {
			b = hi
		}
		if !bounded && d > dlo {
			// every longer length at once
			if d == 1 {
				alts = append(alts, `[0-9]`)
			} else {
				alts = append(alts, fmt.Sprintf(`[1-9] [0-9]{%d,%d}`, d-1, 15))
			}
			break
		}
		alts = append(alts, sameLength(strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)))
	}
	return strings.Join(alts, " | ")
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// sameLength writes the integers between the decimal strings a <= b of one
// length.
func sameLength(a, b string) string {
	if a == b {
		return `"` + a + `"`
	}
	if len(a) == 1 {
		return "[" + a + "-" + b + "]"
	}
	if a[0] == b[0] {
		return `"` + a[:1] + `" ( ` + sameLength(a[1:], b[1:]) + " )"
	}
	n := len(a) - 1
	allZero := strings.Trim(a[1:], "0") == ""
	allNine := strings.Trim(b[1:], "9") == ""
	var alts []string
	first, last := a[0], b[0]
	if !allZero {
		alts = append(alts, `"`+a[:1]+`" ( `+sameLength(a[1:], strings.Repeat("9", n))+" )")
		first++
	}
	if !allNine {
		last--
	}
	if first <= last {
		cls := "[" + string(first) + "-" + string(last) + "]"
		if first == last {
			cls = `"` + string(first) + `"`
		}
		alts = append(alts, fmt.Sprintf("%s [0-9]{%d}", cls, n))
	}
	if !allNine {
		alts = append(alts, `"`+b[:1]+`" ( `+sameLength(strings.Repeat("0", n), b[1:])+" )")
	}
	return strings.Join(alts, " | ")
}

func (c *converter) array(s *jval, path, hint string) string {
	c.prim("ws")
	lo, hi := c.count(s, "minItems", path), c.count(s, "maxItems", path)
	lo = max(lo, 0)
	if hi >= 0 && hi < lo {
		return c.fail(path, "maxItems %d is below minItems %d", hi, lo)
	}
	var prefix []*jval
	var rest *jval // schema of the items after the prefix; nil: no more items
	items := s.get("items")
	if p := s.get("prefixItems"); p != nil {
		if p.kind != jArr {
			return c.fail(path, "prefixItems must be an array")
		}
		prefix = p.arr
		rest = items
		if rest == nil {
			rest = &jval{kind: jBool, b: true}
		}
	} else if items != nil && items.kind == jArr { // draft 4-7 tuples
		prefix = items.arr
		rest = s.get("additionalItems")
		if rest == nil {
			rest = &jval{kind: jBool, b: true}
		}
	} else {
		rest = items
		if rest == nil {
			rest = &jval{kind: jBool, b: true}
		}
	}
	if rest != nil && rest.kind == jBool && !rest.b {
		rest = nil
	}
	if u := s.get("uniqueItems"); u != nil && u.kind == jBool && u.b {
		if !(hi >= 0 && hi <= 1) {
			c.unsupportedKw(path, "uniqueItems")
			return `""`
		}
	}
	// Write the prefix items that fit maxItems, then the others.
	n := len(prefix)
	if hi >= 0 && n > hi {
		n = hi
	}
	var parts []string
	sep := func() string {
		if len(parts) == 0 {
			return ""
		}
		return `"," ws `
	}
	for i := range n {
		e := c.visit(prefix[i], child(path, "prefixItems", strconv.Itoa(i)), hint+"-"+strconv.Itoa(i))
		parts = append(parts, sep()+e+" ws")
	}
	moreLo, moreHi := max(lo-n, 0), -1
	if hi >= 0 {
		moreHi = hi - n
	}
	if rest == nil {
		if moreLo > 0 {
			return c.fail(path, "minItems %d needs more items than the schema allows", lo)
		}
		moreHi = 0
	}
	body := `"[" ws `
	if moreHi != 0 {
		item := c.rule(hint+"-item", c.visit(rest, child(path, "items"), hint+"-item"))
		if n > 0 {
			body += strings.Join(parts, " ") + " " + repeat(`( "," ws `+item+` ws )`, moreLo, moreHi)
		} else {
			// the first item has no comma
			more := repeat(`( "," ws `+item+` ws )`, max(moreLo-1, 0), max(moreHi-1, -1))
			if moreHi < 0 {
				more = repeat(`( "," ws `+item+` ws )`, max(moreLo-1, 0), -1)
			}
			first := item + " ws " + more
			if moreLo == 0 {
				first = "( " + first + " )?"
			}
			body += first
		}
	} else {
		body += strings.Join(parts, " ")
	}
	return c.rule(hint, body+` "]"`)
}

func (c *converter) object(s *jval, path, hint string) string {
	c.prim("ws")
	props := s.get("properties")
	if props != nil && props.kind != jObj {
		return c.fail(path, "properties must be an object")
	}
	var required []string
	if r := s.get("required"); r != nil {
		if r.kind != jArr {
			return c.fail(path, "required must be an array")
		}
		for _, e := range r.arr {
			if e.kind != jStr {
				return c.fail(path, "required must be an array of strings")
			}
			if !slices.Contains(required, e.str) {
				required = append(required, e.str)
			}
		}
	}
	add := s.get("additionalProperties") // nil: no properties but the declared ones are generated
	if add != nil && add.kind == jBool && !add.b {
		add = nil
	}
	if add == nil && props == nil && len(required) == 0 {
		if s.has("additionalProperties") {
			return `"{" ws "}"` // only the empty object
		}
		return c.prim("json-object")
	}
	type prop struct {
		name string
		kv   string
	}
	var req, opt []prop
	var names []string
	kv := func(name string, sub *jval, spath string) string {
		value := c.visit(sub, spath, hint+"-"+name)
		return c.rule(hint+"-"+name+"-kv", gbnfLiteral(jsonQuote(name))+` ws ":" ws `+value+" ws")
	}
	if props != nil {
		for _, m := range props.obj {
			names = append(names, m.key)
			if m.val.kind == jBool && !m.val.b {
				if slices.Contains(required, m.key) {
					return c.fail(child(path, "properties", m.key), "property %q is required but its schema is false", m.key)
				}
				continue
			}
			p := prop{m.key, kv(m.key, m.val, child(path, "properties", m.key))}
			if slices.Contains(required, m.key) {
				req = append(req, p)
			} else {
				opt = append(opt, p)
			}
		}
	}
	// required properties without a schema of their own take the schema of
	// additional properties
	for _, r := range required {
		if slices.Contains(names, r) {
			continue
		}
		if add == nil && s.has("additionalProperties") {
			return c.fail(path, "property %q is required but additionalProperties is false", r)
		}
		sub := add
		if sub == nil {
			sub = &jval{kind: jBool, b: true}
		}
		names = append(names, r)
		req = append(req, prop{r, kv(r, sub, child(path, "additionalProperties"))})
	}
	// order: required properties in schema order, then the optional ones
	// in schema order, each present or not, then additional properties
	total := len(req) + len(opt)
	if mp := c.count(s, "minProperties", path); mp > len(req) {
		c.unsupportedKw(path, "minProperties")
	}
	if mp := c.count(s, "maxProperties", path); mp >= 0 && (mp < total || add != nil) {
		c.unsupportedKw(path, "maxProperties")
	}
	if add != nil {
		key := c.rule(hint+"-additional-key", `"\"" `+notStrings(names)+` "\""`)
		c.prim("json-key-char")
		value := c.visit(add, child(path, "additionalProperties"), hint+"-additional")
		opt = append(opt, prop{"*", c.rule(hint+"-additional-kv", key+` ws ":" ws `+value+" ws")})
	}
	var b strings.Builder
	b.WriteString(`"{" ws`)
	for i, p := range req {
		if i > 0 {
			b.WriteString(` "," ws`)
		}
		b.WriteString(" " + p.kv)
	}
	if len(opt) > 0 {
		// rest[i]: the optional properties from i on, each after a comma
		rest := make([]string, len(opt)+1)
		for i := len(opt) - 1; i >= 0; i-- {
			var e string
			if opt[i].name == "*" {
				e = `( "," ws ` + opt[i].kv + ` )*`
			} else {
				e = `( "," ws ` + opt[i].kv + ` )?`
			}
			if rest[i+1] != "" {
				e += " " + rest[i+1]
			}
			rest[i] = c.rule(hint+"-rest", e)
		}
		var alts []string
		for i, p := range opt {
			a := p.kv
			if p.name == "*" {
				a += ` ( "," ws ` + p.kv + ` )*`
			}
			if rest[i+1] != "" {
				a += " " + rest[i+1]
			}
			alts = append(alts, a)
		}
		if len(req) > 0 {
			b.WriteString(" " + rest[0])
		} else {
			b.WriteString(" ( " + strings.Join(alts, " | ") + " )?")
		}
	}
	b.WriteString(` "}"`)
	return c.rule(hint, b.String())
}

// notStrings writes the JSON string contents (unescaped characters only)
// that differ from every one of names.
func notStrings(names []string) string {
	type trie struct {
		kids map[rune]*trie
		end  bool
	}
	root := &trie{}
	for _, n := range names {
		t := root
		ok := true
		for _, r := range n {
			if r < 0x20 || r == '"' || r == '\\' || r == 0x7F {
				ok = false // needs an escape: never equal to an unescaped key
				break
			}
			if t.kids == nil {
				t.kids = map[rune]*trie{}
			}
			if t.kids[r] == nil {
				t.kids[r] = &trie{}
			}
			t = t.kids[r]
		}
		if ok {
			t.end = true
		}
	}
	keyChars := normalize([]cpRange{{0x20, 0x10FFFF}})
	keyChars = subtract(keyChars, []cpRange{{'"', '"'}, {'\\', '\\'}, {0x7F, 0x7F}})
	var walk func(t *trie) string
	walk = func(t *trie) string {
		var alts []string
		if !t.end {
			alts = append(alts, `""`)
		}
		var kids []rune
		for r := range t.kids {
			kids = append(kids, r)
		}
		slices.Sort(kids)
		var ex []cpRange
		for _, r := range kids {
			ex = append(ex, cpRange{r, r})
			alts = append(alts, gbnfLiteral(string(r))+" ( "+walk(t.kids[r])+" )")
		}
		if other := subtract(keyChars, normalize(ex)); len(other) > 0 {
			alts = append(alts, classGBNF(other)+" json-key-char*")
		}
		return strings.Join(alts, " | ")
	}
	return "( " + walk(root) + " )"
}

// ref returns the rule of a $ref, converting its target once.
func (c *converter) ref(ref *jval, path string) string {
	if ref.kind != jStr {
		return c.fail(path, "$ref must be a string")
	}
	if name, ok := c.refs[ref.str]; ok {
		return name
	}
	target, tpath := c.resolve(ref, path)
	if target == nil {
		return `""`
	}
	hint := "ref" + strings.TrimPrefix(tpath, "#")
	name := c.fresh(hint)
	c.refs[ref.str] = name
	// a chain of $refs that comes back to itself matches nothing
	seen := map[string]bool{ref.str: true}
	for t := target; t.kind == jObj && t.get("$ref") != nil && len(schemaKeys(t, "$ref")) == 0; {
		r := t.get("$ref")
		if r.kind != jStr || seen[r.str] {
			return c.fail(path, "$ref %q leads back to itself", ref.str)
		}
		seen[r.str] = true
		if t, _ = c.resolve(r, tpath); t == nil {
			return `""`
		}
	}
	c.define(name, c.visit(target, tpath, name))
	return name
}

// resolve follows a local $ref ("#", "#/$defs/x", "#/definitions/x", any
// JSON pointer into the document).
func (c *converter) resolve(ref *jval, path string) (*jval, string) {
	if ref.kind != jStr {
		c.fail(path, "$ref must be a string")
		return nil, ""
	}
	r := ref.str
	if !strings.HasPrefix(r, "#") {
		c.unsupportedKw(path, "$ref "+strconv.Quote(r)+" (only local references: #/...)")
		return nil, ""
	}
	t := c.root
	ptr := r[1:]
	if ptr != "" {
		if !strings.HasPrefix(ptr, "/") {
			c.unsupportedKw(path, "$ref "+strconv.Quote(r)+" (anchors)")
			return nil, ""
		}
		for _, part := range strings.Split(ptr[1:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			switch t.kind {
			case jObj:
				t = t.get(part)
			case jArr:
				i, err := strconv.Atoi(part)
				if err != nil || i < 0 || i >= len(t.arr) {
					t = nil
				} else {
					t = t.arr[i]
				}
			default:
				t = nil
			}
			if t == nil {
				c.fail(path, "$ref %q points to nothing", r)
				return nil, ""
			}
		}
	}
	return t, r
}

// merge returns one schema for the values valid under both a and b (allOf),
// or nil after recording why it cannot.
func (c *converter) merge(a, b *jval, apath, bpath string, depth int) *jval {
	if c.err != nil {
		return nil
	}
	if c.merges++; depth > maxMergeDepth || c.merges > 10000 {
		c.fail(bpath, "allOf nested too deeply to merge")
		return nil
	}
	if a.kind == jBool {
		if a.b {
			return b
		}
		c.fail(apath, "allOf with the schema false matches no value")
		return nil
	}
	if b.kind == jBool {
		if b.b {
			return a
		}
		c.fail(bpath, "allOf with the schema false matches no value")
		return nil
	}
	if a.kind != jObj || b.kind != jObj {
		c.fail(bpath, "a schema must be an object or a boolean")
		return nil
	}
	c.checkKeywords(a, apath)
	c.checkKeywords(b, bpath)
	// resolve references and nested allOf first
	for _, x := range []**jval{&a, &b} {
		s := *x
		p := apath
		if x == &b {
			p = bpath
		}
		if r := s.get("$ref"); r != nil {
			t, tp := c.resolve(r, p)
			if t == nil {
				return nil
			}
			if *x = c.merge(t, without(s, "$ref"), tp, p, depth+1); *x == nil {
				return nil
			}
		}
		if all := (*x).get("allOf"); all != nil && all.kind == jArr {
			m := without(*x, "allOf")
			for i, sub := range all.arr {
				if m = c.merge(m, sub, p, child(p, "allOf", strconv.Itoa(i)), depth+1); m == nil {
					return nil
				}
			}
			*x = m
		}
		if (*x).kind == jBool {
			return c.merge(a, b, apath, bpath, depth+1)
		}
	}
	// distribute anyOf/oneOf: (A1|A2) & B = (A1&B) | (A2&B)
	for _, kw := range []string{"anyOf", "oneOf"} {
		for _, pair := range [][2]*jval{{a, b}, {b, a}} {
			x, y := pair[0], pair[1]
			alts := x.get(kw)
			if alts == nil || alts.kind != jArr {
				continue
			}
			if len(alts.arr) > maxAlts {
				c.fail(apath, "allOf: too many %s alternatives to distribute", kw)
				return nil
			}
			rest := c.merge(without(x, kw), y, apath, bpath, depth+1)
			if rest == nil {
				return nil
			}
			out := &jval{kind: jObj}
			for _, m := range rest.obj {
				if annotations[m.key] {
					out.obj = append(out.obj, m)
				}
			}
			var list []*jval
			for i, alt := range alts.arr {
				m := c.merge(without(rest, "title", "description"), alt, bpath, child(apath, kw, strconv.Itoa(i)), depth+1)
				if m == nil {
					return nil
				}
				list = append(list, m)
			}
			out.obj = append(out.obj, jmember{"anyOf", &jval{kind: jArr, arr: list}})
			return out
		}
	}
	out := &jval{kind: jObj, obj: slices.Clone(a.obj)}
	set := func(key string, v *jval) {
		for i, m := range out.obj {
			if m.key == key {
				out.obj[i].val = v
				return
			}
		}
		out.obj = append(out.obj, jmember{key, v})
	}
	num := func(v *jval) (*big.Rat, bool) {
		if v.kind != jNum {
			return nil, false
		}
		return new(big.Rat).SetString(v.num)
	}
	for _, m := range b.obj {
		av := a.get(m.key)
		if av == nil {
			set(m.key, m.val)
			continue
		}
		bv := m.val
		switch k := m.key; {
		case annotations[k] || strings.HasPrefix(k, "x-"):
		case av.equal(bv):
		case k == "type":
			t := intersectTypes(av, bv)
			if t == nil {
				c.fail(bpath, "allOf: the types do not overlap")
				return nil
			}
			set(k, t)
		case k == "properties":
			if av.kind != jObj || bv.kind != jObj {
				c.fail(bpath, "properties must be an object")
				return nil
			}
			props := &jval{kind: jObj, obj: slices.Clone(av.obj)}
			for _, pm := range bv.obj {
				if old := props.get(pm.key); old != nil {
					both := &jval{kind: jObj, obj: []jmember{{"allOf", &jval{kind: jArr, arr: []*jval{old, pm.val}}}}}
					for i := range props.obj {
						if props.obj[i].key == pm.key {
							props.obj[i].val = both
						}
					}
				} else {
					props.obj = append(props.obj, pm)
				}
			}
			set(k, props)
		case k == "required":
			req := &jval{kind: jArr, arr: slices.Clone(av.arr)}
			for _, r := range bv.arr {
				if !containsValue(req, r) {
					req.arr = append(req.arr, r)
				}
			}
			set(k, req)
		case k == "items" || k == "additionalItems" || k == "unevaluatedItems" || k == "unevaluatedProperties":
			set(k, &jval{kind: jObj, obj: []jmember{{"allOf", &jval{kind: jArr, arr: []*jval{av, bv}}}}})
		case k == "minItems" || k == "minLength" || k == "minProperties" || k == "minimum" || k == "exclusiveMinimum":
			x, ok1 := num(av)
			y, ok2 := num(bv)
			if !ok1 || !ok2 {
				c.fail(bpath, "allOf: cannot merge %s", k)
				return nil
			}
			if y.Cmp(x) > 0 {
				set(k, bv)
			}
		case k == "maxItems" || k == "maxLength" || k == "maxProperties" || k == "maximum" || k == "exclusiveMaximum":
			x, ok1 := num(av)
			y, ok2 := num(bv)
			if !ok1 || !ok2 {
				c.fail(bpath, "allOf: cannot merge %s", k)
				return nil
			}
			if y.Cmp(x) < 0 {
				set(k, bv)
			}
		case k == "enum":
			inter := &jval{kind: jArr}
			for _, v := range av.arr {
				if containsValue(bv, v) {
					inter.arr = append(inter.arr, v)
				}
			}
			if len(inter.arr) == 0 {
				c.fail(bpath, "allOf: the enums have no value in common")
				return nil
			}
			set(k, inter)
		default:
			c.unsupportedKw(bpath, "allOf with two different "+k)
			return nil
		}
	}
	// const and enum together: keep the const if enum allows it
	if cv, ev := out.get("const"), out.get("enum"); cv != nil && ev != nil {
		if !containsValue(ev, cv) {
			c.fail(bpath, "allOf: const is not in enum")
			return nil
		}
		out = without(out, "enum")
	}
	// additionalProperties of one side applies to the other side's properties
	for _, pair := range [][2]*jval{{a, b}, {b, a}} {
		x, y := pair[0], pair[1]
		ap := x.get("additionalProperties")
		if ap == nil || ap.kind == jBool && ap.b {
			continue
		}
		yp := y.get("properties")
		if yp == nil {
			continue
		}
		for _, m := range yp.obj {
			if x.get("properties").get(m.key) == nil {
				c.unsupportedKw(bpath, "allOf with additionalProperties and properties of another subschema")
				return nil
			}
		}
	}
	return out
}

// intersectTypes returns the types both type keywords allow, or nil.
func intersectTypes(a, b *jval) *jval {
	list := func(v *jval) []string {
		if v.kind == jStr {
			return []string{v.str}
		}
		var out []string
		for _, e := range v.arr {
			out = append(out, e.str)
		}
		return out
	}
	la, lb := list(a), list(b)
	var out []*jval
	add := func(t string) {
		for _, o := range out {
			if o.str == t {
				return
			}
		}
		out = append(out, &jval{kind: jStr, str: t})
	}
	for _, x := range la {
		for _, y := range lb {
			switch {
			case x == y:
				add(x)
			case x == "integer" && y == "number", x == "number" && y == "integer":
				add("integer")
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	if len(out) == 1 {
		return out[0]
	}
	return &jval{kind: jArr, arr: out}
}
