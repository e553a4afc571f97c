// Package audit keeps an append-only, hash-chained log of model runs, one
// JSON object per line, for settings such as clinics that must show what a
// model was asked to do without storing what was said.
//
// Each record carries the SHA-256 of the previous line (Prev) and a sequence
// number, so that Verify detects a changed, removed, reordered or inserted
// record anywhere but at the very end. Each Append writes its line with one
// write on a file opened for appending and then fsyncs it, so a crash loses
// at most the record being written: a torn last line is detected and skipped
// on read, and the next Append closes it with a "recover" record that names
// the torn bytes' hash, keeping the chain verifiable. On unix an advisory
// lock (flock) serialises appends from several processes; elsewhere only
// appends through one Log are serialised.
//
// A chain cannot prove that records were not cut off the end or that the
// whole file was not rewritten: keep a copy of the last hash (Summary.Last)
// elsewhere, or ship the log, if that matters.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Record is one line of the log. Seq, Prev and (if zero) Time are set by
// Append.
type Record struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Prev string    `json:"prev"`  // hex SHA-256 of the previous line; "" for the first
	Type string    `json:"event"` // "run", "chat", ... or "recover"

	Version     string `json:"edgeai_version,omitempty"`
	Model       string `json:"model,omitempty"` // path as given
	ModelSHA256 string `json:"model_sha256,omitempty"`
	Kernels     string `json:"kernels,omitempty"`
	Threads     int    `json:"threads,omitempty"`
	Context     int    `json:"context,omitempty"`

	Params map[string]any `json:"params,omitempty"` // sampling and generation settings
	Seed   uint64         `json:"seed"`

	PromptTokens    int    `json:"prompt_tokens"`
	GeneratedTokens int    `json:"generated_tokens"`
	StopReason      string `json:"stop_reason,omitempty"`
	Error           string `json:"error,omitempty"`

	PromptSHA256   string  `json:"prompt_sha256,omitempty"`
	ResponseSHA256 string  `json:"response_sha256,omitempty"`
	Prompt         *string `json:"prompt,omitempty"`   // only when text is included on purpose
	Response       *string `json:"response,omitempty"` // idem

	TornSHA256 string `json:"torn_sha256,omitempty"` // "recover": hash of the torn bytes it closes
	TornBytes  int    `json:"torn_bytes,omitempty"`
}

// TypeRecover is the Type of the record Append writes after a torn line.
const TypeRecover = "recover"

// HashText returns the hex SHA-256 of s, as stored in PromptSHA256 and
// ResponseSHA256.
func HashText(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func hashLine(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// MaxLine is the longest line Verify and Append read back (64 MiB).
const MaxLine = 64 << 20

// ErrCorrupt is wrapped by every integrity error Verify reports.
var ErrCorrupt = errors.New("audit: log integrity check failed")

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
	now  func() time.Time
}

// Open opens (creating it with mode 0600 if needed) the log at path for
// appending.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return &Log{f: f, path: path, now: time.Now}, nil
}

// Close closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Append sets r's Seq, Prev and (if zero) Time, writes it as one line and
// syncs the file. If the log ends in a torn line, Append first terminates it
// and writes a "recover" record.
func (l *Log) Append(r *Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log is closed")
	}
	if err := lockFile(l.f); err != nil {
		return fmt.Errorf("audit: lock %s: %w", l.path, err)
	}
	defer unlockFile(l.f)

	last, garbage, err := tail(l.f)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", l.path, err)
	}
	var prev Record
	prevHash := ""
	if last != nil {
		json.Unmarshal(last, &prev) // tail checked that it parses
		prevHash = hashLine(last)
	}
	seq := prev.Seq
	var out []byte
	if len(garbage) > 0 {
		// Close the torn line and account for every byte since the last
		// record, so that Verify can check them.
		if garbage[len(garbage)-1] != '\n' {
			out = append(out, '\n')
			garbage = append(garbage, '\n')
		}
		seq++
		rec := Record{Seq: seq, Time: l.now().UTC(), Prev: prevHash, Type: TypeRecover, TornSHA256: hashLine(garbage), TornBytes: len(garbage)}
		line, err := json.Marshal(&rec)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		out = append(out, line...)
		out = append(out, '\n')
		prevHash = hashLine(line)
	}
	seq++
	r.Seq, r.Prev = seq, prevHash
	if r.Time.IsZero() {
		r.Time = l.now().UTC()
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if len(line) > MaxLine {
		return fmt.Errorf("audit: record of %d bytes is longer than %d", len(line), MaxLine)
	}
	out = append(out, line...)
	out = append(out, '\n')
	if _, err := l.f.Write(out); err != nil {
		return fmt.Errorf("audit: write %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", l.path, err)
	}
	return nil
}

