// Package audit keeps an append-only, tamper-evident log of model runs and
// server requests, one JSON object per line, for settings such as clinics
// that must show what a model was asked to do without storing what was said.
//
// Each record carries a sequence number and the SHA-256 of the previous line
// (Prev): a hash chain, which detects an accidental change, removal,
// reordering or insertion anywhere but at the very end. A chain alone does
// not stop someone who can edit the file from rewriting it consistently, so
// a log opened with a key (Options.Key) also gives every record a MAC: an
// HMAC-SHA256, under the key, over the record's bytes and the previous
// record's MAC. Without the key no record can be changed, made up, removed,
// moved or replaced, the last one included, without Verify noticing.
// Removing whole records from the end leaves a shorter log whose MACs are
// all valid; a checkpoint file (Options.Checkpoint: the last sequence
// number and MAC, rewritten atomically after every record) detects that.
//
// Each Append writes its records with one write on a file opened for
// appending and then fsyncs it, so a crash loses at most the record being
// written: a last line without its newline is a torn write, reported and
// skipped by Verify. The next Append cuts it off and writes a "recover"
// record naming the hash and length of the bytes it cut, so the chain stays
// verifiable. Any other line that is not a valid record is corruption. An
// exclusive lock on the file (flock on unix, LockFileEx on Windows)
// serialises appends from several processes.
package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
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

// Record is one line of the log. Seq, Prev, MAC and (if zero) Time are set
// by Append.
type Record struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Prev string    `json:"prev"`  // hex SHA-256 of the previous line; "" for the first
	Type string    `json:"event"` // "run", "chat", "serve", ... or "recover"

	Version     string `json:"edgeai_version,omitempty"`
	Model       string `json:"model,omitempty"` // path as given (run, chat) or model ID (serve)
	ModelSHA256 string `json:"model_sha256,omitempty"`
	Kernels     string `json:"kernels,omitempty"`
	Threads     int    `json:"threads,omitempty"`
	Context     int    `json:"context,omitempty"`

	// Requests to the server (event "serve").
	Client     string  `json:"client,omitempty"`   // the client's address
	KeyID      string  `json:"key_id,omitempty"`   // which API key authorised it (a fingerprint, never the key)
	Endpoint   string  `json:"endpoint,omitempty"` // "POST /v1/chat/completions"
	Status     int     `json:"status,omitempty"`   // HTTP status (499: the client left early)
	DurationMS float64 `json:"duration_ms,omitempty"`

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

	TornSHA256 string `json:"torn_sha256,omitempty"` // "recover": hash of the torn bytes it accounts for
	TornBytes  int    `json:"torn_bytes,omitempty"`
	TornCut    bool   `json:"torn_cut,omitempty"` // "recover": the torn bytes were cut from the file (else they precede it)

	// MAC is the record's HMAC-SHA256 (hex) in a keyed log. It must stay
	// the last field: it is computed over the line without it.
	MAC string `json:"mac,omitempty"`
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

// ErrCorrupt is wrapped by every integrity error Verify and Append report.
var ErrCorrupt = errors.New("audit log integrity check failed")

// macDomain separates the record MACs of this format from any other use of
// the key.
const macDomain = "edgeai audit record v1\n"

// macOf returns the hex HMAC-SHA256 of a record's content (its line without
// the MAC field) chained to the previous record's MAC.
func macOf(key []byte, prevMAC string, content []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(macDomain))
	h.Write([]byte(prevMAC))
	h.Write([]byte{'\n'})
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// macSuffixLen is the length of `,"mac":"<64 hex>"}`.
const macSuffixLen = len(`,"mac":""}`) + 64

// splitMAC returns a line's content (the line without its MAC field, as it
// was when the MAC was computed) and the MAC, or the line and "" when it
// has none.
func splitMAC(line []byte) (content []byte, mac string) {
	n := len(line)
	if n < macSuffixLen || !bytes.HasPrefix(line[n-macSuffixLen:], []byte(`,"mac":"`)) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return line, ""
	}
	m := line[n-macSuffixLen+len(`,"mac":"`) : n-2]
	if _, err := hex.DecodeString(string(m)); err != nil {
		return line, ""
	}
	content = make([]byte, 0, n-macSuffixLen+1)
	content = append(append(content, line[:n-macSuffixLen]...), '}')
	return content, string(m)
}

