package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

func init() {
	register(&command{name: "logits", summary: "write the logits of every position of a token sequence (raw float32)", run: runLogits})
}

func runLogits(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("logits", stderr)
	var mf modelFlags
	mf.add(fs)
	idsFlag := fs.String("ids", "", "comma-separated token `ids` (required)")
	out := fs.String("o", "", "output `file` (default: standard output); rows of vocab little-endian float32, one per position")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *idsFlag == "" {
		return fmt.Errorf("%w: --ids is required", errUsage)
	}
	ids, err := parseIDs(*idsFlag)
	if err != nil {
		return err
	}
	model, _, err := mf.load(ctx)
	if err != nil {
		return err
	}
	defer model.Close()
	s, err := model.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	logits, err := s.EvalAll(ctx, ids)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	var b [4]byte
	for _, v := range logits {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stderr, "wrote %d positions x %d logits to %s\n", len(ids), model.Info().Vocab, *out)
	}
	return nil
}
