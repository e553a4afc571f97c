package audit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// keyedLog opens a keyed log with a checkpoint in a temporary directory.
func keyedLog(t *testing.T) (l *Log, path, cpPath string) {
	t.Helper()
	dir := t.TempDir()
	path, cpPath = filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit.checkpoint")
	l, err := OpenWith(path, Options{Key: testKey, Checkpoint: cpPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path, cpPath
}

// verifyKeyed verifies path with the key and the checkpoint at cpPath.
func verifyKeyed(path, cpPath string, key []byte) (Summary, error) {
	cp, err := ReadCheckpoint(cpPath, key)
	if err != nil {
		return Summary{}, err
	}
	return VerifyFileWith(path, VerifyOptions{Key: key, Checkpoint: cp}, nil)
}

func TestKeyedAppendVerify(t *testing.T) {
	l, path, cpPath := keyedLog(t)
	appendN(t, l, 5)
	s, err := verifyKeyed(path, cpPath, testKey)
	if err != nil || s.Records != 5 || !s.Keyed || s.LastSeq != 5 || s.LastMAC == "" || s.AfterCheckpoint != 0 {
		t.Fatalf("%+v, %v", s, err)
	}
	b, _ := os.ReadFile(path)
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if _, mac := splitMAC([]byte(line)); len(mac) != 64 {
			t.Errorf("line %d has no MAC: %s", i+1, line)
		}
	}
	// A wrong key fails, on the checkpoint and on the records.
	wrong := []byte("0123456789abcdef0123456789abcdeX")
	if _, err := verifyKeyed(path, cpPath, wrong); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong key, checkpoint: %v", err)
	}
	if _, err := VerifyFileWith(path, VerifyOptions{Key: wrong}, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("wrong key, records: %v", err)
	}
	if _, err := OpenWith(path, Options{Key: wrong}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("opening with a wrong key: %v", err)
	}
	// Mixing keyed and unkeyed appends is refused.
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "keyed") {
		t.Errorf("opening a keyed log without the key: %v", err)
	}
	plain, _ := newLog(t)
	appendN(t, plain, 1)
	if _, err := OpenWith(plain.path, Options{Key: testKey}); err == nil || !strings.Contains(err.Error(), "without a key") {
		t.Errorf("opening an unkeyed log with a key: %v", err)
	}
	if _, err := OpenWith(path, Options{Key: []byte("short")}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	// Reopening continues the chain and the checkpoint.
	l.Close()
	l2, err := OpenWith(path, Options{Key: testKey, Checkpoint: cpPath})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	appendN(t, l2, 2)
	if s, err := verifyKeyed(path, cpPath, testKey); err != nil || s.Records != 7 {
		t.Fatalf("after reopening: %+v, %v", s, err)
	}
}

// TestTamperMatrix tampers with each record position (first, middle, last)
// in every way: each case must fail verification with the key and the
// checkpoint. It also logs which cases the plain hash chain (no key, no
// checkpoint) misses, to show what the key adds.
func TestTamperMatrix(t *testing.T) {
	l, path, cpPath := keyedLog(t)
	const n = 5
	appendN(t, l, n)
	l.Close()
	orig, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(orig), "\n")
	lines = lines[:len(lines)-1]
	join := func(ls []string) string { return strings.Join(ls, "") }
	without := func(i int) []string { return slices.Concat(lines[:i], lines[i+1:]) }
	replace := func(i int, s string) []string {
		c := slices.Clone(lines)
		c[i] = s
		return c
	}
	// A forged record: valid JSON with the right seq and prev, MAC made up.
	forge := func(i int) string {
		return strings.Replace(lines[i], `"prompt_tokens":`, `"prompt_tokens":1`, 1)
	}
	positions := map[string]int{"first": 0, "middle": n / 2, "last": n - 1}
	var missedByChain, needCheckpoint []string
	for _, posName := range []string{"first", "middle", "last"} {
		i := positions[posName]
		other := i + 1
		if other == n {
			other = i - 1
		}
		swapped := slices.Clone(lines)
		swapped[i], swapped[other] = swapped[other], swapped[i]
		cases := map[string]string{
			"change a value":           join(replace(i, forge(i))),
			"change a MAC byte":        join(replace(i, flipHex(lines[i], strings.LastIndex(lines[i], `"mac":"`)+10))),
			"change the event":         join(replace(i, strings.Replace(lines[i], `"event":"run"`, `"event":"chat"`, 1))),
			"delete":                   join(without(i)),
			"reorder":                  join(swapped),
			"replace with garbage+nl":  join(replace(i, "garbage\n")),
			"replace with empty line":  join(replace(i, "\n")),
			"replace with torn-like":   join(lines[:i]) + `{"seq":` + strconv.Itoa(i+1) + `,"time":"20`,
			"insert garbage after":     join(slices.Concat(lines[:i+1], []string{"garbage\n"}, lines[i+1:])),
			"insert a copy after":      join(slices.Concat(lines[:i+1], []string{lines[i]}, lines[i+1:])),
			"truncate from here":       join(lines[:i]),
			"truncate inside the line": join(lines[:i]) + lines[i][:len(lines[i])/2],
			"append garbage+nl":        join(lines[:i+1]) + "garbage\n" + join(lines[i+1:]),
		}
		for name, content := range cases {
			if content == string(orig) {
				t.Fatalf("%s %s: tampering did not change the file", posName, name)
			}
			p := filepath.Join(t.TempDir(), "log")
			os.WriteFile(p, []byte(content), 0o600)
			s, err := verifyKeyed(p, cpPath, testKey)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s record, %s: verify with key and checkpoint: %+v, %v; want ErrCorrupt", posName, name, s, err)
			}
			if _, err := VerifyFile(p, nil); err == nil {
				missedByChain = append(missedByChain, posName+": "+name)
			}
			if _, err := VerifyFileWith(p, VerifyOptions{Key: testKey}, nil); err == nil {
				needCheckpoint = append(needCheckpoint, posName+": "+name)
			}
		}
	}
	slices.Sort(missedByChain)
	slices.Sort(needCheckpoint)
	t.Logf("all %d cases fail with the key and checkpoint; the hash chain alone misses %d: %s", 3*13, len(missedByChain), strings.Join(missedByChain, "; "))
	t.Logf("the key without the checkpoint misses %d (cuts at the end): %s", len(needCheckpoint), strings.Join(needCheckpoint, "; "))
	for _, c := range needCheckpoint {
		if !strings.Contains(c, "truncate") && !strings.Contains(c, "torn-like") && c != "last: delete" {
			t.Errorf("the key alone should catch %s", c)
		}
	}
	// A checkpoint replaced by another one (rewritten without the key) fails too.
	cp, _ := ReadCheckpoint(cpPath, testKey)
	cp.Seq--
	(*cp).write(cpPath, []byte("another key, 16 bytes or more"))
	if _, err := verifyKeyed(path, cpPath, testKey); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a forged checkpoint: %v", err)
	}
}

