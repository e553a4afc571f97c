package main

import (
	"flag"
	"fmt"
	"strings"
)

// llama.cpp's users type its flags. The ones edgeai has under the same
// names mean the same (-m, -t, -c, -b, -n, -s, -f, -p, --temp, --top-k, ...,
// registered by the commands); the ones below have no effect on a CPU-only
// runtime or belong to another command, and say so instead of failing with
// "flag provided but not defined".

// compatFlag is a llama.cpp flag edgeai accepts without acting on it
// (ignored, with a note) or refuses with the reason (refused).
type compatFlag struct {
	names   []string
	value   bool   // takes a value (-ngl 99); otherwise a switch
	refused bool   // an error rather than a note
	why     string // the note or the reason
}

// modelCompat are accepted wherever a model is loaded.
var modelCompat = []compatFlag{
	{names: []string{"ngl", "n-gpu-layers", "gpu-layers"}, value: true, why: "edgeai runs on the CPU only; the GPU layer count is ignored"},
	{names: []string{"fa", "flash-attn"}, value: false, why: "edgeai's CPU attention needs no switch; --flash-attn is ignored"},
	{names: []string{"mlock"}, why: "pages are not locked; --no-mmap keeps the weights in the process's own memory"},
	{names: []string{"numa"}, value: true, why: "NUMA placement is left to the operating system; --numa is ignored"},
	{names: []string{"no-warmup"}, why: "edgeai does no warm-up run; --no-warmup is ignored"},
	{names: []string{"log-disable"}, why: "edgeai logs only timing lines on standard error; --log-disable is ignored"},
	{names: []string{"hf-repo", "hf", "hf-file", "hff", "model-url", "mu"}, value: true, refused: true,
		why: "edgeai never downloads models: fetch the GGUF yourself and pass it with -m (docs/models.md lists files that work)"},
	{names: []string{"lora", "lora-scaled", "control-vector"}, value: true, refused: true, why: "adapters are not supported"},
	{names: []string{"mmproj", "image"}, value: true, refused: true, why: "multimodal models are not supported"},
}

// generateCompat are accepted by run (and partly chat).
var generateCompat = []compatFlag{
	{names: []string{"color", "simple-io", "no-perf", "verbose-prompt", "no-cnv", "no-conversation", "single-turn", "st"}, why: "accepted for llama.cpp compatibility; it changes nothing here"},
	{names: []string{"i", "interactive", "interactive-first", "if", "cnv", "conversation"}, refused: true, why: "for a conversation use `edgeai chat -m MODEL`"},
}

// addCompat registers flags on fs. A note goes to fs.Output() when an
// ignored flag is used; a refused one fails the parse with its reason.
func addCompat(fs *flag.FlagSet, flags []compatFlag) {
	for _, c := range flags {
		for _, name := range c.names {
			if fs.Lookup(name) != nil {
				continue // the command has its own meaning for it
			}
			handle := func(string) error {
				if c.refused {
					return fmt.Errorf("-%s: %s", name, c.why)
				}
				fmt.Fprintf(fs.Output(), "note: -%s: %s\n", name, c.why)
				return nil
			}
			usage := "llama.cpp's flag: " + c.why
			if c.value {
				fs.Func(name, usage, handle)
			} else {
				fs.BoolFunc(name, usage, handle)
			}
		}
	}
}

// unescape turns the escapes llama.cpp's -e (on by default) understands in a
// prompt into their characters: \n \r \t \' \" \\ \a \b \f \v, \xHH, and
// leaves any other backslash as it is.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\'', '"', '\\':
			b.WriteByte(s[i])
		case 'x':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