// marshal encodes r as a line (without newline), with its MAC when key is
// set.
func marshal(r *Record, key []byte, prevMAC string) ([]byte, error) {
	r.MAC = ""
	content, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return content, nil
	}
	r.MAC = macOf(key, prevMAC, content)
	line := make([]byte, 0, len(content)+macSuffixLen)
	line = append(line, content[:len(content)-1]...)
	line = append(line, `,"mac":"`...)
	line = append(line, r.MAC...)
	return append(line, `"}`...), nil
}

// Options configure a Log opened with OpenWith.
type Options struct {
	// Key, when not nil, makes the log keyed: every record carries an
	// HMAC-SHA256 under it (see the package documentation). At least 16
	// bytes; see ReadKeyFile.
	Key []byte
	// Checkpoint, when not empty, is a file rewritten (atomically) after
	// every record with the last sequence number and MAC, so that Verify
	// can tell when whole records were cut from the end of the log.
	Checkpoint string
}

// MinKeyLen is the shortest key accepted.
const MinKeyLen = 16

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
	opts Options
	now  func() time.Time
}

// Open opens (creating it with mode 0600 if needed) the log at path for
// appending, without a key or a checkpoint.
func Open(path string) (*Log, error) { return OpenWith(path, Options{}) }

// OpenWith opens (creating it with mode 0600 if needed) the log at path for
// appending with the given options. It fails if path is not a regular file,
// if the key is too short, or if the log and the checkpoint disagree (see
// Append).
func OpenWith(path string, o Options) (*Log, error) {
	if o.Key != nil && len(o.Key) < MinKeyLen {
		return nil, fmt.Errorf("audit: the key is %d bytes; at least %d are needed", len(o.Key), MinKeyLen)
	}
	if err := checkRegular(path, true); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("audit: %s is not a regular file", path)
	}
	l := &Log{f: f, path: path, opts: o, now: time.Now}
	l.opts.Key = bytes.Clone(o.Key)
	// Check the log's end against the checkpoint now rather than at the
	// first request.
	if err := l.check(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// checkRegular fails unless path is a regular file (or, if mayBeMissing,
// does not exist): a FIFO or device would block or never end.
func checkRegular(path string, mayBeMissing bool) error {
	st, err := os.Stat(path)
	switch {
	case mayBeMissing && errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("audit: %w", err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("audit: %s is not a regular file (%v)", path, st.Mode().Type())
	}
	return nil
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

// writeFile writes b to f; tests replace it to tear a write.
var writeFile = func(f *os.File, b []byte) (int, error) { return f.Write(b) }

// check reads the log's end under the lock and checks it against the key
// and the checkpoint.
func (l *Log) check() error {
	if err := lockFile(l.f); err != nil {
		return fmt.Errorf("audit: lock %s: %w", l.path, err)
	}
	defer unlockFile(l.f)
	_, err := l.lastLocked()
	return err
}

// lastState is what Append needs of the log's end.
type lastState struct {
	seq     uint64
	hash    string // of the last record's line
	mac     string
	garbage []byte // torn bytes after it
}

// lastLocked reads the end of the log and checks it: a keyed log must end
// in a keyed record and vice versa, the bytes after the last record must be
// a torn write (no newline), and the last record must match the checkpoint.
func (l *Log) lastLocked() (lastState, error) {
	var s lastState
	last, before, garbage, err := tail(l.f)
	if err != nil {
		return s, fmt.Errorf("audit: %s: %w", l.path, err)
	}
	if bytes.IndexByte(garbage, '\n') >= 0 {
		return s, fmt.Errorf("%w: %s ends in %d bytes that are not records and not a torn write; check it with edgeai audit verify", ErrCorrupt, l.path, len(garbage))
	}
	s.garbage = garbage
	if last != nil {
		var prev Record
		json.Unmarshal(last, &prev) // tail checked that it parses
		s.seq, s.hash = prev.Seq, hashLine(last)
		content, mac := splitMAC(last)
		switch {
		case l.opts.Key != nil && mac == "":
			return s, fmt.Errorf("audit: %s was written without a key; start a new log to use one", l.path)
		case l.opts.Key == nil && mac != "":
			return s, fmt.Errorf("audit: %s is keyed; give its key to append to it", l.path)
		case l.opts.Key != nil && !hmac.Equal([]byte(mac), []byte(macOf(l.opts.Key, macOfLine(before), content))):
			return s, fmt.Errorf("%w: the last record of %s does not carry a valid MAC under this key (wrong key, or the record was changed)", ErrCorrupt, l.path)
		}
		s.mac = mac
	}
	if l.opts.Checkpoint != "" {
		cp, err := ReadCheckpoint(l.opts.Checkpoint, l.opts.Key)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if s.seq > 0 {
				return s, fmt.Errorf("audit: %s holds %d records but its checkpoint %s is missing; verify the log, then start the checkpoint with edgeai audit verify --init-checkpoint", l.path, s.seq, l.opts.Checkpoint)
			}
		case err != nil:
			return s, err
		case cp.Seq > s.seq:
			return s, fmt.Errorf("%w: %s ends at record %d but its checkpoint names record %d: records were removed from the end", ErrCorrupt, l.path, s.seq, cp.Seq)
		case cp.Seq == s.seq && (cp.Head != s.hash || cp.MAC != s.mac):
			return s, fmt.Errorf("%w: the last record of %s (%d) is not the one its checkpoint names", ErrCorrupt, l.path, s.seq)
		case s.seq > cp.Seq+1:
			return s, fmt.Errorf("%w: %s has %d records after its checkpoint (at most one, after a crash, may follow it)", ErrCorrupt, l.path, s.seq-cp.Seq)
		}
	}
	return s, nil
}

// Append sets r's Seq, Prev, MAC and (if zero) Time, writes it as one line,
// syncs the file and updates the checkpoint. If the log ends in a torn line
// (an interrupted write), Append first cuts it off and writes a "recover"
// record for it. It fails, writing nothing, if the log's end is corrupt or
// disagrees with the checkpoint.
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

	st, err := l.lastLocked()
	if err != nil {
		return err
	}
	seq, prevHash, prevMAC := st.seq, st.hash, st.mac
	var out []byte
	if len(st.garbage) > 0 {
		// Cut the torn line and account for its bytes.
		size, err := l.f.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("audit: %s: %w", l.path, err)
		}
		if err := l.f.Truncate(size - int64(len(st.garbage))); err != nil {
			return fmt.Errorf("audit: cutting the torn write at the end of %s: %w", l.path, err)
		}
		seq++
		rec := Record{Seq: seq, Time: l.now().UTC(), Prev: prevHash, Type: TypeRecover,
			TornSHA256: hashLine(st.garbage), TornBytes: len(st.garbage), TornCut: true}
		line, err := marshal(&rec, l.opts.Key, prevMAC)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		out = append(append(out, line...), '\n')
		prevHash, prevMAC = hashLine(line), rec.MAC
	}
	seq++
	r.Seq, r.Prev = seq, prevHash
	if r.Time.IsZero() {
		r.Time = l.now().UTC()
	}
	line, err := marshal(r, l.opts.Key, prevMAC)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if len(line) > MaxLine {
		return fmt.Errorf("audit: record of %d bytes is longer than %d", len(line), MaxLine)
	}
	out = append(append(out, line...), '\n')
	if _, err := writeFile(l.f, out); err != nil {
		return fmt.Errorf("audit: write %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync %s: %w", l.path, err)
	}
	if l.opts.Checkpoint != "" {
		cp := Checkpoint{Seq: seq, MAC: r.MAC, Head: hashLine(line), Time: r.Time}
		if err := cp.write(l.opts.Checkpoint, l.opts.Key); err != nil {
			return err
		}
	}
	return nil
}