// flipHex changes the hex digit at i.
func flipHex(s string, i int) string {
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestCheckpointLag: a crash between the record and the checkpoint leaves
// the checkpoint one record behind, which verifies; more does not, and a
// log behind its checkpoint is refused for appending.
func TestCheckpointLag(t *testing.T) {
	l, path, cpPath := keyedLog(t)
	appendN(t, l, 3)
	saved, _ := os.ReadFile(cpPath)
	appendN(t, l, 1)
	os.WriteFile(cpPath, saved, 0o600) // as if the crash came before the checkpoint
	s, err := verifyKeyed(path, cpPath, testKey)
	if err != nil || s.AfterCheckpoint != 1 {
		t.Fatalf("one behind: %+v, %v", s, err)
	}
	// Appending goes on and catches the checkpoint up.
	appendN(t, l, 1)
	if s, err := verifyKeyed(path, cpPath, testKey); err != nil || s.AfterCheckpoint != 0 || s.Records != 5 {
		t.Fatalf("caught up: %+v, %v", s, err)
	}
	// Two behind: fails.
	saved, _ = os.ReadFile(cpPath)
	appendN(t, l, 2)
	os.WriteFile(cpPath, saved, 0o600)
	if _, err := verifyKeyed(path, cpPath, testKey); !errors.Is(err, ErrCorrupt) {
		t.Errorf("two behind: %v", err)
	}
	if err := l.Append(&Record{Type: "run"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("append two behind: %v", err)
	}
	// A log cut behind its checkpoint: Open and Append refuse.
	l.Close()
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(strings.Join(lines[:3], "")), 0o600)
	if _, err := OpenWith(path, Options{Key: testKey, Checkpoint: cpPath}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("open a truncated log: %v", err)
	}
	// A missing checkpoint beside a non-empty log: refused, with the way out.
	os.Remove(cpPath)
	if _, err := OpenWith(path, Options{Key: testKey, Checkpoint: cpPath}); err == nil || !strings.Contains(err.Error(), "--init-checkpoint") {
		t.Errorf("open without its checkpoint: %v", err)
	}
}

// TestNotRegular: a FIFO or a directory is refused at once (never blocks).
func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err == nil {
		t.Error("Open(directory) succeeded")
	}
	if _, err := VerifyFile(dir, nil); err == nil {
		t.Error("VerifyFile(directory) succeeded")
	}
	if _, err := ReadKeyFile(dir); err == nil {
		t.Error("ReadKeyFile(directory) succeeded")
	}
	if fifo := makeFIFO(t, dir); fifo != "" {
		done := make(chan error, 3)
		go func() { _, err := Open(fifo); done <- err }()
		go func() { _, err := VerifyFile(fifo, nil); done <- err }()
		go func() { _, err := ReadKeyFile(fifo); done <- err }()
		for range 3 {
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("FIFO: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a FIFO blocked")
			}
		}
	}
}

