// Package grammar constrains generation to a formal language: a GBNF
// grammar (llama.cpp's syntax, so existing grammars work), a JSON Schema, or
// any JSON object. At each step a Matcher computes the mask of the tokens
// that can continue a valid text over the model's real vocabulary; the
// sampler draws only among them (sample.Sampler.SampleMasked) and the
// Matcher moves past the drawn token. runtime.GenerateOptions.Grammar does
// all of this for a generation.
//
//	g, err := grammar.FromJSONSchema(schema) // or ParseGBNF(src), JSONObject()
//	m, err := grammar.NewMatcher(g, grammar.NewVocab(tok), grammar.Options{})
//	for !m.Done() {
//		m.Mask(mask)                              // allowed tokens
//		id := sampler.SampleMasked(logits, history, mask)
//		m.Accept(id)
//	}
//
// # GBNF
//
// A grammar is rules "name ::= alternatives", one per line (a line may go
// on after "|", "::=" and inside parentheses); the rule root is the start.
// Items: "literal", [a-z0-9_] and [^...] character classes with ranges, .
// (any character), rule names, ( groups ), each maybe followed by *, +, ?,
// {m}, {m,} or {m,n}. Escapes in literals and classes: \x41, \u00e9,
// \U0001F600, \t, \r, \n, \\, \", \[, \]. "#" starts a comment. Token
// elements match one whole token: <[128009]> by id, <|im_end|> by its text,
// !<[id]> or !<text> any token but that one (but never an end-of-generation
// token). This is llama.cpp's syntax (grammars/README.md there) with these
// differences: a rule defined twice, a backwards range [z-a] and code
// points that are not Unicode scalar values are errors; repetition counts go
// up to MaxRepetition (llama.cpp: 2000).
//
// Characters are matched as their UTF-8 bytes: a class of code points
// becomes the byte sequences of their encodings, so a token that ends inside
// a character (a byte token <0xE6>, a byte-level BPE piece) is allowed when
// some continuation completes it, and invalid UTF-8 never matches.
//
// Errors are clear and bounded: syntax errors are a *SyntaxError with the
// line and column; undefined rules, left recursion (a rule that reaches
// itself before reading anything, directly or through rules that can be
// empty), rules that can never end, repetition counts above MaxRepetition,
// nesting deeper than MaxNesting, sources larger than MaxSource and grammars
// of more than MaxStates states are errors wrapping ErrGrammar.
//
// # Tokens
//
// A token's text is what the text stream shows for it
// (tokenizer.TokenText): "▁" read as a space, byte tokens as their byte,
// byte-level BPE pieces as their bytes, user-defined tokens as their text.
// A token is allowed when its text continues a valid prefix; tokens with no
// text (control, unknown, unused tokens) are never allowed, unless a token
// element names them; end-of-generation tokens (EOS, <|im_end|>,
// <|eot_id|> ...) only where the text is complete (Options.NoEOG: never).
// Tokens longer than 1,024 bytes are never allowed. After a prompt that is
// BOS alone, SentencePiece vocabularies drop the first space of the text
// (Options.StripFirstSpace, set by runtime): the grammar sees the text as
// the caller does.
//
// # Matching and its cost
//
// The grammar is compiled to one byte automaton per rule; the Matcher is a
// pushdown matcher whose sets of parse stacks are interned and whose byte
// transitions are cached, a lazily built DFA. Mask walks a trie of the
// vocabulary's token texts (tokens that share a prefix are checked
// together; a rejected prefix rejects its subtree) and caches the result:
//
//   - per kind of position: repetitions with counts above 16 are run by a
//     counter, and positions far from a count's bounds share one mask
//     (every position of a long bounded string but the last few);
//   - per context: a position is walked detached from the stacks below it,
//     once; a string value, an object, an array at another place or depth
//     walks only the tokens that leave it (a closing quote and what follows).
//
// Tokens longer than 16 bytes (about 1% of a vocabulary) are checked at every
// position. An ambiguous grammar can make the parse stacks grow with the
// text: past MaxStacks stacks, MaxDepth nested calls or 4M steps for one
// token the Matcher fails with ErrLimit rather than use unbounded time or
// memory.
//
// # JSON Schema
//
// FromJSONSchema supports: type (one or a list), enum, const, properties,
// required, additionalProperties (true, false or a schema), items (a schema,
// or a list: tuples), prefixItems, additionalItems, minItems, maxItems,
// minLength, maxLength, pattern, format date, time, date-time and uuid,
// minimum, maximum, exclusiveMinimum and exclusiveMaximum (numbers and
// booleans) for integer and number, anyOf, oneOf, allOf, local $ref ("#",
// "#/$defs/x", "#/definitions/x", any JSON pointer; recursive references
// too) and a schema of true or false. Annotations (title, description,
// default, examples, deprecated, readOnly, writeOnly, $comment, $schema,
// $defs, definitions, $id at the root, keys starting with "x-") are
// ignored. Every other keyword is refused with an *UnsupportedError that
// names all of them with their JSON pointers (not, if/then/else,
// patternProperties, propertyNames, dependentRequired, contains, other
// formats ...), never silently dropped. Some keywords are accepted only
// where the grammar satisfies them by construction: minProperties (at most
// the required properties), maxProperties (at least all properties, no
// additional ones), uniqueItems (maxItems at most 1), multipleOf (1, on
// integers), unevaluatedProperties and unevaluatedItems (the grammar makes
// no property or item another keyword does not evaluate). enum and const
// cannot be combined with other keywords than type.
//
// The grammar accepts a subset of the valid texts, chosen so that every
// accepted text validates:
//
//   - Objects list the required properties in schema order, then the
//     optional ones in schema order, each present or not, then additional
//     properties (when additionalProperties allows them; their names are not
//     declared ones and use no escapes), as llama.cpp's converter does.
//     Without additionalProperties only declared properties are generated.
//   - oneOf is enforced as anyOf: exact when the alternatives exclude each
//     other (different types, a const discriminator); otherwise a value may
//     match several alternatives.
//   - allOf is merged into one schema: properties and required are joined,
//     bounds take the strictest, types and enums intersect, anyOf/oneOf are
//     distributed; two different values of another keyword are refused.
//   - Numbers have at most 16 integer digits, 16 fraction digits and a
//     2-digit exponent; bounds are rounded inwards to integers (minimum 0.5
//     gives values from 1), and bounded numbers have no exponent.
//   - Strings: \u escapes never name a surrogate, so each escape is one
//     character for minLength/maxLength. date is a calendar date (leap years
//     included), time and date-time are RFC 3339 with seconds 00-59, at most
//     9 fraction digits and an offset, uuid is 8-4-4-4-12 hex digits.
//   - pattern uses Go's regexp syntax (RE2; lookaround and backreferences
//     are errors), unanchored as JSON Schema says (a pattern without ^ or $
//     allows text around the match); characters JSON must escape are
//     generated as escapes. It cannot be combined with minLength/maxLength.
//
// Whitespace is bounded so that a model cannot loop on it: between tokens
// (after { [ , : and after a value inside an object or an array) a text may
// have nothing, a space, or one or two newlines and up to 20 spaces or tabs,
// as llama.cpp allows; never before the first or after the last character,
// so a generation ends right after the closing brace.
//
// # Token limits
//
// If a generation's token limit comes before the grammar is complete, the
// text is cut: runtime reports the stop reason "length" and
// Stats.GrammarComplete false, as llama.cpp would just stop.
// runtime.GenerateOptions.FinishGrammar (Matcher.MaskWithin) instead keeps
// the text completable within the tokens left, so the last tokens close it.
package grammar