// isRecord reports whether line is a record line.
func isRecord(line []byte) bool {
	var r Record
	return json.Unmarshal(line, &r) == nil && r.Seq > 0
}

// tail returns the last line of f that is a record (without its newline;
// nil if there is none) and every byte after that line's newline: torn or
// otherwise invalid lines that a recover record must account for.
func tail(f *os.File) (last, garbage []byte, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	for n := min(int64(64<<10), size); ; n = min(2*n, size) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil {
			return nil, nil, err
		}
		whole := n == size
		// Lines end at each newline; the bytes after the last one are torn.
		end := bytes.LastIndexByte(buf, '\n')
		for end >= 0 {
			start := bytes.LastIndexByte(buf[:end], '\n') + 1
			if start == 0 && !whole {
				break // the line may begin before buf: read more
			}
			if isRecord(buf[start:end]) {
				return buf[start:end], buf[end+1:], nil
			}
			end = start - 1
		}
		if whole {
			return nil, buf, nil // no record at all
		}
		if n > 2*MaxLine {
			return nil, nil, fmt.Errorf("no record in the last %d bytes", n)
		}
	}
}

// Summary describes a verified log.
type Summary struct {
	Records int       // valid records, "recover" ones included
	Torn    int       // torn lines skipped (closed by a "recover" record or at the end)
	TornEnd bool      // the log ends in a torn line (the last write was interrupted)
	Last    string    // hex SHA-256 of the last valid line: the head of the chain
	First   time.Time // time of the first record
	End     time.Time // time of the last record
}

// Verify reads a log and checks its chain: every line a record, sequence
// numbers counting up from 1, each Prev the hash of the line before. A line
// that is not a record is accepted only as a torn write: at the end of the
// log without a newline, or followed by the "recover" record that names its
// hash. fn, if not nil, is called with each valid record in order. Integrity
// errors wrap ErrCorrupt and give the line number.
func Verify(r io.Reader, fn func(*Record)) (Summary, error) {
	var s Summary
	br := bufio.NewReaderSize(r, 1<<20)
	lineNo := 0
	prevHash := ""
	prevLine := 0
	var seq uint64
	var garbage []byte // invalid lines since the last record, newlines included
	garbageLine := 0   // the first of them
	for {
		line, err := readLine(br)
		if err != nil && err != io.EOF {
			return s, fmt.Errorf("audit: line %d: %w", lineNo+1, err)
		}
		if len(line) == 0 {
			break // EOF
		}
		lineNo++
		body, complete := bytes.CutSuffix(line, []byte{'\n'})
		var rec Record
		if !complete || json.Unmarshal(body, &rec) != nil || rec.Seq == 0 {
			if len(garbage) == 0 {
				garbageLine = lineNo
			}
			if len(garbage)+len(line) > 2*MaxLine {
				return s, fmt.Errorf("%w: lines %d-%d are not records", ErrCorrupt, garbageLine, lineNo)
			}
			garbage = append(garbage, line...)
			continue
		}
		switch {
		case len(garbage) > 0 && (rec.Type != TypeRecover || rec.TornSHA256 != hashLine(garbage) || rec.TornBytes != len(garbage)):
			return s, fmt.Errorf("%w: line %d: not a record, and line %d is not the recover record for the %d bytes from there", ErrCorrupt, garbageLine, lineNo, len(garbage))
		case len(garbage) == 0 && rec.Type == TypeRecover:
			return s, fmt.Errorf("%w: line %d: a recover record without a torn line before it", ErrCorrupt, lineNo)
		case rec.Seq != seq+1:
			return s, fmt.Errorf("%w: line %d: sequence number %d after %d (a record was removed, inserted or moved)", ErrCorrupt, lineNo, rec.Seq, seq)
		case rec.Prev != prevHash:
			return s, fmt.Errorf("%w: line %d: its prev %.16s does not match the record before it (line %d, hash %.16s): one of the two was changed", ErrCorrupt, lineNo, rec.Prev, prevLine, prevHash)
		}
		if len(garbage) > 0 {
			s.Torn++
			garbage = garbage[:0]
		}
		seq = rec.Seq
		prevHash, prevLine = hashLine(body), lineNo
		s.Records++
		if s.Records == 1 {
			s.First = rec.Time
		}
		s.End = rec.Time
		s.Last = prevHash
		if fn != nil {
			fn(&rec)
		}
	}
	if len(garbage) > 0 {
		// The last write was interrupted (possibly after an earlier one, if
		// a recover record was itself torn): what follows the last record
		// is skipped, and the next Append will account for it.
		s.Torn++
		s.TornEnd = true
	}
	return s, nil
}

// readLine reads one line with its newline (without one at the end of the
// input), refusing lines longer than MaxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

// VerifyFile verifies the log at path (see Verify).
func VerifyFile(path string, fn func(*Record)) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return Verify(f, fn)
}
