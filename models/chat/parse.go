package chat

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// ParserOptions say what a Parser looks for in a model's output.
type ParserOptions struct {
	// Format is how the model writes tool calls (Template.ToolFormat).
	Format string
	// Tools: tool calls are parsed (the request offered tools); otherwise
	// all of the answer is content and reasoning.
	Tools bool
	// Reasoning: a <think>...</think> block at the start of the answer is
	// reasoning, not content.
	Reasoning bool
	// InReasoning: the answer starts inside a think block (its prompt ended
	// with "<think>", as DeepSeek-R1's and QwQ's templates do).
	InReasoning bool
	// NewID makes the IDs of calls the model gives none ("call_" and 16
	// random letters and digits by default; 9 for FormatMistral, whose
	// templates require that).
	NewID func() string
}

// Delta is what a piece of the output adds to the answer.
type Delta struct {
	Content   string
	Reasoning string
	ToolCalls []ToolCallDelta
}

// ToolCallDelta is a tool call of the answer. The Parser gives each call
// whole, in one delta, when the model has finished writing it (OpenAI's
// streaming form: the first delta of a call has its index, ID and name).
type ToolCallDelta struct {
	Index     int    // the call's position in the answer's calls
	ID        string // the call's ID
	Name      string // the function's name
	Arguments string // a JSON text of the arguments (compact)
}

// Parser splits a model's answer, fed as it is generated, into content,
// reasoning and tool calls. It never gives a piece of a tool call's or a
// think block's markers as content: text that may begin one is held until
// it is known.
type Parser struct {
	o        ParserOptions
	buf      string // received, not yet given out
	state    int
	started  bool // something beyond white space has been given out or consumed
	thought  bool // a think block has ended
	trim     bool // drop the white space before the next content (after a think block or a call)
	calls    int  // calls given so far
	open     string
	scan     jsonScan
	scanned  int // bytes of buf the scanner has seen
	searched int // bytes of buf searched for the closing marker
}

// Parser states.
const (
	pContent   = iota
	pReasoning // inside <think>
	pCall      // inside a call opened by p.open
)

// NewParser returns a parser of a model's answer.
func NewParser(o ParserOptions) *Parser {
	p := &Parser{o: o}
	if o.InReasoning {
		p.state, p.started, p.trim = pReasoning, true, true
	}
	return p
}

// NewToolCallParser returns a parser of the tool calls (and think blocks)
// of an answer in that format.
func NewToolCallParser(format string) *Parser {
	return NewParser(ParserOptions{Format: format, Tools: true, Reasoning: true})
}

// NewParser returns a parser of the model's answer to prompt, a
// rendering of t with opt: tool calls in t's format when opt offers
// tools, and reasoning when the template's model thinks (starting inside a
// think block when the prompt ends with "<think>").
func (t *Template) NewParser(prompt string, opt Options) *Parser {
	end := strings.TrimRight(prompt, " \n")
	return NewParser(ParserOptions{
		Format:      t.ToolFormat(),
		Tools:       len(bytes.TrimSpace(opt.Tools)) > 2,
		Reasoning:   t.thinks || strings.Contains(prompt, "<think>"),
		InReasoning: strings.HasSuffix(end, "<think>"),
	})
}

// ParseOutput parses a whole answer into an assistant message.
func ParseOutput(o ParserOptions, text string) Message {
	p := NewParser(o)
	m := Message{Role: "assistant"}
	for _, d := range []Delta{p.Feed(text), p.Close()} {
		m.Content += d.Content
		m.Reasoning += d.Reasoning
		for _, c := range d.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
	}
	return m
}

// Markers.
const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// callMarkers are the texts that open a tool call in the output of a
// format, each with its closing text ("" for a call that is a JSON value
// after the opening text).
func callMarkers(format string) [][2]string {
	switch format {
	case FormatHermes:
		return [][2]string{{"<tool_call>", "</tool_call>"}}
	case FormatMistral:
		return [][2]string{{"[TOOL_CALLS]", ""}}
	case FormatPhi4:
		return [][2]string{{"<|tool_call|>", "<|/tool_call|>"}, {"functools", ""}}
	case FormatGranite:
		return [][2]string{{"<|tool_call|>", ""}}
	case FormatLFM2:
		return [][2]string{{"<|tool_call_start|>", "<|tool_call_end|>"}}
	case FormatLlama3:
		return [][2]string{{"<|python_tag|>", ""}}
	}
	return nil
}

