package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Checkpoint names the last record of a log: Append rewrites it after every
// record, so that a log cut short by whole records (which leaves every
// remaining MAC valid) no longer matches it. Keep a copy elsewhere (a
// backup, another disk) for the same reason: someone who can rewrite the
// log can rewrite a checkpoint beside it to an older one.
type Checkpoint struct {
	Seq  uint64    `json:"seq"`
	MAC  string    `json:"mac,omitempty"` // the record's MAC (keyed logs)
	Head string    `json:"head"`          // hex SHA-256 of the record's line
	Time time.Time `json:"time"`
	// CMAC authenticates the fields above under the log's key (keyed logs).
	CMAC string `json:"cmac,omitempty"`
}

const checkpointDomain = "edgeai audit checkpoint v1\n"

func (c *Checkpoint) mac(key []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(checkpointDomain))
	h.Write([]byte(strconv.FormatUint(c.Seq, 10) + "\n" + c.MAC + "\n" + c.Head + "\n" + c.Time.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h.Sum(nil))
}

// maxCheckpoint bounds the size of a checkpoint file.
const maxCheckpoint = 4 << 10

// ReadCheckpoint reads a checkpoint file; with a key it checks the
// checkpoint's own MAC. A missing file is an error wrapping os.ErrNotExist.
func ReadCheckpoint(path string, key []byte) (*Checkpoint, error) {
	if err := checkRegular(path, false); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCheckpoint+1))
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if len(b) > maxCheckpoint {
		return nil, fmt.Errorf("%w: the checkpoint %s is larger than %d bytes", ErrCorrupt, path, maxCheckpoint)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: the checkpoint %s is not valid JSON", ErrCorrupt, path)
	}
	if key != nil && !hmac.Equal([]byte(c.CMAC), []byte(c.mac(key))) {
		return nil, fmt.Errorf("%w: the checkpoint %s does not carry a valid MAC (it was changed, or the key is wrong)", ErrCorrupt, path)
	}
	return &c, nil
}

// WriteCheckpoint writes a checkpoint naming the last record of a verified
// log (s, from VerifyWith with the same key), replacing path atomically.
func WriteCheckpoint(path string, s Summary, key []byte) error {
	if s.LastSeq == 0 {
		return errors.New("audit: the log has no record to checkpoint")
	}
	c := Checkpoint{Seq: s.LastSeq, MAC: s.LastMAC, Head: s.Last, Time: s.End}
	return c.write(path, key)
}

// write replaces the checkpoint file atomically: a temporary file in the
// same directory, synced, renamed over path, and the directory synced.
func (c Checkpoint) write(path string, key []byte) error {
	c.Time = c.Time.UTC()
	c.CMAC = ""
	if key != nil {
		c.CMAC = c.mac(key)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	b = append(b, '\n')
	if err := checkRegular(path, true); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("audit: writing the checkpoint %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable (where directories can be synced).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // fails harmlessly where directories cannot be synced (Windows)
		d.Close()
	}
}

// ReadKeyFile reads an audit key: the file's bytes without trailing
// whitespace (so `openssl rand -hex 32 > audit.key` makes one), at least
// MinKeyLen of them.
func ReadKeyFile(path string) ([]byte, error) {
	if err := checkRegular(path, false); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10+1))
	if err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if len(b) > 4<<10 {
		return nil, fmt.Errorf("audit: the key file %s is larger than 4 KiB", path)
	}
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) < MinKeyLen {
		return nil, fmt.Errorf("audit: the key in %s is %d bytes; at least %d are needed (make one with: openssl rand -hex 32 > %s)", path, len(b), MinKeyLen, filepath.Base(path))
	}
	return b, nil
}
