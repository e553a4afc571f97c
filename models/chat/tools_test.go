package chat

import (
	"context"
	"strings"
	"testing"
)

// TestToolTemplatesInterpreter checks the interpreter on the real templates
// with tools, tool calls and results, reasoning and the thinking switch
// against Python jinja2's renderings (without the polyfills that write
// calls into contents or describe the tools of templates that ignore
// them; TestToolTemplates checks those).
func TestToolTemplatesInterpreter(t *testing.T) {
	for _, r := range realTemplates {
		j, err := interpreted(r.tmpl)
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		for i, c := range toolConversations {
			got, err := j.renderJinja(context.Background(), c.msgs, c.options(r), nil)
			checkGolden(t, r.name+" (interpreter)", i, got, err, r.toolWant[i])
		}
	}
}

// TestToolTemplates checks Detect's templates (a family's Go rendering
// where Detect found that it matches) on the tool conversations: the
// Python renderings where the template takes tools and calls, and
// otherwise the polyfills' output.
func TestToolTemplates(t *testing.T) {
	for _, r := range realTemplates {
		tm, err := Detect(r.tmpl)
		if err != nil {
			t.Errorf("%s: %v", r.name, err)
			continue
		}
		j, _ := interpreted(r.tmpl)
		t.Logf("%-45s %-10s famTools %-5v format %-8s caps %+v", r.name, tm.Name, tm.famTools, tm.format, tm.caps)
		for i, c := range toolConversations {
			got, err := tm.Render(context.Background(), c.msgs, c.options(r))
			if !tm.caps.noTools && !tm.caps.callsInContent {
				checkGolden(t, r.name, i, got, err, r.toolWant[i])
				continue
			}
			// The polyfills: the same as the interpreter on the prepared conversation.
			msgs, perr := j.prepare(c.msgs, c.options(r))
			if perr != nil {
				t.Fatal(perr)
			}
			want, werr := j.renderJinja(context.Background(), msgs, c.options(r), nil)
			if (err != nil) != (werr != nil) || got != want {
				t.Errorf("%s tool conversation %d:\n got %q, %v\nwant %q, %v", r.name, i, got, err, want, werr)
			}
		}
	}
}

// checkGolden compares a rendering with its golden ("\x00error: ..." for
// a template that raises).
func checkGolden(t *testing.T, name string, i int, got string, err error, want string) {
	t.Helper()
	if msg, ok := strings.CutPrefix(want, "\x00error: "); ok {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s tool conversation %d: %q, %v; want the error %q", name, i, got, err, msg)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s tool conversation %d:\n got %q, %v\nwant %q", name, i, got, err, want)
	}
}