// startsWithJSON reports whether the format's calls may be a JSON value
// that is the whole answer (no marker).
func startsWithJSON(format string) bool {
	return format == FormatLlama3 || format == FormatGeneric || format == ""
}

// Feed parses the next piece of the output.
func (p *Parser) Feed(text string) Delta {
	p.buf += text
	var d Delta
	for p.step(&d, false) {
	}
	return d
}

// Close parses the rest of the output at its end: held text is content,
// an unfinished think block is reasoning, and an unfinished call is a call
// when what was written parses, content otherwise.
func (p *Parser) Close() Delta {
	var d Delta
	for p.step(&d, true) {
	}
	return d
}

// step makes one move of the state machine; it reports whether it made
// progress.
func (p *Parser) step(d *Delta, final bool) bool {
	if p.buf == "" {
		return false
	}
	switch p.state {
	case pReasoning:
		return p.stepReasoning(d, final)
	case pCall:
		return p.stepCall(d, final)
	}
	return p.stepContent(d, final)
}

func (p *Parser) stepContent(d *Delta, final bool) bool {
	if p.trim {
		p.buf = strings.TrimLeft(p.buf, " \t\r\n")
		if p.buf == "" {
			return false
		}
		p.trim = false
	}
	if !p.started {
		lead := len(p.buf) - len(strings.TrimLeft(p.buf, " \t\r\n"))
		rest := p.buf[lead:]
		if rest == "" {
			if final {
				d.Content += p.buf
				p.buf = ""
			}
			return false
		}
		if p.o.Reasoning && !p.thought {
			if strings.HasPrefix(rest, thinkOpen) {
				p.buf, p.state, p.started, p.trim = rest[len(thinkOpen):], pReasoning, true, true
				return true
			}
			if strings.HasPrefix(thinkOpen, rest) && !final {
				return false // may be the start of <think>
			}
		}
		if p.o.Tools && startsWithJSON(p.o.Format) {
			switch {
			case rest[0] == '{' || rest[0] == '[':
				p.buf, p.state, p.open, p.started = rest, pCall, "", true
				p.scan, p.scanned = jsonScan{}, 0
				return true
			case !final && strings.HasPrefix("```", rest):
				return false // may be a fenced JSON call
			case strings.HasPrefix(rest, "```"):
				if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
					if f := strings.TrimSpace(rest[3:nl]); f == "" || f == "json" {
						p.buf, p.state, p.open, p.started = rest, pCall, "```", true
						p.scan, p.scanned = jsonScan{}, nl+1
						return true
					}
				} else if !final {
					return false // may be a fenced JSON call
				}
			}
		}
		p.started = true
	}
	if !p.o.Tools {
		d.Content += p.buf
		p.buf = ""
		return false
	}
	// The first marker in buf, or the text that may begin one.
	at, which := -1, [2]string{}
	for _, m := range callMarkers(p.o.Format) {
		if i := strings.Index(p.buf, m[0]); i >= 0 && (at < 0 || i < at) {
			at, which = i, m
		}
	}
	if at >= 0 {
		d.Content += p.buf[:at]
		p.buf, p.state, p.open = p.buf[at+len(which[0]):], pCall, which[0]
		p.scan, p.scanned, p.searched = jsonScan{}, 0, 0
		return true
	}
	keep := 0
	if !final {
		for _, m := range callMarkers(p.o.Format) {
			keep = max(keep, partialSuffix(p.buf, m[0]))
		}
	}
	d.Content += p.buf[:len(p.buf)-keep]
	p.buf = p.buf[len(p.buf)-keep:]
	return false
}