// isRecord reports whether line is a record line.
func isRecord(line []byte) bool {
	var r Record
	return json.Unmarshal(line, &r) == nil && r.Seq > 0
}

// tail returns the last line of f that is a record (without its newline;
// nil if there is none), the record line before it (nil if none) and every
// byte after the last record's newline.
func tail(f *os.File) (last, before, garbage []byte, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	size := st.Size()
	for n := min(int64(64<<10), size); ; n = min(2*n, size) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil {
			return nil, nil, nil, err
		}
		whole := n == size
		last, before, garbage = nil, nil, nil
		// Lines end at each newline; the bytes after the last one are torn.
		end := bytes.LastIndexByte(buf, '\n')
		for end >= 0 {
			start := bytes.LastIndexByte(buf[:end], '\n') + 1
			if start == 0 && !whole {
				break // the line may begin before buf: read more
			}
			if isRecord(buf[start:end]) {
				if last != nil {
					return last, buf[start:end], garbage, nil
				}
				last, garbage = buf[start:end], buf[end+1:]
			}
			end = start - 1
		}
		if whole {
			if last == nil {
				return nil, nil, buf, nil // no record at all
			}
			return last, nil, garbage, nil
		}
		if n > 4*MaxLine {
			return nil, nil, nil, fmt.Errorf("no record in the last %d bytes", n)
		}
	}
}

