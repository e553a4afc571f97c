// Command edgeai runs small quantized models on the device: text generation,
// chat, embeddings, ONNX task models, an OpenAI-compatible server and benchmarks.
//
// Each subcommand lives in its own file and registers itself in init.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string
	// run executes the command with its own arguments (without the command name).
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// ownSignals: the command handles SIGINT itself (chat: Ctrl-C stops an
	// answer, not the program); otherwise SIGINT/SIGTERM cancel ctx.
	ownSignals bool
}

var commands = map[string]*command{}

// stdin is where commands read prompts and chat turns; tests replace it.
var stdin io.Reader = os.Stdin

// register adds a subcommand; called from each command file's init.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("edgeai: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by wrong arguments (exit status 2).
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "edgeai: private, offline inference of small quantized models")
	fmt.Fprintln(w, "\nUsage: edgeai COMMAND [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'edgeai COMMAND -h' for the flags of a command.")
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain dispatches to a subcommand and returns the process exit status.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "edgeai: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx := context.Background()
	if !c.ownSignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "edgeai %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "edgeai %s: %v\n", c.name, err)
		return 1
	}
}

// newFlags returns a FlagSet for a subcommand that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edgeai "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args with fs, wrapping parse errors as usage errors.
// Flags may appear before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