func (p *Parser) stepReasoning(d *Delta, final bool) bool {
	if p.trim {
		p.buf = strings.TrimLeft(p.buf, " \t\r\n")
		if p.buf == "" {
			return false
		}
		p.trim = false
	}
	if i := strings.Index(p.buf, thinkClose); i >= 0 {
		d.Reasoning += strings.TrimRight(p.buf[:i], " \t\r\n")
		p.buf, p.state, p.trim = p.buf[i+len(thinkClose):], pContent, true
		p.started, p.thought = false, true // the answer starts after the thoughts
		return true
	}
	if final {
		d.Reasoning += strings.TrimRight(p.buf, " \t\r\n")
		p.buf = ""
		return false
	}
	// Hold the white space at the end (dropped before </think>) and what
	// may begin </think>.
	keep := partialSuffix(p.buf, thinkClose)
	give := strings.TrimRight(p.buf[:len(p.buf)-keep], " \t\r\n")
	d.Reasoning += give
	p.buf = p.buf[len(give):]
	return false
}

// stepCall waits for the end of a call, then gives it out (or, when it
// does not parse, its text as content).
func (p *Parser) stepCall(d *Delta, final bool) bool {
	closing := ""
	for _, m := range callMarkers(p.o.Format) {
		if m[0] == p.open {
			closing = m[1]
		}
	}
	var body, rest string
	done := false
	switch {
	case closing != "":
		// A JSON body is scanned to its end, so that the closing marker
		// may appear in its strings; other bodies end at the marker.
		if lead := strings.TrimLeft(p.buf, " \t\r\n"); !p.scan.bad && lead != "" && (lead[0] == '{' || lead[0] == '[') {
			end, ok := p.scanFrom(0)
			if !ok && !p.scan.bad && !final {
				return false
			}
			if ok {
				after := strings.TrimLeft(p.buf[end:], " \t\r\n")
				if strings.HasPrefix(after, closing) {
					body, rest, done = p.buf[:end], after[len(closing):], true
					break
				}
				if !final && strings.HasPrefix(closing, after) {
					return false
				}
			}
			p.scan.bad = true // not a JSON body after all: look for the marker
		}
		from := max(p.searched-len(closing), 0)
		if i := strings.Index(p.buf[from:], closing); i >= 0 {
			body, rest, done = p.buf[:from+i], p.buf[from+i+len(closing):], true
		} else {
			p.searched = len(p.buf)
		}
	case p.open == "[TOOL_CALLS]" && p.mistralNamed():
		// [TOOL_CALLS]name[ARGS]{...}: the arguments are a JSON value.
		i := strings.Index(p.buf, "[ARGS]")
		if i < 0 {
			break
		}
		if end, ok := p.scanFrom(i + len("[ARGS]")); ok {
			body, rest, done = p.buf[:end], p.buf[end:], true
		}
	default:
		start := 0
		if p.open == "```" {
			start = strings.IndexByte(p.buf, '\n') + 1
		}
		if end, ok := p.scanFrom(start); ok {
			body, rest, done = p.buf[:end], p.buf[end:], true
			if p.open == "" && p.o.Format == FormatLlama3 {
				// Llama 3.2 writes several calls separated by semicolons.
				r := strings.TrimLeft(rest, " \t\r\n")
				if r == "" && !final {
					return false
				}
				if strings.HasPrefix(r, ";") {
					p.scan, p.scanned = jsonScan{}, len(p.buf)-len(r)+1
					return p.stepCall(d, final)
				}
			}
			if p.open == "```" {
				r := strings.TrimLeft(rest, " \t\r\n")
				if !strings.HasPrefix(r, "```") {
					if !final && strings.HasPrefix("```", r) {
						return false
					}
					done = false
				} else {
					rest = r[3:]
				}
			}
		} else if p.scan.bad {
			if p.open == "<|python_tag|>" {
				if !final {
					return false // a Python call or code: all of the rest of the answer
				}
			} else {
				// Not JSON from here: what came before is the body.
				body, rest, done = p.buf[:p.scanned], p.buf[p.scanned:], true
			}
		}
	}
	if !done && !final {
		return false
	}
	if !done {
		body, rest = p.buf, ""
		if closing == "" && p.open != "" && p.open != "```" {
			body = strings.TrimRight(body, " \t\r\n")
		}
	}
	calls, ok := p.parseCalls(body)
	if !ok {
		raw := p.open + p.buf[:len(p.buf)-len(rest)]
		if p.open == "```" {
			raw = p.buf[:len(p.buf)-len(rest)]
		}
		if p.open == "" || p.open == "```" {
			// A JSON answer that is not a call: the answer's content.
			if m, isResp := genericResponse(body); isResp {
				raw = m
			}
		}
		d.Content += raw
		p.buf, p.state = rest, pContent
		return true
	}
	for _, c := range calls {
		d.ToolCalls = append(d.ToolCalls, ToolCallDelta{Index: p.calls, ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		p.calls++
	}
	p.buf, p.state, p.trim = rest, pContent, true
	return true
}

// mistralNamed reports whether a [TOOL_CALLS] call is of the name[ARGS]
// form (not a JSON list).
func (p *Parser) mistralNamed() bool {
	r := strings.TrimLeft(p.buf, " \t\r\n")
	return r != "" && r[0] != '[' && r[0] != '{'
}

// scanFrom scans buf for a JSON value starting at from (after white
// space); it reports the offset after the value when the value is whole.
func (p *Parser) scanFrom(from int) (int, bool) {
	if p.scan.done {
		return p.scanned, true
	}
	if p.scanned < from {
		p.scanned = from
	}
	n, ok := p.scan.feed(p.buf[p.scanned:])
	p.scanned += n
	p.scan.done = ok
	return p.scanned, ok
}

// parseCalls parses the body of a call in the parser's format.
func (p *Parser) parseCalls(body string) ([]ToolCall, bool) {
	var calls []ToolCall
	var ok bool
	switch {
	case p.o.Format == FormatLFM2:
		calls, ok = parseJSONCalls(body)
		if !ok {
			calls, ok = parsePythonCalls(body)
		}
	case p.open == "<|python_tag|>":
		calls, ok = parseJSONCalls(body)
		if !ok {
			if calls, ok = parsePythonCalls(body); !ok && strings.TrimSpace(body) != "" {
				// ipython code, for Llama's code interpreter.
				code, _ := json.Marshal(strings.TrimSpace(body))
				calls, ok = []ToolCall{{Name: "python", Arguments: `{"code":` + string(code) + `}`}}, true
			}
			for i := range calls {
				calls[i].Name = strings.TrimSuffix(calls[i].Name, ".call")
			}
		}
	case p.open == "[TOOL_CALLS]" && !strings.HasPrefix(strings.TrimSpace(body), "[") && !strings.HasPrefix(strings.TrimSpace(body), "{"):
		name, args, found := strings.Cut(body, "[ARGS]")
		var c ToolCall
		if c.Arguments, ok = compactJSON(strings.TrimSpace(args)); ok && found {
			c.Name = strings.TrimSpace(name)
			calls = []ToolCall{c}
		}
		ok = ok && found && c.Name != ""
	case p.open == "" && p.o.Format != FormatLlama3 || p.open == "```":
		calls, ok = parseGenericCalls(body)
	default:
		calls, ok = parseJSONCalls(body)
	}
	if !ok || len(calls) == 0 {
		return nil, false
	}
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = p.newID()
		}
	}
	return calls, true
}

