package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/internal/npy"
	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/quant"
	"github.com/edgeai-go/edgeai/runtime"
)

// edgeai onnx: inspect and run ONNX models.
//
//	edgeai onnx info MODEL.onnx
//	edgeai onnx run MODEL.onnx --input name=file.npy ... [--backend ort|go] --out DIR [--bench N]
//
// run writes each output to DIR/<name>.npy, where <name> is the output's
// name with every byte outside [A-Za-z0-9_.-] written as %XX (two upper-case
// hex digits), a leading "." written as %2E, and the first letter of a name
// Windows reserves (CON, NUL, COM1, ...) escaped, so any name maps to one
// safe file name and back (see escapeName).

func init() {
	register(&command{
		name:    "onnx",
		summary: "inspect (info), run (run) and quantize (quantize) ONNX models",
		run:     runONNX,
	})
}

const onnxUsage = `usage:
  edgeai onnx info MODEL.onnx
  edgeai onnx run MODEL.onnx --input NAME=FILE.npy ... --out DIR [--backend ort|go] [--threads N] [--bench N]
  edgeai onnx quantize MODEL.onnx -o OUT.onnx [--fp16] [--per-tensor] [--ops MatMul,Gemm,Conv]`

func runONNX(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: missing subcommand\n%s", errUsage, onnxUsage)
	}
	switch args[0] {
	case "info":
		return onnxInfo(ctx, args[1:], stdout, stderr)
	case "run":
		return onnxRun(ctx, args[1:], stdout, stderr)
	case "quantize":
		return onnxQuantize(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, onnxUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown subcommand %q\n%s", errUsage, args[0], onnxUsage)
}

func onnxInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("onnx info", stderr)
	lib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: $EDGEAI_ORT_LIB, then the usual locations)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeai onnx info [--ort-lib PATH] MODEL.onnx")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one model file, got %d arguments", errUsage, len(pos))
	}
	info, err := runtime.InspectONNX(pos[0])
	if err != nil {
		return err
	}
	w := stdout
	fmt.Fprintf(w, "model:      %s (%s)\n", info.Path, sizeString(info.Size))
	fmt.Fprintf(w, "producer:   %s, IR version %d\n", orDash(info.Producer), info.IRVersion)
	var ops []string
	for _, o := range info.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		ops = append(ops, fmt.Sprintf("%s %d", d, o.Version))
	}
	fmt.Fprintf(w, "opsets:     %s\n", orDash(strings.Join(ops, ", ")))
	fmt.Fprintf(w, "nodes:      %d (%d operator types)\n", info.Nodes, len(info.Ops))
	fmt.Fprintf(w, "weights:    %d parameters in %d constant tensors (%d initializers)", info.Parameters, info.Constants, info.Initializers)
	if info.ExternalTensors > 0 {
		fmt.Fprintf(w, ", %d in external files", info.ExternalTensors)
	}
	fmt.Fprintln(w)
	printIO := func(title string, tis []runtime.TensorInfo) {
		fmt.Fprintf(w, "%s\n", title)
		width := 0
		for _, ti := range tis {
			width = max(width, len(ti.Name))
		}
		for _, ti := range tis {
			fmt.Fprintf(w, "  %-*s  %s%s\n", width, ti.Name, ti.Type, ti.ShapeString())
		}
	}
	printIO("inputs:", info.Inputs)
	printIO("outputs:", info.Outputs)
	for _, s := range info.NonTensor {
		fmt.Fprintf(w, "  (not a tensor) %s\n", s)
	}
	if len(info.Functions) > 0 {
		fmt.Fprintf(w, "functions:  %s\n", strings.Join(info.Functions, ", "))
	}
	if info.Invalid != "" {
		fmt.Fprintf(w, "invalid:    %s\n", info.Invalid)
	}
	fmt.Fprintln(w, "ops:")
	for _, c := range info.Ops {
		fmt.Fprintf(w, "  %6d  %s\n", c.Count, c)
	}
	fmt.Fprintln(w, "backends:")
	for _, b := range runtime.ONNXBackends() {
		opts := runtime.ONNXOptions{ORTLibrary: *lib, Threads: 1}
		if err := runtime.ONNXBackendAvailable(b, opts); err != nil {
			fmt.Fprintf(w, "  %-4s no: %v\n", b, err)
			continue
		}
		if err := runtime.CheckONNXBackend(ctx, pos[0], b, opts); err != nil {
			fmt.Fprintf(w, "  %-4s no: %v\n", b, err)
			continue
		}
		detail := "loads the model"
		if b == runtime.ONNXBackendORT {
			if _, v, err := runtime.ORTVersion(*lib); err == nil {
				detail = "ONNX Runtime " + v + " loads the model"
			}
		}
		fmt.Fprintf(w, "  %-4s yes (%s)\n", b, detail)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// inputFlags collects repeated --input NAME=FILE flags.
type inputFlags []string

func (f *inputFlags) String() string { return strings.Join(*f, " ") }

func (f *inputFlags) Set(v string) error {
	if i := strings.IndexByte(v, '='); i <= 0 || i == len(v)-1 {
		return fmt.Errorf("want NAME=FILE.npy, got %q", v)
	}
	*f = append(*f, v)
	return nil
}

func onnxRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("onnx run", stderr)
	var inputs inputFlags
	fs.Var(&inputs, "input", "an input as NAME=FILE.npy, or NAME=FILE.pb for a serialized ONNX TensorProto (repeat for each input)")
	out := fs.String("out", "", "directory to write each output to as <name>.npy (created if missing)")
	backend := fs.String("backend", "", "backend: ort or go (default: the first available)")
	threads := fs.Int("threads", 0, "threads per run (0: the backend's default)")
	bench := fs.Int("bench", 0, "after the run, time N more runs (after one warm-up run) and print the statistics")
	lib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: $EDGEAI_ORT_LIB, then the usual locations)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeai onnx run MODEL.onnx --input NAME=FILE.npy ... --out DIR [flags]")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one model file, got %d arguments", errUsage, len(pos))
	}
	if *out == "" {
		return fmt.Errorf("%w: --out DIR is required", errUsage)
	}
	if *bench < 0 || *threads < 0 {
		return fmt.Errorf("%w: --bench and --threads must not be negative", errUsage)
	}
	s, err := runtime.LoadONNX(ctx, pos[0], runtime.ONNXOptions{Backend: *backend, Threads: *threads, ORTLibrary: *lib})
	if err != nil {
		return err
	}
	defer s.Close()

	declared := map[string]runtime.TensorInfo{}
	for _, ti := range s.Inputs() {
		declared[ti.Name] = ti
	}
	in := map[string]*runtime.Tensor{}
	for _, kv := range inputs {
		name, file, _ := strings.Cut(kv, "=")
		ti, ok := declared[name]
		if !ok {
			var names []string
			for _, ti := range s.Inputs() {
				names = append(names, ti.Name)
			}
			return fmt.Errorf("%w: the model has no input %q (inputs: %s)", errUsage, name, strings.Join(names, ", "))
		}
		if _, dup := in[name]; dup {
			return fmt.Errorf("%w: input %q given twice", errUsage, name)
		}
		t, err := readInput(file)
		if err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		if t.Type != ti.Type {
			from := t.Type
			if t, err = convertTensor(t, ti.Type); err != nil {
				return fmt.Errorf("input %q: %w", name, err)
			}
			fmt.Fprintf(stderr, "edgeai onnx: input %q converted from %v to %v\n", name, from, ti.Type)
		}
		in[name] = t
	}
	start := time.Now()
	res, err := s.Run(ctx, in)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s on %s: %d outputs in %s\n", filepath.Base(pos[0]), s.Backend(), len(res), elapsed.Round(time.Microsecond))
	for _, ti := range s.Outputs() {
		t := res[ti.Name]
		path := filepath.Join(*out, escapeName(ti.Name)+".npy")
		note := ""
		if err := writeNPYTensor(path, t); err != nil {
			if !errors.Is(err, errNoNPY) {
				return fmt.Errorf("output %q: %w", ti.Name, err)
			}
			path, note = "(not written)", " "+err.Error()
		} else if t.Type == runtime.TensorBFloat16 {
			note = " (written as float32: .npy has no bfloat16)"
		}
		fmt.Fprintf(stdout, "  %s %v%v -> %s%s%s\n", ti.Name, t.Type, t.Shape, path, stats(t), note)
	}
	if *bench > 0 {
		if _, err := s.Run(ctx, in); err != nil { // warm-up
			return err
		}
		times := make([]time.Duration, *bench)
		for i := range times {
			start := time.Now()
			if _, err := s.Run(ctx, in); err != nil {
				return err
			}
			times[i] = time.Since(start)
		}
		slices.Sort(times)
		var sum time.Duration
		for _, d := range times {
			sum += d
		}
		fmt.Fprintf(stdout, "bench: %d runs after 1 warm-up: min %s, median %s, mean %s, max %s\n", len(times),
			ms(times[0]), ms(times[len(times)/2]), ms(sum/time.Duration(len(times))), ms(times[len(times)-1]))
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

// stats summarises a numeric tensor as " min .. max, mean".
func stats(t *runtime.Tensor) string {
	v, err := t.Float64s()
	if err != nil || len(v) == 0 {
		return ""
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, x := range v {
		lo, hi, sum = min(lo, x), max(hi, x), sum+x
	}
	return fmt.Sprintf("  [min %.6g, max %.6g, mean %.6g]", lo, hi, sum/float64(len(v)))
}

// escapeName maps an output name to a file name (without extension): bytes
// outside [A-Za-z0-9_.-] become %XX, as do a leading "." and the first byte
// of a name Windows reserves; unescapeName inverts it.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !safe || (i == 0 && c == '.') || (i == 0 && windowsReserved(name)) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "%" // the empty name
	}
	return b.String()
}

