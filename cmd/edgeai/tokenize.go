package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgeai-go/edgeai/models/gguf"
	"github.com/edgeai-go/edgeai/models/tokenizer"
)

func init() {
	register(&command{name: "tokenize", summary: "print the token ids of a text", run: runTokenize})
}

func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", stderr)
	model := fs.String("m", "", "model or vocabulary `file` (GGUF)")
	pieces := fs.Bool("pieces", false, "print id:piece pairs, one per line")
	bos := fs.Bool("bos", false, "add the BOS token even if the vocabulary does not ask for it")
	noBOS := fs.Bool("no-bos", false, "do not add BOS/EOS tokens")
	special := fs.Bool("special", false, "parse special-token texts such as <|im_start|> as their tokens")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *model == "" || len(pos) == 0 {
		return fmt.Errorf("%w: edgeai tokenize -m MODEL TEXT", errUsage)
	}
	f, err := gguf.Open(*model)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	ids, err := tok.Encode(strings.Join(pos, " "), tokenizer.EncodeOptions{AddSpecial: !*noBOS, ParseSpecial: *special})
	if err != nil {
		return err
	}
	if *bos && tok.BOS() >= 0 && (len(ids) == 0 || ids[0] != tok.BOS()) {
		ids = append([]int{tok.BOS()}, ids...)
	}
	if *pieces {
		for _, id := range ids {
			fmt.Fprintf(stdout, "%d\t%s\n", id, strconv.Quote(tok.Piece(id)))
		}
		return nil
	}
	fmt.Fprintln(stdout, joinInts(ids))
	return nil
}
