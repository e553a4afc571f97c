package main

import (
	"strings"
	"testing"
)

// TestAnswerWriter feeds a thinking model's answer in awkward pieces: the
// reasoning is hidden behind one note by default, printed on stderr with
// --show-reasoning (stdout is not a terminal here), and stdout holds only
// the answer.
func TestAnswerWriter(t *testing.T) {
	pieces := []string{"<th", "ink>\nTwo and", " two make four.\n</", "think>\n\n", "It is ", "4."}
	for _, tc := range []struct {
		show        bool
		in          bool // the prompt ended with <think>
		wantErrPart string
	}{
		{false, false, "[thinking... (--show-reasoning shows it)]"},
		{true, false, "Two and two make four."},
		{false, true, "[thinking..."},
	} {
		var out, errw strings.Builder
		w := newAnswerWriter(&out, &errw, tc.show, tc.in)
		ps := pieces
		if tc.in {
			ps = append([]string{"\nTwo and"}, pieces[2:]...)
		}
		for _, p := range ps {
			w.feed(p)
		}
		w.close()
		if out.String() != "It is 4." {
			t.Errorf("show=%v in=%v: stdout %q, want only the answer", tc.show, tc.in, out.String())
		}
		if !strings.Contains(errw.String(), tc.wantErrPart) || strings.Count(errw.String(), "[thinking") > 1 {
			t.Errorf("show=%v in=%v: stderr %q, want %q once", tc.show, tc.in, errw.String(), tc.wantErrPart)
		}
		if got := strings.TrimSpace(w.reasoning.String()); got != "Two and two make four." {
			t.Errorf("show=%v in=%v: reasoning %q", tc.show, tc.in, got)
		}
	}
	// A model that does not think: every byte is content.
	var out, errw strings.Builder
	w := newAnswerWriter(&out, &errw, false, false)
	for _, p := range []string{" Once", " upon a", " time <b>"} {
		w.feed(p)
	}
	w.close()
	if out.String() != "Once upon a time <b>" || errw.Len() != 0 {
		t.Errorf("no reasoning: %q, %q", out.String(), errw.String())
	}
}

// TestChatThinkFlags: --think and --reasoning-budget are accepted where they
// mean something and refused with a reason otherwise.
func TestChatThinkFlags(t *testing.T) {
	for _, args := range [][]string{{"--think", "off"}, {"--think", "on"}, {"--reasoning-budget", "0"}} {
		a := append([]string{"chat", "-m", storiesModel, "--chat-template", "qwen3", "--temp", "0", "-n", "6"}, args...)
		out, errs, code := runCLI(t, "Hello\n", a...)
		if code != 0 || strings.TrimSpace(out) == "" {
			t.Errorf("%v: exit %d, %q, %q", args, code, out, errs)
		}
	}
	for _, args := range [][]string{{"--think", "maybe"}, {"--reasoning-budget", "100"}} {
		a := append([]string{"chat", "-m", storiesModel, "--chat-template", "qwen3"}, args...)
		if _, errs, code := runCLI(t, "Hello\n", a...); code != 2 || !strings.Contains(errs, args[0]) {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
}
