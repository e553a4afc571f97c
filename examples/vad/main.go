// Command vad finds speech in a WAV file with Silero VAD, an ONNX voice
// activity detector, and prints the speech segments with timestamps.
//
//	go run ./examples/vad -model silero_vad.onnx speech.wav
//
// It runs on any ONNX backend of package runtime (-backend ort|go) and takes
// the three Silero variants in ../shared/testdata/onnx/models/silero-vad:
// v5 (inputs input, state, sr; fed 512-sample windows with the previous
// window's last 64 samples in front, as Silero's own wrapper does) and v4
// (inputs input, sr, h, c). The WAV may be 8-, 16-, 24- or 32-bit PCM or
// 32-bit float, any channel count (averaged) and any rate: rates other than
// 16 kHz and 8 kHz are resampled to 16 kHz by linear interpolation.
//
// Segments follow Silero's rules: speech starts when the probability of a
// window reaches -threshold, ends after -min-silence-ms below threshold-0.15,
// segments shorter than -min-speech-ms are dropped, and each is widened by
// -pad-ms on both sides.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/edgeai-go/edgeai/runtime"
)

const defaultModel = "../shared/testdata/onnx/models/silero-vad/silero_vad_16k_op15.onnx"

func main() {
	model := flag.String("model", defaultModel, "Silero VAD ONNX model")
	backend := flag.String("backend", "", "ONNX backend: ort or go (default: the first available)")
	threads := flag.Int("threads", 1, "threads per model run")
	threshold := flag.Float64("threshold", 0.5, "speech probability that starts a segment")
	minSpeech := flag.Int("min-speech-ms", 250, "drop segments shorter than this")
	minSilence := flag.Int("min-silence-ms", 100, "silence that ends a segment")
	pad := flag.Int("pad-ms", 30, "padding added to both ends of a segment")
	probs := flag.Bool("probs", false, "also print the speech probability of every window")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: vad [flags] FILE.wav")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	opts := Options{Threshold: *threshold, MinSpeechMs: *minSpeech, MinSilenceMs: *minSilence, PadMs: *pad}
	if err := run(context.Background(), os.Stdout, flag.Arg(0), *model, runtime.ONNXOptions{Backend: *backend, Threads: *threads}, opts, *probs); err != nil {
		fmt.Fprintln(os.Stderr, "vad:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, wavPath, modelPath string, ro runtime.ONNXOptions, opts Options, printProbs bool) error {
	f, err := os.Open(wavPath)
	if err != nil {
		return err
	}
	defer f.Close()
	samples, rate, err := ReadWAV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", wavPath, err)
	}
	if rate != 16000 && rate != 8000 {
		samples, rate = Resample(samples, rate, 16000), 16000
	}
	s, err := runtime.LoadONNX(ctx, modelPath, ro)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := NewDetector(s, rate)
	if err != nil {
		return err
	}
	p, err := v.Probabilities(ctx, samples)
	if err != nil {
		return err
	}
	if printProbs {
		for i, x := range p {
			fmt.Fprintf(w, "%8.3fs  %.3f\n", float64(i*v.Window)/float64(rate), x)
		}
	}
	segs := Segments(p, v.Window, rate, len(samples), opts)
	fmt.Fprintf(w, "%s: %.2fs at %d Hz, %d windows, backend %s\n", wavPath, float64(len(samples))/float64(rate), rate, len(p), s.Backend())
	for _, sg := range segs {
		fmt.Fprintf(w, "speech %8.3fs - %8.3fs  (%.2fs)\n", sg.Start, sg.End, sg.End-sg.Start)
	}
	if len(segs) == 0 {
		fmt.Fprintln(w, "no speech")
	}
	return nil
}

// Detector runs a Silero VAD session over audio, window by window, carrying
// the model's recurrent state.
type Detector struct {
	s      *runtime.ONNXSession
	rate   int
	Window int // samples per window: 512 at 16 kHz, 256 at 8 kHz
	v5     bool
	ctxLen int // samples of the previous window fed in front (v5)
}

// NewDetector checks the session's inputs and picks the model variant.
func NewDetector(s *runtime.ONNXSession, rate int) (*Detector, error) {
	if rate != 16000 && rate != 8000 {
		return nil, fmt.Errorf("vad: Silero VAD takes 16 kHz or 8 kHz audio, not %d Hz", rate)
	}
	names := map[string]bool{}
	for _, ti := range s.Inputs() {
		names[ti.Name] = true
	}
	d := &Detector{s: s, rate: rate, Window: 512}
	if rate == 8000 {
		d.Window = 256
	}
	switch {
	case names["input"] && names["state"] && names["sr"]:
		d.v5 = true
		d.ctxLen = 64
		if rate == 8000 {
			d.ctxLen = 32
		}
	case names["input"] && names["h"] && names["c"] && names["sr"]:
	default:
		return nil, fmt.Errorf("%s does not look like Silero VAD (inputs %v)", s.Path(), s.Inputs())
	}
	return d, nil
}

// Probabilities returns the speech probability of each full window of
// samples (a final partial window is zero-padded).
func (d *Detector) Probabilities(ctx context.Context, samples []float32) ([]float32, error) {
	sr, err := runtime.NewTensor(nil, []int64{int64(d.rate)})
	if err != nil {
		return nil, err
	}
	in := map[string]*runtime.Tensor{"sr": sr}
	if d.v5 {
		in["state"], _ = runtime.NewTensor([]int64{2, 1, 128}, make([]float32, 256))
	} else {
		in["h"], _ = runtime.NewTensor([]int64{2, 1, 64}, make([]float32, 128))
		in["c"], _ = runtime.NewTensor([]int64{2, 1, 64}, make([]float32, 128))
	}
	prev := make([]float32, d.ctxLen)
	var probs []float32
	for start := 0; start < len(samples); start += d.Window {
		chunk := make([]float32, d.ctxLen+d.Window)
		copy(chunk, prev)
		copy(chunk[d.ctxLen:], samples[start:min(start+d.Window, len(samples))])
		copy(prev, chunk[len(chunk)-d.ctxLen:])
		in["input"], _ = runtime.NewTensor([]int64{1, int64(len(chunk))}, chunk)
		out, err := d.s.Run(ctx, in)
		if err != nil {
			return nil, err
		}
		p, err := runtime.TensorValues[float32](out["output"])
		if err != nil || len(p) != 1 {
			return nil, fmt.Errorf("unexpected output %v (%v)", out["output"], err)
		}
		probs = append(probs, p[0])
		if d.v5 {
			in["state"] = out["stateN"]
		} else {
			in["h"], in["c"] = out["hn"], out["cn"]
		}
	}
	return probs, nil
}

// Options are the segmentation rules (see the package documentation).
type Options struct {
	Threshold    float64
	MinSpeechMs  int
	MinSilenceMs int
	PadMs        int
}

// Segment is one stretch of speech, in seconds.
type Segment struct {
	Start, End float64
}

// Segments turns per-window probabilities into speech segments.
func Segments(probs []float32, window, rate, total int, o Options) []Segment {
	minSpeech := o.MinSpeechMs * rate / 1000
	minSilence := o.MinSilenceMs * rate / 1000
	pad := o.PadMs * rate / 1000
	neg := max(o.Threshold-0.15, 0.01)
	type span struct{ start, end int }
	var spans []span
	speaking := false
	start, silenceFrom := 0, -1
	for i, p := range probs {
		pos := i * window
		switch {
		case float64(p) >= o.Threshold:
			silenceFrom = -1
			if !speaking {
				speaking, start = true, pos
			}
		case float64(p) < neg && speaking:
			if silenceFrom < 0 {
				silenceFrom = pos
			}
			if pos+window-silenceFrom >= minSilence {
				if silenceFrom-start >= minSpeech {
					spans = append(spans, span{start, silenceFrom})
				}
				speaking, silenceFrom = false, -1
			}
		}
	}
	if speaking && total-start >= minSpeech {
		spans = append(spans, span{start, total})
	}
	// Pad, without letting neighbours overlap: a gap shorter than two pads
	// is split in the middle.
	for i := range spans {
		s := &spans[i]
		if i == 0 {
			s.start = max(0, s.start-pad)
		}
		if i+1 < len(spans) {
			gap := spans[i+1].start - s.end
			if gap < 2*pad {
				s.end += gap / 2
				spans[i+1].start -= gap - gap/2
			} else {
				s.end += pad
				spans[i+1].start -= pad
			}
		} else {
			s.end = min(total, s.end+pad)
		}
	}
	out := make([]Segment, len(spans))
	for i, s := range spans {
		out[i] = Segment{float64(s.start) / float64(rate), float64(s.end) / float64(rate)}
	}
	return out
}

// maxWAVSamples bounds the audio ReadWAV accepts (one hour at 48 kHz stereo).
const maxWAVSamples = 48000 * 2 * 3600

// ReadWAV reads a RIFF WAVE file: PCM of 8, 16, 24 or 32 bits or IEEE
// float of 32 bits (also in WAVE_FORMAT_EXTENSIBLE), any channel count,
// averaged to mono in [-1, 1]. It returns the samples and the sample rate.
func ReadWAV(r io.Reader) ([]float32, int, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("not a WAV file: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF WAVE file")
	}
	var format, channels, bits int
	var rate int
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, 0, errors.New("WAV file has no data chunk")
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, 0, fmt.Errorf("WAV fmt chunk of %d bytes", size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("WAV fmt chunk: %w", err)
			}
			format = int(binary.LittleEndian.Uint16(b[0:]))
			channels = int(binary.LittleEndian.Uint16(b[2:]))
			rate = int(binary.LittleEndian.Uint32(b[4:]))
			bits = int(binary.LittleEndian.Uint16(b[14:]))
			if format == 0xfffe && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the subformat's first two bytes
				format = int(binary.LittleEndian.Uint16(b[24:]))
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("WAV data chunk before fmt chunk")
			}
			return decodePCM(r, size, format, channels, bits, rate)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size%2)); err != nil {
				return nil, 0, fmt.Errorf("WAV chunk %q: %w", id, err)
			}
		}
	}
}