// windowsReserved reports whether name (up to its first ".") is a device
// name Windows reserves in every directory.
func windowsReserved(name string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return true
	}
	return false
}

// unescapeName inverts escapeName.
func unescapeName(s string) (string, error) {
	if s == "%" {
		return "", nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

var npyTypes = map[string]runtime.TensorType{
	"<f4": runtime.TensorFloat32, "<f8": runtime.TensorFloat64, "<f2": runtime.TensorFloat16,
	"|i1": runtime.TensorInt8, "|u1": runtime.TensorUint8, "<i2": runtime.TensorInt16,
	"<u2": runtime.TensorUint16, "<i4": runtime.TensorInt32, "<u4": runtime.TensorUint32,
	"<i8": runtime.TensorInt64, "<u8": runtime.TensorUint64, "|b1": runtime.TensorBool,
}

// readInput reads an input tensor from a .npy file, or from a serialized
// ONNX TensorProto when the name ends in ".pb" (ONNX's test-data format).
func readInput(path string) (*runtime.Tensor, error) {
	if !strings.HasSuffix(path, ".pb") {
		return readNPYTensor(path)
	}
	return runtime.ReadTensorFile(path)
}

func readNPYTensor(path string) (*runtime.Tensor, error) {
	f, err := onnx.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := npy.Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	typ, ok := npyTypes[a.Descr]
	if !ok {
		return nil, fmt.Errorf("%s: dtype %s is not supported", path, a.Descr)
	}
	return runtime.TensorFromRaw(typ, a.Shape, a.Data)
}

var errNoNPY = errors.New(".npy cannot hold string tensors")

func writeNPYTensor(path string, t *runtime.Tensor) error {
	if t.Type == runtime.TensorString {
		return errNoNPY
	}
	if t.Type == runtime.TensorBFloat16 {
		var err error
		if t, err = convertTensor(t, runtime.TensorFloat32); err != nil {
			return err
		}
	}
	var descr string
	for d, typ := range npyTypes {
		if typ == t.Type {
			descr = d
		}
	}
	raw, err := t.Raw()
	if err != nil {
		return err
	}
	return npy.WriteFile(path, &npy.Array{Descr: descr, Shape: t.Shape, Data: raw})
}

// convertTensor converts between numeric element types (numpy's defaults
// are float64 and int64; models mostly take float32): floating-point values
// are rounded, integers must fit the target exactly.
func convertTensor(t *runtime.Tensor, to runtime.TensorType) (*runtime.Tensor, error) {
	v, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	isFloat := func(typ runtime.TensorType) bool {
		return typ == runtime.TensorFloat32 || typ == runtime.TensorFloat64 ||
			typ == runtime.TensorFloat16 || typ == runtime.TensorBFloat16
	}
	if !isFloat(to) && to != runtime.TensorBool {
		if isFloat(t.Type) {
			return nil, fmt.Errorf("the model takes %v; refusing to convert %v values to integers", to, t.Type)
		}
		if t.Type == runtime.TensorInt64 || t.Type == runtime.TensorUint64 {
			// Float64s loses integers beyond 2^53; convert exactly instead.
			return convertInts(t, to)
		}
	}
	if to == runtime.TensorBool || t.Type == runtime.TensorBool {
		return nil, fmt.Errorf("the model takes %v; refusing to convert %v", to, t.Type)
	}
	raw := make([]byte, 0, len(v)*to.Size())
	for _, x := range v {
		var ok bool
		if raw, ok = appendAs(raw, to, x); !ok {
			return nil, fmt.Errorf("value %v does not fit %v", x, to)
		}
	}
	return runtime.TensorFromRaw(to, t.Shape, raw)
}

// convertInts converts int64 or uint64 values, which float64 cannot hold
// exactly, to another integer type; every value must fit.
func convertInts(t *runtime.Tensor, to runtime.TensorType) (*runtime.Tensor, error) {
	size := to.Size()
	lo, hi := intBounds(to)
	var vals []uint64
	switch d := t.Data.(type) {
	case []int64:
		for _, x := range d {
			if x < lo || (x > 0 && uint64(x) > hi) {
				return nil, fmt.Errorf("value %d does not fit %v", x, to)
			}
			vals = append(vals, uint64(x))
		}
	case []uint64:
		for _, x := range d {
			if x > hi {
				return nil, fmt.Errorf("value %d does not fit %v", x, to)
			}
			vals = append(vals, x)
		}
	}
	raw := make([]byte, 0, len(vals)*size)
	for _, v := range vals {
		for i := 0; i < size; i++ {
			raw = append(raw, byte(v>>(8*i)))
		}
	}
	return runtime.TensorFromRaw(to, t.Shape, raw)
}

// intBounds returns the range of an integer type.
func intBounds(typ runtime.TensorType) (int64, uint64) {
	switch typ {
	case runtime.TensorInt8:
		return math.MinInt8, math.MaxInt8
	case runtime.TensorUint8:
		return 0, math.MaxUint8
	case runtime.TensorInt16:
		return math.MinInt16, math.MaxInt16
	case runtime.TensorUint16:
		return 0, math.MaxUint16
	case runtime.TensorInt32:
		return math.MinInt32, math.MaxInt32
	case runtime.TensorUint32:
		return 0, math.MaxUint32
	case runtime.TensorInt64:
		return math.MinInt64, math.MaxInt64
	}
	return 0, math.MaxUint64
}

// appendAs appends x in the raw form of typ; integers must be whole and in
// range.
func appendAs(b []byte, typ runtime.TensorType, x float64) ([]byte, bool) {
	le := func(v uint64, n int) []byte {
		for i := 0; i < n; i++ {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
	inRange := func(lo, hi float64) bool { return x == math.Trunc(x) && x >= lo && x <= hi }
	switch typ {
	case runtime.TensorFloat32:
		return le(uint64(math.Float32bits(float32(x))), 4), true
	case runtime.TensorFloat64:
		return le(math.Float64bits(x), 8), true
	case runtime.TensorFloat16:
		return le(uint64(quant.F32ToF16(float32(x))), 2), true
	case runtime.TensorBFloat16:
		return le(uint64(quant.F32ToBF16(float32(x))), 2), true
	case runtime.TensorInt8:
		return le(uint64(int64(x)), 1), inRange(math.MinInt8, math.MaxInt8)
	case runtime.TensorUint8:
		return le(uint64(x), 1), inRange(0, math.MaxUint8)
	case runtime.TensorInt16:
		return le(uint64(int64(x)), 2), inRange(math.MinInt16, math.MaxInt16)
	case runtime.TensorUint16:
		return le(uint64(x), 2), inRange(0, math.MaxUint16)
	case runtime.TensorInt32:
		return le(uint64(int64(x)), 4), inRange(math.MinInt32, math.MaxInt32)
	case runtime.TensorUint32:
		return le(uint64(x), 4), inRange(0, math.MaxUint32)
	case runtime.TensorInt64:
		return le(uint64(int64(x)), 8), inRange(-(1 << 63), math.Nextafter(1<<63, 0))
	case runtime.TensorUint64:
		return le(uint64(x), 8), inRange(0, math.Nextafter(1<<64, 0))
	}
	return b, false
}