// childEnv runs this test binary as a child process doing mode.
const childEnv = "EDGEAI_AUDIT_CHILD"

// TestMain lets the test binary act as an appending child process.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child appends records as another process: "append LOG CP NAME N" appends
// N records; "tear LOG CP" appends one record whose write stops halfway
// (after printing "half"), waiting to be killed.
func child(mode string) int {
	f := strings.Fields(mode)
	l, err := OpenWith(f[1], Options{Key: testKey, Checkpoint: f[2]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch f[0] {
	case "append":
		n, _ := strconv.Atoi(f[4])
		for i := range n {
			if err := l.Append(&Record{Type: "run", Model: f[3], PromptTokens: i, PromptSHA256: HashText(strings.Repeat(f[3], i))}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return 0
	case "tear":
		writeFile = func(f *os.File, b []byte) (int, error) {
			n, err := f.Write(b[:len(b)/2])
			if err != nil {
				return n, err
			}
			f.Sync()
			fmt.Println("half")
			time.Sleep(time.Minute) // killed here
			return n, nil
		}
		text := strings.Repeat("x", 1<<20)
		l.Append(&Record{Type: "run", Prompt: &text})
		return 3
	}
	return 2
}

func startChild(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestTwoProcesses appends from two processes at once through one log with
// a key and a checkpoint: nothing is lost or interleaved, and each
// process's records are all there in its order.
func TestTwoProcesses(t *testing.T) {
	if os.PathSeparator != '/' {
		t.Skip("cross-process locking is tested on unix")
	}
	l, path, cpPath := keyedLog(t)
	appendN(t, l, 1)
	l.Close()
	const n = 150
	var wg sync.WaitGroup
	for _, name := range []string{"A", "B"} {
		cmd := startChild(t, fmt.Sprintf("append %s %s %s %d", path, cpPath, name, n))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Wait(); err != nil {
				t.Errorf("child %s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	next := map[string]int{}
	interleaved := 0
	last := ""
	cp, err := ReadCheckpoint(cpPath, testKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := VerifyFileWith(path, VerifyOptions{Key: testKey, Checkpoint: cp}, func(r *Record) {
		if r.Model == "m.gguf" {
			return
		}
		if r.PromptTokens != next[r.Model] {
			t.Errorf("process %s: record %d after %d", r.Model, r.PromptTokens, next[r.Model]-1)
		}
		next[r.Model] = r.PromptTokens + 1
		if r.Model != last {
			interleaved++
			last = r.Model
		}
	})
	if err != nil || s.Records != 2*n+1 || next["A"] != n || next["B"] != n || s.AfterCheckpoint != 0 {
		t.Fatalf("%+v, %v, %v", s, err, next)
	}
	t.Logf("%d records from two processes, %d switches between them", 2*n, interleaved)
}

// TestKillDuringWrite kills (SIGKILL) a process in the middle of writing a
// record: the log verifies with one torn record, and the next append cuts
// it and records a recover record.
func TestKillDuringWrite(t *testing.T) {
	if os.PathSeparator != '/' {
		t.Skip("uses SIGKILL")
	}
	l, path, cpPath := keyedLog(t)
	appendN(t, l, 3)
	l.Close()
	sizeBefore := fileSize(t, path)
	cmd := startChild(t, fmt.Sprintf("tear %s %s", path, cpPath))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "half\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q, %v", line, err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	torn := fileSize(t, path) - sizeBefore
	if torn <= 0 {
		t.Fatal("the child wrote nothing")
	}
	s, err := verifyKeyed(path, cpPath, testKey)
	if err != nil || s.Records != 3 || s.Torn != 1 || !s.TornEnd {
		t.Fatalf("after kill -9: %+v, %v", s, err)
	}
	t.Logf("killed after %d bytes of a %d-byte record: verifies, 3 records, 1 torn", torn, 2*torn)
	l, err = OpenWith(path, Options{Key: testKey, Checkpoint: cpPath})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 1)
	var recs []*Record
	cp, _ := ReadCheckpoint(cpPath, testKey)
	s, err = VerifyFileWith(path, VerifyOptions{Key: testKey, Checkpoint: cp}, func(r *Record) { recs = append(recs, r) })
	if err != nil || s.Records != 5 || s.Torn != 1 || s.TornEnd || recs[3].Type != TypeRecover || recs[3].TornBytes != int(torn) || !recs[3].TornCut {
		t.Fatalf("after recovery: %+v, %v", s, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	os.WriteFile(p, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	if k, err := ReadKeyFile(p); err != nil || string(k) != "0123456789abcdef0123456789abcdef" {
		t.Errorf("%q, %v", k, err)
	}
	os.WriteFile(p, []byte("short\n"), 0o600)
	if _, err := ReadKeyFile(p); err == nil || !strings.Contains(err.Error(), "openssl rand") {
		t.Errorf("short key: %v", err)
	}
}