func decodePCM(r io.Reader, size uint32, format, channels, bits, rate int) ([]float32, int, error) {
	if channels < 1 || channels > 32 || rate < 1000 || rate > 384000 {
		return nil, 0, fmt.Errorf("WAV with %d channels at %d Hz", channels, rate)
	}
	if !(format == 1 && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) && !(format == 3 && bits == 32) {
		return nil, 0, fmt.Errorf("WAV format %d with %d bits is not supported (want PCM 8/16/24/32 or float 32)", format, bits)
	}
	frame := channels * bits / 8
	if size == 0xffffffff || size == 0 { // streamed: up to the end of the file
		size = math.MaxUint32
	}
	frames := int(size) / frame
	if frames > maxWAVSamples/channels {
		frames = maxWAVSamples / channels
	}
	// Read through a limit so memory grows with the bytes that arrive.
	data, err := io.ReadAll(io.LimitReader(r, int64(frames*frame)))
	if err != nil {
		return nil, 0, err
	}
	frames = len(data) / frame
	out := make([]float32, frames)
	for i := range out {
		var sum float64
		for c := 0; c < channels; c++ {
			b := data[i*frame+c*bits/8:]
			switch {
			case format == 3:
				sum += float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			case bits == 8:
				sum += (float64(b[0]) - 128) / 128
			case bits == 16:
				sum += float64(int16(binary.LittleEndian.Uint16(b))) / 32768
			case bits == 24:
				v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
				sum += float64(v) / (1 << 23)
			default:
				sum += float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31)
			}
		}
		out[i] = float32(sum / float64(channels))
	}
	return out, rate, nil
}

// Resample converts audio from one rate to another by linear interpolation
// (adequate for voice activity detection, not for listening).
func Resample(x []float32, from, to int) []float32 {
	if from == to || len(x) == 0 {
		return slices.Clone(x)
	}
	n := int(int64(len(x)) * int64(to) / int64(from))
	out := make([]float32, n)
	for i := range out {
		pos := float64(i) * float64(from) / float64(to)
		j := int(pos)
		frac := float32(pos - float64(j))
		a := x[min(j, len(x)-1)]
		b := x[min(j+1, len(x)-1)]
		out[i] = a + (b-a)*frac
	}
	return out
}
