package runtime

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/edgeai-go/edgeai/internal/safeopen"
	"github.com/edgeai-go/edgeai/quant"
)

// A saved session state (a prompt cache, llama.cpp's --prompt-cache) is:
//
//	magic "EDGEAIPC", version uint32 = 1
//	the model file's SHA-256 (32 bytes)
//	K type, V type, context size, batch size, token count: uint32 each
//	the token ids: uint32 each
//	the cache: nn.Cache.Save of that many positions
//	the SHA-256 of everything above (32 bytes)
//
// little-endian. Everything is checked against the loading session before
// its cache is touched, the sizes come from the session's own geometry (a
// file cannot make it allocate), and the final hash catches a truncated or
// altered file: the session is then left empty and the load is an error.

const stateMagic = "EDGEAIPC"

// stateVersion is the version of the saved-state format.
const stateVersion = 1

// ErrState is wrapped by LoadState's errors: the file is not a state saved
// for this model and these options, or it is damaged.
var ErrState = errors.New("saved state does not match")

// SHA256 returns the SHA-256 of the model file, computed once (about a
// second per GB) and then remembered.
func (m *Model) SHA256() (string, error) {
	m.shaOnce.Do(func() {
		f, err := safeopen.Open(m.info.Path)
		if err != nil {
			m.shaErr = err
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			m.shaErr = err
			return
		}
		m.sha = hex.EncodeToString(h.Sum(nil))
	})
	return m.sha, m.shaErr
}

type stateHeader struct {
	K, V, Ctx, Batch, N uint32
}

func (s *Session) header() (stateHeader, error) {
	o := s.m.cacheOptions()
	return stateHeader{K: uint32(o.K), V: uint32(o.V), Ctx: uint32(s.ContextSize()), Batch: uint32(o.Batch), N: uint32(len(s.tokens))}, nil
}

// SaveState writes the session's context (its tokens and their cache) to
// w, for LoadState in a later session of the same model file with the same
// context size, batch size and cache types.
func (s *Session) SaveState(w io.Writer) error {
	sum, err := s.m.SHA256()
	if err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	raw, _ := hex.DecodeString(sum)
	h, _ := s.header()
	hw := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, hw), 1<<20)
	bw.WriteString(stateMagic)
	binary.Write(bw, binary.LittleEndian, uint32(stateVersion))
	bw.Write(raw)
	binary.Write(bw, binary.LittleEndian, h)
	for _, t := range s.tokens {
		binary.Write(bw, binary.LittleEndian, uint32(t))
	}
	if err := s.cache.Save(bw); err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	if _, err := w.Write(hw.Sum(nil)); err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	return nil
}

// LoadState replaces the session's context with a state SaveState wrote.
// A file of another model, of other options, truncated or altered is an
// error wrapping ErrState, and the session is then empty.
func (s *Session) LoadState(r io.Reader) error {
	s.Reset()
	err := s.loadState(r)
	if err != nil {
		s.Reset()
		return fmt.Errorf("runtime: load state: %w", err)
	}
	return nil
}

func (s *Session) loadState(r io.Reader) error {
	sum, err := s.m.SHA256()
	if err != nil {
		return err
	}
	hr := &hashReader{r: bufio.NewReaderSize(r, 1<<20), h: sha256.New()}
	var head [8 + 4 + 32]byte
	if _, err := io.ReadFull(hr, head[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrState, short(err))
	}
	if string(head[:8]) != stateMagic {
		return fmt.Errorf("%w: not an edgeai saved state", ErrState)
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != stateVersion {
		return fmt.Errorf("%w: format version %d, this edgeai reads %d", ErrState, v, stateVersion)
	}
	if got := hex.EncodeToString(head[12:]); got != sum {
		return fmt.Errorf("%w: saved for the model with SHA-256 %s, not this one (%s)", ErrState, got[:16], sum[:16])
	}
	var h stateHeader
	if err := binary.Read(hr, binary.LittleEndian, &h); err != nil {
		return fmt.Errorf("%w: %v", ErrState, short(err))
	}
	want, _ := s.header()
	switch {
	case h.K != want.K || h.V != want.V:
		return fmt.Errorf("%w: cache types %v/%v, this session's are %v/%v", ErrState, quant.Type(h.K), quant.Type(h.V), quant.Type(want.K), quant.Type(want.V))
	case h.Ctx != want.Ctx || h.Batch != want.Batch:
		return fmt.Errorf("%w: context %d and batch %d, this session's are %d and %d", ErrState, h.Ctx, h.Batch, want.Ctx, want.Batch)
	case int64(h.N) > int64(s.ContextSize()):
		return fmt.Errorf("%w: %d tokens in a context of %d", ErrState, h.N, s.ContextSize())
	}
	vocab := s.m.dec.Config().Vocab
	tokens := make([]int, h.N) // at most the context size
	var b [4]byte
	for i := range tokens {
		if _, err := io.ReadFull(hr, b[:]); err != nil {
			return fmt.Errorf("%w: %v", ErrState, short(err))
		}
		t := binary.LittleEndian.Uint32(b[:])
		if t >= uint32(vocab) {
			return fmt.Errorf("%w: token %d out of the vocabulary", ErrState, t)
		}
		tokens[i] = int(t)
	}
	if err := s.cache.Load(hr, len(tokens)); err != nil {
		return fmt.Errorf("%w: %v", ErrState, short(err))
	}
	got := hr.h.Sum(nil)
	var tail [32]byte
	if _, err := io.ReadFull(hr.r, tail[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrState, short(err))
	}
	if !bytes.Equal(got, tail[:]) {
		return fmt.Errorf("%w: the file's checksum does not match its content (altered or damaged)", ErrState)
	}
	if n, _ := hr.r.Read(tail[:1]); n > 0 {
		return fmt.Errorf("%w: bytes after the end of the state", ErrState)
	}
	s.tokens = append(s.tokens[:0], tokens...)
	return nil
}

// short names an early end of the data as a truncated file.
func short(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the file ends early (truncated)")
	}
	return err
}

type hashReader struct {
	r *bufio.Reader
	h hash.Hash
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// SaveStateFile writes the session's state to path atomically (a
// temporary file renamed when complete).
func (s *Session) SaveStateFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := s.SaveState(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("runtime: save state: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// LoadStateFile is LoadState from a regular file at path.
func (s *Session) LoadStateFile(path string) error {
	f, err := safeopen.Open(path)
	if err != nil {
		return fmt.Errorf("runtime: load state: %w", err)
	}
	defer f.Close()
	return s.LoadState(f)
}
