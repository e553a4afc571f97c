package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/edgeai-go/edgeai/models/onnx"
	"github.com/edgeai-go/edgeai/models/onnx/quantize"
)

// edgeai onnx quantize: dynamic int8 quantization (or float16 conversion)
// of a float ONNX model; see package models/onnx/quantize.
//
//	edgeai onnx quantize MODEL.onnx -o OUT.onnx [--per-tensor] [--ops MatMul,Gemm,Conv] [--fp16]

func onnxQuantize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("onnx quantize", stderr)
	out := fs.String("o", "", "the output model file (required)")
	fp16 := fs.Bool("fp16", false, "convert to float16 instead of quantizing (inputs and outputs stay float32)")
	perTensor := fs.Bool("per-tensor", false, "one scale per weight tensor instead of one per output channel")
	ops := fs.String("ops", "MatMul,Gemm,Conv", "the operators to quantize, comma-separated")
	minWeights := fs.Int("min-weights", 16, "leave weights with fewer values in float")
	force := fs.Bool("f", false, "overwrite the output file if it exists")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeai onnx quantize MODEL.onnx -o OUT.onnx [--fp16] [--per-tensor] [--ops MatMul,Gemm,Conv]")
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
		return fmt.Errorf("%w: -o OUT.onnx is required", errUsage)
	}
	if *minWeights < 1 {
		return fmt.Errorf("%w: --min-weights must be at least 1", errUsage)
	}
	var opList []string
	for _, o := range strings.Split(*ops, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if !slices.Contains([]string{"MatMul", "Gemm", "Conv"}, o) {
			return fmt.Errorf("%w: --ops: %q is not MatMul, Gemm or Conv", errUsage, o)
		}
		opList = append(opList, o)
	}
	if !*force {
		if _, err := os.Lstat(*out); err == nil {
			return fmt.Errorf("%s exists (use -f to overwrite)", *out)
		}
	}
	m, err := onnx.ReadFile(pos[0])
	if err != nil {
		return err
	}
	if err := m.LoadExternal(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if *fp16 {
		if m, err = quantize.Float16(m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: converted to float16\n", pos[0])
	} else {
		var rep *quantize.Report
		m, rep, err = quantize.Dynamic(m, quantize.Options{PerTensor: *perTensor, MinWeights: *minWeights, Ops: opList})
		if err != nil && rep != nil {
			for _, why := range slices.Sorted(maps.Keys(rep.Skipped)) {
				fmt.Fprintf(stderr, "skipped   %4d %s\n", rep.Skipped[why], why)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		for _, op := range slices.Sorted(maps.Keys(rep.Quantized)) {
			fmt.Fprintf(stdout, "quantized %4d %s\n", rep.Quantized[op], op)
		}
		for _, why := range slices.Sorted(maps.Keys(rep.Skipped)) {
			fmt.Fprintf(stdout, "skipped   %4d %s\n", rep.Skipped[why], why)
		}
		fmt.Fprintf(stdout, "weights: %s float -> %s int8 with scales\n", sizeString(rep.WeightBytes), sizeString(rep.QuantizedBytes))
	}
	m.ProducerName, m.ProducerVersion = "edgeai onnx quantize", ""
	data, err := onnx.Encode(m)
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s)\n", *out, sizeString(int64(len(data))))
	return nil
}
