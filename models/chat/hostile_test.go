package chat

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hostileCase is a template a model file could carry to crash, hang or
// exhaust the program that renders it. msg, when set, is the content of
// the conversation's last user message (a request that triggers a
// template that passes Detect's probes). want is what rendering gives:
// "budget" an error wrapping ErrBudget, "ok" no error, anything else an
// error containing that text.
type hostileCase struct {
	name, src, msg, want string
}

const maxInt = "9223372036854775807"

// hostileCases: the classes of issue 20 (strings.Repeat overflow, huge
// indent and tojson indent, joins and replacements that multiply their
// input, list repetition, cyclic namespaces) and more of each kind.
var hostileCases = []hostileCase{
	// Repetition: overflowing and huge counts.
	{"str-repeat-maxint", "{{ 'x' * " + maxInt + " }}", "", "budget"},
	{"str-repeat-overflow", "{{ 'ab' * 4611686018427387904 }}", "", "budget"},
	{"str-repeat-wraps-to-small", "{{ 'abcd' * 4611686018427387905 }}", "", "budget"},
	{"int-times-str", "{{ " + maxInt + " * 'x' }}", "", "budget"},
	{"str-repeat-100M", "{{ 'x' * 100000000 }}", "", "budget"},
	{"list-repeat-maxint", "{{ [1] * " + maxInt + " }}", "", "budget"},
	{"list-repeat-overflow", "{{ [1, 2] * 4611686018427387904 }}", "", "budget"},
	{"list-repeat-100M", "{% set l = [0] * 100000000 %}", "", "budget"},
	{"messages-repeat", "{% for m in messages * 1000000 %}{{ m.content }}{% endfor %}", "", "budget"},
	{"message-content-repeat", "{{ messages[-1].content * 100000000 }}", "", "budget"},
	// Joins of many references to one big string.
	{"join-refs", "{{ (['x' * 1000] * 100000) | join }}", "", "budget"},
	{"join-sep", "{{ (['x' * 10000] * 10000) | join(',') }}", "", "budget"},
	{"join-huge-sep", "{{ ['a', 'b'] | join('x' * 100000000) }}", "", "budget"},
	{"join-method", "{{ ' '.join(['x' * 1000] * 100000) }}", "", "budget"},
	{"join-map-string", "{{ range(1000000) | map('string') | join }}", "", "budget"},
	{"join-messages-sep", "{{ messages | map(attribute='content') | join(messages[-1].content * 100000) }}", "0123456789", "budget"},
	// Replacements that multiply their input.
	{"replace-empty", "{{ ('x' * 100000).replace('', 'y' * 1000) }}", "", "budget"},
	{"replace-empty-filter", "{{ ('x' * 100000) | replace('', 'y' * 1000) }}", "", "budget"},
	{"replace-grow", "{{ ('a' * 1000000) | replace('a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb') }}", "", "budget"},
	{"replace-8MB-10x", "{% set ns = namespace(s='x' * 8000000) %}{% for i in range(10) %}{% set ns.s = ns.s.replace('x', 'x') %}{% endfor %}{{ ns.s | length }}", "", "budget"},
	{"replace-1000x", "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(1000) %}{% set ns.s = ns.s | replace('x', 'x') %}{% endfor %}", "", "budget"},
	{"replace-message", "{{ messages[-1].content.replace('', messages[-1].content) }}", strings.Repeat("x", 20000), "budget"},
	// Indentation.
	{"indent-maxint", "{{ 'x\ny' | indent(" + maxInt + ") }}", "", "budget"},
	{"indent-100M", "{{ 'a\nb' | indent(100000000) }}", "", "budget"},
	{"indent-many-lines", "{{ ('\n' * 100000) | indent(1000, blank=true) }}", "", "budget"},
	{"indent-string-pad", "{{ ('\n' * 100000) | indent('x' * 1000, true, true) }}", "", "budget"},
	{"indent-negative", "{{ 'a\nb' | indent(-" + maxInt + ") }}", "", "ok"},
	{"tojson-indent-maxint", "{{ [[[[1]]]] | tojson(indent=" + maxInt + ") }}", "", "budget"},
	{"tojson-indent-100M", "{{ [1, [2, [3]]] | tojson(indent=100000000) }}", "", "budget"},
	{"tojson-indent-messages", "{{ messages | tojson(indent=10000000) }}", "", "budget"},
	{"tojson-indent-negative", "{{ [1, 2] | tojson(indent=-5) }}", "", "ok"},
	{"tojson-indent-string", "{{ [[[1]]] | tojson(indent='x' * 10000000) }}", "", "budget"},
	// Padding and formatting.
	{"center-maxint", "{{ 'x' | center(" + maxInt + ") }}", "", "budget"},
	{"center-method", "{{ 'x'.center(100000000) }}", "", "budget"},
	{"ljust", "{{ 'x'.ljust(100000000, '*') }}", "", "budget"},
	{"rjust-maxint", "{{ 'x'.rjust(" + maxInt + ") }}", "", "budget"},
	{"zfill", "{{ '-1'.zfill(100000000) }}", "", "budget"},
	{"format-width-digits", "{{ '%99999999999999999999s' | format('x') }}", "", "budget"},
	{"format-width", "{{ '%100000000s' | format('x') }}", "", "budget"},
	{"format-many", "{{ ('%s' * 100000) | format(*(['x' * 1000] * 100000)) }}", "", "budget"},
	{"brace-format-many", "{{ ('{}' * 100000).format(*(['x' * 1000] * 100000)) }}", "", "budget"},
	{"truncate-maxint", "{{ ('x' * 1000) | truncate(" + maxInt + ") }}", "", "ok"},
	{"wordwrap-unsupported", "{{ ('x ' * 1000000) | wordwrap(1) }}", "", "not supported"},
	{"pprint-long", "{{ range(1000) | list | pprint }}", "", "not supported"},
	{"strftime-huge", "{{ strftime_now('%Y' * 1000000) }}", "", "budget"},
	// Ranges and slices: sizes checked before building, no overflow.
	{"range-maxint", "{{ range(" + maxInt + ") | list }}", "", "budget"},
	{"range-100M-loop", "{% for i in range(100000000) %}{% endfor %}", "", "budget"},
	{"range-full-int", "{% for i in range((-" + maxInt + " - 1), " + maxInt + ") %}{% endfor %}", "", "budget"},
	{"range-min-step", "{% for i in range(" + maxInt + ", (-" + maxInt + " - 1), (-" + maxInt + " - 1)) %}{{ i }},{% endfor %}", "", "ok"},
	{"range-huge-step", "{% for i in range(0, " + maxInt + ", 4611686018427387904) %}{{ i }},{% endfor %}", "", "ok"},
	{"slice-huge-step", "{{ range(10)[1::" + maxInt + "] }}", "", "ok"},
	{"slice-str-huge-step", "{{ 'abc'[1::" + maxInt + "] }}", "", "ok"},
	{"slice-min-step", "{{ 'abc'[::(-" + maxInt + " - 1)] }}{{ [1, 2, 3][::(-" + maxInt + " - 1)] }}", "", "ok"},
	{"slice-extreme-bounds", "{{ [1, 2, 3][(-" + maxInt + " - 1):" + maxInt + "] }}", "", "ok"},
	{"slice-big-string", "{% for i in range(100) %}{% set s = ('x' * 1000000)[1:] %}{% endfor %}", "", "budget"},
	{"reverse-big-string", "{% for i in range(100) %}{% set s = ('x' * 1000000)[::-1] %}{% endfor %}", "", "budget"},
	{"index-big-string", "{% set s = 'x' * 1000000 %}{% for i in range(100000) %}{% set c = s[-1] %}{% endfor %}", "", "budget"},
	// Cycles and deep values: a depth limit, not a stack overflow.
	{"namespace-self-tojson", "{% set ns = namespace() %}{% set ns.self = ns %}{{ ns | tojson }}", "", "budget"},
	{"namespace-list-cycle-tojson", "{% set ns = namespace(a=[]) %}{% set ns.a = [ns] %}{{ ns | tojson }}", "", "budget"},
	{"namespace-dict-cycle-tojson", "{% set ns = namespace() %}{% set ns.d = {'k': ns} %}{{ ns.d | tojson(indent=2) }}", "", "budget"},
	{"namespace-self-repr", "{% set ns = namespace() %}{% set ns.l = [ns] %}{{ ns.l }}", "", "ok"},
	{"deep-list-repr", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}", "", "budget"},
	{"deep-list-eq", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v == ns.v }}", "", "budget"},
	{"deep-list-in", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v in [ns.v] }}", "", "budget"},
	{"deep-list-sort", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ [ns.v, ns.v] | sort }}", "", "budget"},
	{"deep-list-lt", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v < ns.v }}", "", "budget"},
	{"deep-dict-tojson", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = {'a': ns.v} %}{% endfor %}{{ ns.v | tojson }}", "", "budget"},
	{"deep-string-filter", "{% set ns = namespace(v=1) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v | string | length }}", "", "budget"},
	{"shared-tree-tojson", "{% set ns = namespace(v='x' * 1000) %}{% for i in range(40) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v | tojson }}", "", "budget"},
	{"shared-tree-eq", "{% set ns = namespace(v='x') %}{% for i in range(60) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v == ns.v }}", "", "budget"},
	{"shared-tree-join", "{% set ns = namespace(v='x') %}{% for i in range(60) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v | join }}", "", "budget"},
	{"triggered-cycle", "{% if messages[-1].content == 'boom' %}{% set ns = namespace() %}{% set ns.x = ns %}{{ ns | tojson }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}", "boom", "budget"},
	// Recursion.
	{"macro-recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "", "budget"},
	{"macro-exponential", "{% macro f(n) %}{% if n < 100 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}", "", "budget"},
	{"macro-call-block-recursion", "{% macro m() %}{% call m() %}x{% endcall %}{% endmacro %}{{ m() }}", "", "budget"},
	{"caller-self", "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{{ caller() }}{% endcall %}", "", "undefined"},
	{"caller-recursion", "{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}{% endcall %}{% endmacro %}{{ r() }}", "", "budget"},
	{"macro-big-output", "{% macro f() %}{{ 'x' * 1000000 }}{% endmacro %}{% for i in range(100) %}{{ f() }}{% endfor %}", "", "budget"},
	{"macro-mutual", "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}", "", "budget"},
	// Work: loops, quadratic filters, growth.
	{"nested-loops", "{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}", "", "budget"},
	{"deep-nested-loops", strings.Repeat("{% for a in range(10) %}", 12) + strings.Repeat("{% endfor %}", 12), "", "budget"},
	{"loop-output", "{% for i in range(1000000) %}{{ i }}{% endfor %}", "", "budget"},
	{"loop-set", "{% set ns = namespace() %}{% for i in range(1000000) %}{% set ns.x = i %}{% endfor %}", "", "budget"},
	{"loop-cycle", "{% for i in range(1000000) %}{% set x = loop.cycle(1, 2) %}{% endfor %}", "", "budget"},
	{"unique-quadratic", "{{ range(100000) | unique | list | length }}", "", "budget"},
	{"sort-big", "{{ range(1000000) | sort | length }}", "", "budget"},
	{"concat-quadratic", "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}", "", "budget"},
	{"list-append-quadratic", "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i] %}{% endfor %}", "", "budget"},
	{"string-iterate", "{% for c in 'x' * 10000000 %}{% endfor %}", "", "budget"},
	{"string-list", "{{ ('x' * 10000000) | list | length }}", "", "budget"},
	{"string-unpack", "{% for k, v in 'ab' * 1000000 %}{% endfor %}", "", "budget"},
	{"split-fields", "{{ ('x ' * 5000000).split() | length }}", "", "budget"},
	{"split-sep", "{{ ('x,' * 5000000).split(',') | length }}", "", "budget"},
	{"splitlines", "{{ ('\n' * 10000000).splitlines() | length }}", "", "budget"},
	{"batch", "{{ range(1000000) | batch(1) | list | length }}", "", "budget"},
	{"sum-big", "{% for i in range(1000) %}{% set s = range(100000) | sum %}{% endfor %}", "", "budget"},
	{"find-loop", "{% set s = 'ab' * 4000000 %}{% for i in range(1000) %}{% set x = s.find('c') %}{% endfor %}", "", "budget"},
	{"in-loop", "{% set s = 'ab' * 4000000 %}{% for i in range(1000) %}{% set x = 'c' in s %}{% endfor %}", "", "budget"},
	{"upper-loop", "{% set s = 'ab' * 1000000 %}{% for i in range(1000) %}{% set x = s | upper %}{% endfor %}", "", "budget"},
	{"filter-block", "{% filter upper %}{% for i in range(1000000) %}xxxxxxxxxx{% endfor %}{% endfilter %}", "", "budget"},
	{"set-block", "{% set big %}{% for i in range(1000000) %}xxxxxxxxxx{% endfor %}{% endset %}", "", "budget"},
	{"output-big", "{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}", "", "budget"},
	{"output-messages", "{% for i in range(1000000) %}{% for m in messages %}{{ m.content }}{% endfor %}{% endfor %}", "", "budget"},
	{"dict-growth", "{% set ns = namespace(d={}) %}{% for i in range(100000) %}{% set ns.d = dict(ns.d, k=ns.d) %}{% endfor %}{{ ns.d | tojson }}", "", "budget"},
	{"triggered-message-count", "{% if messages | length > 10 %}{{ 'x' * " + maxInt + " }}{% endif %}{{ messages[-1].content }}", "many", "budget"},
	// Arithmetic edges: no panic.
	{"int-min-div", "{{ (-" + maxInt + " - 1) // -1 }} {{ (-" + maxInt + " - 1) % -1 }}", "", "ok"},
	{"pow-huge", "{{ 2 ** " + maxInt + " }} {{ 10 ** 1000 }} {{ (-2) ** -" + maxInt + " }}", "", "ok"},
	{"int-of-inf", "{{ (10 ** 400) | int }}", "", "out of range"},
	{"round-huge", "{{ 1.5 | round(" + maxInt + ") }} {{ 1.5 | round(-" + maxInt + ") }}", "", "ok"},
	{"int-literal-overflow", "{{ 99999999999999999999 }}", "", "bad integer"},
	{"division-by-zero", "{{ 1 // 0 }}", "", "division by zero"},
	{"raise-huge", "{{ raise_exception('x' * 10000000) }}", "", "template error"},
	{"undefined-chain", "{{ a.b.c }}", "", "undefined"},
	{"iterate-none", "{% for x in none %}{% endfor %}", "", "not iterable"},
}