// macOfLine returns the MAC of a record line ("" for nil or an unkeyed line).
func macOfLine(line []byte) string {
	_, mac := splitMAC(line)
	return mac
}

// Summary describes a verified log.
type Summary struct {
	Records int       // valid records, "recover" ones included
	Torn    int       // torn writes (accounted for by a "recover" record, or at the end)
	TornEnd bool      // the log ends in a torn line (the last write was interrupted)
	Keyed   bool      // every record's MAC was checked
	Last    string    // hex SHA-256 of the last valid line: the head of the chain
	LastSeq uint64    // its sequence number
	LastMAC string    // its MAC (keyed logs)
	First   time.Time // time of the first record
	End     time.Time // time of the last record
	// AfterCheckpoint is the number of records after the one the
	// checkpoint names (0, or 1 after a crash between the two writes).
	AfterCheckpoint int
}

// VerifyOptions configure VerifyWith.
type VerifyOptions struct {
	// Key checks every record's MAC; a record without one fails.
	Key []byte
	// Checkpoint, if not nil, must name the last record (or the one before
	// it, after a crash between writing the record and the checkpoint).
	Checkpoint *Checkpoint
}

// Verify checks a log's chain without a key (see VerifyWith).
func Verify(r io.Reader, fn func(*Record)) (Summary, error) {
	return VerifyWith(r, VerifyOptions{}, fn)
}

