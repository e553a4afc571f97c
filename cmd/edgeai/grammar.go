package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeai-go/edgeai/internal/safeopen"
	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// grammarFlags are run's constrained-sampling flags: the output follows a
// GBNF grammar or a JSON Schema.
type grammarFlags struct {
	file    string
	schema  string
	grammar *grammar.Grammar
}

func addGrammarFlags(fs *flag.FlagSet) *grammarFlags {
	g := new(grammarFlags)
	fs.StringVar(&g.file, "grammar-file", "", "constrain the output to the GBNF grammar in `file` (llama.cpp's syntax, start rule root)")
	fs.StringVar(&g.schema, "json-schema", "", "constrain the output to JSON valid under a JSON Schema: a `file`, or the schema itself ({...}); with --no-echo stdout is the JSON alone")
	return g
}

// load reads and compiles the grammar the flags name, if any.
func (g *grammarFlags) load() error {
	switch {
	case g.file != "" && g.schema != "":
		return fmt.Errorf("%w: --grammar-file and --json-schema exclude each other", errUsage)
	case g.file != "":
		src, err := readLimited(g.file, grammar.MaxSource)
		if err != nil {
			return fmt.Errorf("--grammar-file: %w", err)
		}
		if g.grammar, err = grammar.ParseGBNF(src); err != nil {
			return fmt.Errorf("--grammar-file %s: %w", g.file, err)
		}
	case g.schema != "":
		text := g.schema
		if !strings.HasPrefix(strings.TrimSpace(text), "{") {
			var err error
			if text, err = readLimited(g.schema, grammar.MaxSchemaBytes); err != nil {
				return fmt.Errorf("--json-schema: %w", err)
			}
		}
		var err error
		if g.grammar, err = grammar.FromJSONSchema([]byte(text)); err != nil {
			return fmt.Errorf("--json-schema: %w", err)
		}
	}
	return nil
}

// readLimited reads a regular file of at most limit bytes.
func readLimited(path string, limit int64) (string, error) {
	f, err := safeopen.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > limit {
		return "", fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return string(b), nil
}

// report says on stderr when a constrained output stopped before the grammar
// was complete (a token limit or a stop string cut it).
func (g *grammarFlags) report(stderr io.Writer, st *runtime.Stats) {
	if g.grammar != nil && !st.GrammarComplete {
		fmt.Fprintf(stderr, "warning: the output is incomplete: generation stopped (%s) before the grammar was complete\n", st.StopReason)
	}
}