func (p *Parser) newID() string {
	if p.o.NewID != nil {
		return p.o.NewID()
	}
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	n, prefix := 16, "call_"
	if p.o.Format == FormatMistral {
		n, prefix = 9, ""
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return prefix + string(b)
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of marker.
func partialSuffix(s, marker string) int {
	for n := min(len(s), len(marker)-1); n > 0; n-- {
		if strings.HasSuffix(s, marker[:n]) {
			return n
		}
	}
	return 0
}

// jsonScan finds the end of a JSON object or array in text fed piece by
// piece, without parsing it.
type jsonScan struct {
	depth      int
	inStr, esc bool
	started    bool
	bad        bool // the text is not an object or array
	done       bool // the value has ended (Parser.scanFrom)
}

// feed scans text; it returns how much it consumed and whether the value
// ended (then the count ends right after it).
func (s *jsonScan) feed(text string) (int, bool) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !s.started {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '{', '[':
				s.started, s.depth = true, 1
				continue
			}
			s.bad = true
			return i, false
		}
		switch {
		case s.esc:
			s.esc = false
		case s.inStr:
			switch c {
			case '\\':
				s.esc = true
			case '"':
				s.inStr = false
			}
		case c == '"':
			s.inStr = true
		case c == '{' || c == '[':
			s.depth++
		case c == '}' || c == ']':
			s.depth--
			if s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(text), false
}

// compactJSON returns the compact form of a JSON text.
func compactJSON(s string) (string, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return "", false
	}
	return b.String(), true
}

