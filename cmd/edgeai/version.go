package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"

	"github.com/edgeai-go/edgeai/kernels"
)

// version is the release version, set at build time:
//
//	go build -ldflags "-X main.version=v0.3.0" ./cmd/edgeai
//
// When empty, the module version and VCS stamp from the build info are used.
var version string

func init() {
	register(&command{name: "version", summary: "print the version, Go version, platform and kernels", run: runVersion})
}

// buildInfo describes the binary.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Kernels  string `json:"kernels"`        // the kernel path in use, e.g. "avx2"
	Features string `json:"kernels_detail"` // with the CPU features it relies on
}

// readBuildInfo gathers the version: -X main.version if set, else the main
// module's version ("(devel)" for a plain go build), with the VCS revision,
// time and dirty flag that go build stamps in a git checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Go: goruntime.Version(), OS: goruntime.GOOS, Arch: goruntime.GOARCH,
		Kernels: kernels.Path(), Features: kernels.Features()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

// edgeaiVersion is the one-line version recorded in audit logs, e.g.
// "v0.3.0" or "(devel) 3b98530c+dirty".
func edgeaiVersion() string {
	b := readBuildInfo()
	v := b.Version
	if b.Commit != "" && (v == "(devel)" || version == "") {
		v += " " + b.Commit[:min(len(b.Commit), 12)]
		if b.Modified {
			v += "+dirty"
		}
	}
	return v
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	b := readBuildInfo()
	if *asJSON {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(b)
	}
	fmt.Fprintf(stdout, "edgeai %s\n", b.Version)
	if b.Commit != "" {
		dirty := ""
		if b.Modified {
			dirty = ", modified"
		}
		fmt.Fprintf(stdout, "commit   %s (%s%s)\n", b.Commit, b.Time, dirty)
	}
	fmt.Fprintf(stdout, "go       %s %s/%s\n", b.Go, b.OS, b.Arch)
	fmt.Fprintf(stdout, "kernels  %s\n", b.Features)
	return nil
}