// VerifyWith reads a log and checks it: every complete line a record,
// sequence numbers counting up from 1, each Prev the hash of the line
// before, and with a key every MAC. The only line that may not be a record
// is a torn write: the last line, without a newline, or (in logs written
// before torn lines were cut) lines followed by the "recover" record that
// names their hash. fn, if not nil, is called with each valid record in
// order. Integrity errors wrap ErrCorrupt and give the line number.
func VerifyWith(r io.Reader, o VerifyOptions, fn func(*Record)) (Summary, error) {
	s := Summary{Keyed: o.Key != nil}
	br := bufio.NewReaderSize(r, 1<<20)
	lineNo := 0
	prevHash, prevMAC := "", ""
	prevLine := 0
	var seq uint64
	var garbage []byte // invalid lines since the last record, newlines included
	garbageLine := 0   // the first of them
	cpFound := false
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
		content, mac := splitMAC(body)
		switch {
		case len(garbage) > 0 && (rec.Type != TypeRecover || rec.TornCut || rec.TornSHA256 != hashLine(garbage) || rec.TornBytes != len(garbage)):
			return s, fmt.Errorf("%w: line %d is not a record (%d bytes from there are not accounted for by line %d)", ErrCorrupt, garbageLine, len(garbage), lineNo)
		case len(garbage) == 0 && rec.Type == TypeRecover && !rec.TornCut:
			return s, fmt.Errorf("%w: line %d: a recover record without a torn line before it", ErrCorrupt, lineNo)
		case rec.Seq != seq+1:
			return s, fmt.Errorf("%w: line %d: sequence number %d after %d (a record was removed, inserted or moved)", ErrCorrupt, lineNo, rec.Seq, seq)
		case rec.Prev != prevHash:
			return s, fmt.Errorf("%w: line %d: its prev %.16s does not match the record before it (line %d, hash %.16s): one of the two was changed", ErrCorrupt, lineNo, rec.Prev, prevLine, prevHash)
		case o.Key != nil && mac == "":
			return s, fmt.Errorf("%w: line %d: record %d has no MAC", ErrCorrupt, lineNo, rec.Seq)
		case o.Key != nil && !hmac.Equal([]byte(mac), []byte(macOf(o.Key, prevMAC, content))):
			return s, fmt.Errorf("%w: line %d: record %d does not carry a valid MAC (it was changed, made up or moved, or the key is wrong)", ErrCorrupt, lineNo, rec.Seq)
		}
		if len(garbage) > 0 || rec.Type == TypeRecover {
			s.Torn++
			garbage = garbage[:0]
		}
		seq = rec.Seq
		prevHash, prevMAC, prevLine = hashLine(body), mac, lineNo
		s.Records++
		if s.Records == 1 {
			s.First = rec.Time
		}
		s.End = rec.Time
		s.Last, s.LastSeq, s.LastMAC = prevHash, seq, mac
		if cp := o.Checkpoint; cp != nil && cp.Seq == seq {
			if cp.Head != prevHash || cp.MAC != mac {
				return s, fmt.Errorf("%w: line %d: record %d is not the one the checkpoint names", ErrCorrupt, lineNo, seq)
			}
			cpFound = true
		}
		if fn != nil {
			fn(&rec)
		}
	}
	if len(garbage) > 0 {
		if garbage[len(garbage)-1] == '\n' {
			return s, fmt.Errorf("%w: line %d is not a record (a torn write is a last line without a newline; this one has one)", ErrCorrupt, garbageLine)
		}
		if bytes.IndexByte(garbage, '\n') >= 0 {
			return s, fmt.Errorf("%w: line %d is not a record", ErrCorrupt, garbageLine)
		}
		// The last write was interrupted: what follows the last record is
		// skipped, and the next Append will cut it and account for it.
		s.Torn++
		s.TornEnd = true
	}
	if cp := o.Checkpoint; cp != nil {
		switch {
		case cp.Seq > seq:
			return s, fmt.Errorf("%w: the log ends at record %d but the checkpoint names record %d: records were removed from the end", ErrCorrupt, seq, cp.Seq)
		case !cpFound && cp.Seq > 0:
			return s, fmt.Errorf("%w: record %d, which the checkpoint names, is not in the log", ErrCorrupt, cp.Seq)
		case seq > cp.Seq+1:
			return s, fmt.Errorf("%w: %d records follow the one the checkpoint names (it is rewritten after every record: at most one, after a crash, may follow)", ErrCorrupt, seq-cp.Seq)
		}
		s.AfterCheckpoint = int(seq - cp.Seq)
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

// VerifyFile verifies the log at path without a key (see VerifyWith).
func VerifyFile(path string, fn func(*Record)) (Summary, error) {
	return VerifyFileWith(path, VerifyOptions{}, fn)
}

// VerifyFileWith verifies the log at path (see VerifyWith).
func VerifyFileWith(path string, o VerifyOptions, fn func(*Record)) (Summary, error) {
	if err := checkRegular(path, false); err != nil {
		return Summary{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return VerifyWith(f, o, fn)
}