// callOf reads a call from a JSON object: {"name", "arguments" or
// "parameters", "id"}, or OpenAI's {"type": "function", "function":
// {...}, "id"}.
func callOf(raw json.RawMessage) (ToolCall, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return ToolCall{}, false
	}
	var c ToolCall
	if id, ok := obj["id"]; ok {
		_ = json.Unmarshal(id, &c.ID)
	}
	if fn, ok := obj["function"]; ok && len(bytes.TrimSpace(fn)) > 0 && bytes.TrimSpace(fn)[0] == '{' {
		inner, ok := callOf(fn)
		if inner.ID == "" {
			inner.ID = c.ID
		}
		return inner, ok
	}
	if err := json.Unmarshal(obj["name"], &c.Name); err != nil || c.Name == "" {
		return ToolCall{}, false
	}
	args, ok := obj["arguments"]
	if !ok {
		args, ok = obj["parameters"]
	}
	if !ok {
		c.Arguments = "{}"
		return c, true
	}
	var s string
	if json.Unmarshal(args, &s) == nil { // arguments given as a JSON text
		if a, ok := compactJSON(s); ok {
			c.Arguments = a
			return c, true
		}
	}
	c.Arguments, ok = compactJSON(string(args))
	return c, ok
}

// parseJSONCalls parses a call object, a list of them, or several objects
// separated by white space or semicolons (Llama 3.2 writes those).
func parseJSONCalls(body string) ([]ToolCall, bool) {
	var calls []ToolCall
	rest := strings.TrimSpace(body)
	if rest == "" {
		return nil, false
	}
	for rest != "" {
		var s jsonScan
		n, ok := s.feed(rest)
		if !ok {
			return nil, false
		}
		v := strings.TrimSpace(rest[:n])
		if v[0] == '[' {
			var list []json.RawMessage
			if err := json.Unmarshal([]byte(v), &list); err != nil || len(list) == 0 {
				return nil, false
			}
			for _, item := range list {
				c, ok := callOf(item)
				if !ok {
					return nil, false
				}
				calls = append(calls, c)
			}
		} else {
			c, ok := callOf(json.RawMessage(v))
			if !ok {
				return nil, false
			}
			calls = append(calls, c)
		}
		rest = strings.TrimLeft(rest[n:], " \t\r\n;,")
	}
	return calls, true
}

// parseGenericCalls parses FormatGeneric's {"tool_calls": [...]} (or
// {"tool_call": {...}}, or a bare call object or list).
func parseGenericCalls(body string) ([]ToolCall, bool) {
	body = strings.TrimSpace(body)
	if strings.HasPrefix(body, "```") {
		body = strings.TrimSpace(body[strings.IndexByte(body, '\n')+1:])
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &obj) == nil {
		if l, ok := obj["tool_calls"]; ok {
			return parseJSONCalls(string(l))
		}
		if c, ok := obj["tool_call"]; ok {
			return parseJSONCalls(string(c))
		}
	}
	return parseJSONCalls(body)
}

// genericResponse is the text of a {"response": "..."} answer.
func genericResponse(body string) (string, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(strings.TrimSpace(body)), &obj) != nil || len(obj) != 1 {
		return "", false
	}
	// Invalid UTF-8 inside the JSON string would decode to U+FFFD (three
	// bytes for one), making the text longer than the answer: such an
	// answer stays as it was written.
	var s string
	if r, ok := obj["response"]; ok && utf8.Valid(r) && json.Unmarshal(r, &s) == nil {
		return s, true
	}
	return "", false
}
