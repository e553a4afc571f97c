package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newLog(t *testing.T) (*Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func appendN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		r := &Record{Type: "run", Model: "m.gguf", PromptTokens: i + 1, GeneratedTokens: 2 * i, PromptSHA256: HashText(fmt.Sprint("prompt", i))}
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, path string) (Summary, []*Record, error) {
	t.Helper()
	var recs []*Record
	s, err := VerifyFile(path, func(r *Record) { recs = append(recs, r) })
	return s, recs, err
}

func TestHashText(t *testing.T) {
	if got, want := HashText("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("HashText(abc) = %s, want %s", got, want)
	}
}

func TestAppendVerify(t *testing.T) {
	l, path := newLog(t)
	appendN(t, l, 3)
	s, recs, err := verify(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 3 || s.Torn != 0 || s.TornEnd || len(recs) != 3 {
		t.Fatalf("summary %+v, %d records", s, len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.PromptTokens != i+1 || r.Time.IsZero() {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if recs[0].Prev != "" || recs[1].Prev == "" {
		t.Errorf("prev: %q, %q", recs[0].Prev, recs[1].Prev)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if HashText(lines[0]) != recs[1].Prev || HashText(lines[2]) != s.Last {
		t.Error("Prev is not the hash of the line before")
	}
	// Reopening continues the chain.
	l.Close()
	l2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	appendN(t, l2, 1)
	if s, _, err := verify(t, path); err != nil || s.Records != 4 {
		t.Fatalf("after reopening: %+v, %v", s, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		t.Errorf("log mode %v: readable by others", st.Mode())
	}
}

// TestTamper changes, removes, swaps and inserts lines: Verify must fail.
func TestTamper(t *testing.T) {
	l, path := newLog(t)
	appendN(t, l, 4)
	orig, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(orig), "\n")
	lines = lines[:len(lines)-1] // after the final newline
	cases := map[string]string{
		"changed":  strings.Join(lines[:1], "") + strings.Replace(lines[1], `"generated_tokens":2`, `"generated_tokens":3`, 1) + strings.Join(lines[2:], ""),
		"removed":  lines[0] + lines[2] + lines[3],
		"swapped":  lines[0] + lines[2] + lines[1] + lines[3],
		"inserted": lines[0] + lines[1] + "garbage\n" + lines[2] + lines[3],
		"fake recover": lines[0] + lines[1] + "garbage\n" +
			`{"seq":3,"time":"2025-01-01T00:00:00Z","prev":"x","event":"recover","seed":0,"prompt_tokens":0,"generated_tokens":0,"torn_sha256":"00"}` + "\n" + lines[2],
		"head changed": strings.Replace(lines[0], `"prompt_tokens":1`, `"prompt_tokens":9`, 1) + strings.Join(lines[1:], ""),
	}
	for name, content := range cases {
		if content == string(orig) {
			t.Fatalf("%s: tampering did not change the file", name)
		}
		p := filepath.Join(t.TempDir(), "log")
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := VerifyFile(p, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestTornWrite simulates crashes in the middle of a write.
func TestTornWrite(t *testing.T) {
	l, path := newLog(t)
	appendN(t, l, 2)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":3,"time":"2025-`)
	f.Close()
	s, recs, err := verify(t, path)
	if err != nil || s.Records != 2 || !s.TornEnd || s.Torn != 1 || len(recs) != 2 {
		t.Fatalf("torn end: %+v, %v", s, err)
	}
	appendN(t, l, 1)
	s, recs, err = verify(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 4 || s.Torn != 1 || s.TornEnd || recs[2].Type != TypeRecover || recs[3].Type != "run" || recs[3].Seq != 4 {
		t.Fatalf("after recovery: %+v; records %v", s, recs)
	}
	// A complete line that is not a record is never a torn write, even at
	// the end: Verify fails and Append refuses to write after it.
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("half a line\n{\"seq\":5,\"event\":\"rec")
	f.Close()
	if _, _, err := verify(t, path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage line before a torn end: %v, want ErrCorrupt", err)
	}
	if err := l.Append(&Record{Type: "run"}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Append after a garbage line: %v, want ErrCorrupt", err)
	}
	if recs[2].TornBytes != len(`{"seq":3,"time":"2025-`) || !recs[2].TornCut {
		t.Errorf("recover record %+v", recs[2])
	}
}

// TestTornFirstLine recovers a log whose first write was torn.
func TestTornFirstLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	os.WriteFile(path, []byte(`{"seq":1,"ti`), 0o600)
	if s, err := VerifyFile(path, nil); err != nil || s.Records != 0 || !s.TornEnd {
		t.Fatalf("%+v, %v", s, err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 2)
	s, recs, err := verify(t, path)
	if err != nil || s.Records != 3 || recs[0].Type != TypeRecover || recs[0].Prev != "" {
		t.Fatalf("%+v, %v", s, err)
	}
}

// TestConcurrentAppends appends from goroutines through two Logs on the same
// file: the chain must stay intact (flock on unix).
func TestConcurrentAppends(t *testing.T) {
	if os.PathSeparator != '/' {
		t.Skip("cross-Log locking needs flock")
	}
	l1, path := newLog(t)
	l2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := l1
			if g%2 == 1 {
				l = l2
			}
			for range 25 {
				if err := l.Append(&Record{Type: "run"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s, _, err := verify(t, path); err != nil || s.Records != 100 {
		t.Fatalf("%+v, %v", s, err)
	}
}

func TestTextOnlyWhenAsked(t *testing.T) {
	l, path := newLog(t)
	secret := "patient has a rash"
	if err := l.Append(&Record{Type: "run", PromptSHA256: HashText(secret)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(`"prompt"`)) {
		t.Fatalf("the prompt text is in the log: %s", b)
	}
	if err := l.Append(&Record{Type: "run", Prompt: &secret}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if !bytes.Contains(b, []byte(secret)) {
		t.Fatal("included text missing")
	}
}

func TestClosed(t *testing.T) {
	l, _ := newLog(t)
	l.Close()
	if err := l.Append(&Record{}); err == nil {
		t.Fatal("Append after Close succeeded")
	}
}

func TestVerifyLongLine(t *testing.T) {
	r := strings.NewReader(strings.Repeat("x", MaxLine+10))
	if _, err := Verify(r, nil); err == nil {
		t.Fatal("a line longer than MaxLine was accepted")
	}
}