// hostileMessages are the conversation of a hostile case (msg is the
// last user message).
func hostileMessages(msg string) []Message {
	if msg == "" {
		msg = "Hello"
	}
	msgs := []Message{{Role: "system", Content: "Be brief."}}
	n := 1
	if msg == "many" {
		n = 6
	}
	for range n {
		msgs = append(msgs, Message{Role: "user", Content: "Hi"}, Message{Role: "assistant", Content: "Hey"})
	}
	return append(msgs, Message{Role: "user", Content: msg})
}

// heapPeak runs f and returns the most heap memory in use while it ran,
// beyond what was in use before.
func heapPeak(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-stopped
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// TestHostileTemplates checks that every hostile template fails cleanly
// (or renders, for the edge cases that are fine) within 2 s of CPU time
// (the wall time depends on the load of a shared machine; it must stay
// under 30 s) and 256 MiB of heap with the default budgets, through Detect
// and through a render of a triggering conversation.
func TestHostileTemplates(t *testing.T) {
	timeLimit, wallLimit := 2*time.Second, 30*time.Second
	if raceEnabled {
		timeLimit, wallLimit = 10*timeLimit, 10*wallLimit
	}
	for i, c := range hostileCases {
		t.Run(fmt.Sprintf("%02d-%s", i, c.name), func(t *testing.T) {
			var derr, rerr error
			var out string
			start, cpu := time.Now(), cpuTime()
			peak := heapPeak(func() {
				_, derr = Detect(c.src)
				prog, err := parseTemplate(c.src)
				if err != nil {
					rerr = err
					return
				}
				out, rerr = run(context.Background(), prog, hostileMessages(c.msg), Options{BOS: "<s>", EOS: "</s>", AddGenerationPrompt: true}, jinjaCaps{}, nil)
			})
			elapsed, cpuUsed := time.Since(start), cpuTime()-cpu
			if derr != nil && !errors.Is(derr, ErrUnknownTemplate) {
				t.Errorf("Detect error does not wrap ErrUnknownTemplate: %v", derr)
			}
			switch c.want {
			case "ok":
				if rerr != nil {
					t.Errorf("render: %v", rerr)
				}
			case "budget":
				if !errors.Is(rerr, ErrBudget) {
					t.Errorf("render: %v (output %d bytes), want a budget error", rerr, len(out))
				}
			default:
				if rerr == nil || !strings.Contains(rerr.Error(), c.want) {
					t.Errorf("render: %v, want an error containing %q", rerr, c.want)
				}
			}
			if rerr != nil && len(rerr.Error()) > 2000 {
				t.Errorf("error of %d bytes", len(rerr.Error()))
			}
			if cpuUsed > timeLimit || elapsed > wallLimit {
				t.Errorf("took %v of CPU time, %v of wall time (limits %v, %v)", cpuUsed, elapsed, timeLimit, wallLimit)
			}
			if peak > 256<<20 {
				t.Errorf("heap grew by %d MiB", peak>>20)
			}
			t.Logf("%v CPU, %v wall, heap +%d KiB: %.200v", cpuUsed.Round(time.Millisecond), elapsed.Round(time.Millisecond), peak>>10, rerr)
		})
	}
}

// TestHostileTriggered checks templates that pass Detect and misbehave
// only on a certain request: Detect accepts them, and the render of that
// request is a budget error.
func TestHostileTriggered(t *testing.T) {
	for _, c := range hostileCases {
		if !strings.HasPrefix(c.name, "triggered-") {
			continue
		}
		tm, err := Detect(c.src)
		if err != nil {
			t.Errorf("%s: Detect: %v", c.name, err)
			continue
		}
		_, err = tm.Render(context.Background(), hostileMessages(c.msg), Options{AddGenerationPrompt: true})
		if !errors.Is(err, ErrBudget) || !strings.Contains(err.Error(), "template exceeds its budget: ") {
			t.Errorf("%s: Render: %v", c.name, err)
		}
		if _, err := tm.Render(context.Background(), hostileMessages(""), Options{AddGenerationPrompt: true}); err != nil {
			t.Errorf("%s: a harmless request: %v", c.name, err)
		}
	}
}

// TestRenderContext checks that a render stops when its context is
// cancelled or times out.
func TestRenderContext(t *testing.T) {
	src := "{% for m in messages %}{{ m.content }}{% endfor %}{% if messages | length > 5 %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endif %}"
	tm, err := Detect(src)
	if err != nil {
		t.Fatal(err)
	}
	msgs := hostileMessages("many")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	// A work budget so large that only the context stops the render.
	_, err = tm.Render(ctx, msgs, Options{Limits: Limits{Work: 1 << 50, Memory: 1 << 40}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Render: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopped after %v", d)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := tm.Render(ctx, msgs, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Render with a cancelled context: %v", err)
	}
}

// TestLimitsConfigurable checks that Options.Limits changes the budgets
// and that the error names the budget.
func TestLimitsConfigurable(t *testing.T) {
	tm, err := Detect("{% for m in messages %}{{ m.content * 1000 }}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: strings.Repeat("x", 2000)}}
	if _, err := tm.Render(context.Background(), msgs, Options{}); err == nil || !strings.Contains(err.Error(), "bytes of output") {
		t.Errorf("2 MB of output under the defaults: %v", err)
	}
	if _, err := tm.Render(context.Background(), msgs, Options{Limits: Limits{Output: 4 << 20}}); err != nil {
		t.Errorf("2 MB of output under a 4 MiB budget: %v", err)
	}
	_, err = tm.Render(context.Background(), msgs, Options{Limits: Limits{Memory: 1000}})
	var be *BudgetError
	if !errors.As(err, &be) || be.Budget != "memory" {
		t.Errorf("a tiny memory budget: %v", err)
	}
	_, err = tm.Render(context.Background(), msgs, Options{Limits: Limits{Work: 1000}})
	if !errors.As(err, &be) || be.Budget != "work" {
		t.Errorf("a tiny work budget: %v", err)
	}
	tm, _ = Detect("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(messages | length * 10) }}{{ messages[0].content }}")
	if _, err := tm.Render(context.Background(), msgs, Options{Limits: Limits{Depth: 5}}); !errors.As(err, &be) || be.Budget != "depth" {
		t.Errorf("a depth of 5: %v", err)
	}
}

// TestLongConversation checks that a long conversation renders under the
// default budgets with real templates (the allowances grow with the
// input).
func TestLongConversation(t *testing.T) {
	var msgs []Message
	for i := range 200 {
		c := strings.Repeat(fmt.Sprintf("word%d ", i), 1000) // 7 KB a message, 1.4 MB in all
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		msgs = append(msgs, Message{Role: role, Content: c})
	}
	for _, c := range realTemplates {
		tm, err := interpreted(c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tm.Render(context.Background(), msgs, Options{BOS: c.bos, EOS: c.eos, AddGenerationPrompt: true}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
