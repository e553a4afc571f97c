package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/internal/testutil"

	"github.com/edgeai-go/edgeai/runtime"
)

// modelDir returns the folder of the Silero VAD models in ../shared, or skips.
func modelDir(t *testing.T) string {
	t.Helper()
	return testutil.Shared(t, "testdata/onnx/models/silero-vad")
}

// testdata/speech16k.wav: espeak-ng (en-us, 160 wpm) saying "Hello there,
// this is a speech test", converted by sox to 16 kHz mono 16-bit; the voice
// runs from 0.0175 s to 2.18 s of its 2.53 s.
const speechFrom, speechTo = 0.0175, 2.18

// wav encodes mono or multi-channel samples as a WAV file.
func wav(samples [][]float32, rate, bits int, float bool) []byte {
	channels := len(samples)
	n := len(samples[0])
	var data []byte
	for i := 0; i < n; i++ {
		for c := 0; c < channels; c++ {
			x := float64(samples[c][i])
			switch {
			case float:
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(x)))
			case bits == 8:
				data = append(data, byte(int(math.Round(x*127))+128))
			case bits == 16:
				data = binary.LittleEndian.AppendUint16(data, uint16(int16(math.Round(x*32767))))
			case bits == 24:
				v := int32(math.Round(x * (1<<23 - 1)))
				data = append(data, byte(v), byte(v>>8), byte(v>>16))
			case bits == 32:
				data = binary.LittleEndian.AppendUint32(data, uint32(int32(math.Round(x*(1<<31-1)))))
			}
		}
	}
	format := uint16(1)
	if float {
		format = 3
	}
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+8+len(data)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, format)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(bits))
	b = append(b, "LIST"...) // an unrelated chunk the reader must skip
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = append(b, 'a', 'b', 'c', 0)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

func TestReadWAV(t *testing.T) {
	x := []float32{0, 0.5, -0.5, 0.25, -1 + 1.0/128, 0.75}
	for _, c := range []struct {
		bits  int
		float bool
		tol   float64
	}{{8, false, 1.0 / 64}, {16, false, 1e-4}, {24, false, 1e-6}, {32, false, 1e-8}, {32, true, 0}} {
		got, rate, err := ReadWAV(bytes.NewReader(wav([][]float32{x, x}, 22050, c.bits, c.float)))
		if err != nil || rate != 22050 || len(got) != len(x) {
			t.Fatalf("%d bits: %v rate %d len %d", c.bits, err, rate, len(got))
		}
		for i := range x {
			if math.Abs(float64(got[i]-x[i])) > c.tol {
				t.Errorf("%d bits float=%v: [%d] = %v, want %v", c.bits, c.float, i, got[i], x[i])
			}
		}
	}
	// Stereo is averaged.
	got, _, err := ReadWAV(bytes.NewReader(wav([][]float32{{0.5}, {-0.25}}, 16000, 16, false)))
	if err != nil || math.Abs(float64(got[0])-0.125) > 1e-4 {
		t.Errorf("stereo average %v %v", got, err)
	}
	good := wav([][]float32{x}, 16000, 16, false)
	bad := map[string][]byte{
		"empty":       nil,
		"not riff":    []byte("RIFX0000WAVEfmt "),
		"no data":     good[:36],
		"fmt too big": append(append([]byte("RIFF\x00\x00\x00\x00WAVEfmt "), 0xff, 0xff, 0xff, 0x7f), good[20:]...),
		"format 85":   bytes.Replace(good, []byte{1, 0, 1, 0, 0x80, 0x3e}, []byte{85, 0, 1, 0, 0x80, 0x3e}, 1),
		"12 bits":     bytes.Replace(good, []byte{2, 0, 16, 0}, []byte{2, 0, 12, 0}, 1),
		"0 channels":  bytes.Replace(good, []byte{1, 0, 1, 0, 0x80, 0x3e}, []byte{1, 0, 0, 0, 0x80, 0x3e}, 1),
	}
	for name, data := range bad {
		if _, _, err := ReadWAV(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A data chunk that claims more than the file holds yields what is there.
	long := bytes.Clone(good)
	binary.LittleEndian.PutUint32(long[len(long)-len(x)*2-4:], 0x7ffffff0)
	if got, _, err := ReadWAV(bytes.NewReader(long)); err != nil || len(got) != len(x) {
		t.Errorf("overlong data chunk: %d samples, %v", len(got), err)
	}
}

func FuzzReadWAV(f *testing.F) {
	f.Add(wav([][]float32{{0, 0.5, -0.5}}, 16000, 16, false))
	f.Add(wav([][]float32{{0, 0.5}, {1, -1}}, 8000, 32, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, rate, err := ReadWAV(bytes.NewReader(data))
		if err == nil && (rate < 1000 || len(s) > len(data)) {
			t.Fatalf("rate %d, %d samples from %d bytes", rate, len(s), len(data))
		}
	})
}

func TestResample(t *testing.T) {
	x := make([]float32, 441)
	for i := range x {
		x[i] = float32(i) / 441
	}
	y := Resample(x, 44100, 16000)
	if len(y) != 160 {
		t.Fatalf("%d samples, want 160", len(y))
	}
	for i, v := range y { // a ramp stays a ramp
		if want := float32(i) * 44100 / 16000 / 441; math.Abs(float64(v-want)) > 1e-5 {
			t.Fatalf("[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestSegments(t *testing.T) {
	const w, rate = 512, 16000 // 32 ms windows
	o := Options{Threshold: 0.5, MinSpeechMs: 250, MinSilenceMs: 100, PadMs: 30}
	probs := func(spec string) []float32 { // '#' speech, '-' silence, '~' in between
		p := make([]float32, len(spec))
		for i, c := range spec {
			p[i] = map[rune]float32{'#': 0.9, '-': 0.05, '~': 0.4}[c]
		}
		return p
	}
	sec := func(windows int) float64 { return float64(windows*w) / rate }
	cases := []struct {
		spec string
		want []Segment
	}{
		{"----------", nil},
		{"---###----", nil}, // 96 ms: shorter than min speech
		{"--##########------", []Segment{{sec(2) - 0.03, sec(12) + 0.03}}},
		// 64 ms of silence does not end speech (min silence 100 ms).
		{"--#####--#####------", []Segment{{sec(2) - 0.03, sec(14) + 0.03}}},
		// '~' is neither speech nor silence: the segment goes on.
		{"--#####~~~~#####-----", []Segment{{sec(2) - 0.03, sec(16) + 0.03}}},
		// Two segments 4 windows apart; pads do not overlap.
		{"--#########----#########----", []Segment{{sec(2) - 0.03, sec(11) + 0.03}, {sec(15) - 0.03, sec(24) + 0.03}}},
		// Speech to the end is closed at the end of the audio.
		{"--##########", []Segment{{sec(2) - 0.03, sec(12)}}},
	}
	for _, c := range cases {
		got := Segments(probs(c.spec), w, rate, len(c.spec)*w, o)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.spec, got, c.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i].Start-c.want[i].Start) > 1e-3 || math.Abs(got[i].End-c.want[i].End) > 1e-3 {
				t.Errorf("%s: %v, want %v", c.spec, got, c.want)
			}
		}
	}
	// Padding splits a gap shorter than two pads in the middle.
	got := Segments(probs("--#########-----#########--"), w, rate, 27*w, Options{Threshold: 0.5, MinSpeechMs: 250, MinSilenceMs: 100, PadMs: 200})
	if len(got) != 2 || math.Abs(got[0].End-got[1].Start) > 1e-3 {
		t.Errorf("close segments: %v", got)
	}
}

func needORT(t *testing.T) {
	t.Helper()
	modelDir(t)
	_, _, err := runtime.ORTVersion("")
	if err == nil {
		return
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && os.Getenv("EDGEAI_ORT_LIB") == "" {
		t.Skipf("ONNX Runtime unavailable (set EDGEAI_ORT_LIB; .ci/install-ort.sh installs it): %v", err)
	}
	if errors.Is(err, runtime.ErrONNXBackendUnavailable) && strings.Contains(err.Error(), "without cgo") {
		t.Skipf("this build has no ONNX Runtime backend: %v", err)
	}
	t.Fatalf("EDGEAI_ORT_LIB=%s does not load: %v", os.Getenv("EDGEAI_ORT_LIB"), err)
}

// TestVAD builds 1 s silence, the speech clip, 1 s silence, the clip at half
// volume with a little noise, 1 s silence, and checks that every Silero
// variant finds speech exactly in the two clips, on ONNX Runtime.
func TestVAD(t *testing.T) {
	needORT(t)
	testVAD(t, runtime.ONNXBackendORT)
}

// TestVADGo is TestVAD on the pure-Go backend, which every build has.
func TestVADGo(t *testing.T) {
	modelDir(t)
	testVAD(t, runtime.ONNXBackendGo)
}

func testVAD(t *testing.T, backend string) {
	f, err := os.Open("testdata/speech16k.wav")
	if err != nil {
		t.Fatal(err)
	}
	clip, rate, err := ReadWAV(f)
	f.Close()
	if err != nil || rate != 16000 {
		t.Fatalf("fixture: %v (rate %d)", err, rate)
	}
	var audio []float32
	silence := make([]float32, rate)
	noise := uint32(1)
	audio = append(audio, silence...)
	audio = append(audio, clip...)
	audio = append(audio, silence...)
	second := float64(len(audio)) / float64(rate)
	for _, x := range clip {
		noise = noise*1664525 + 1013904223
		audio = append(audio, 0.5*x+float32(int32(noise))/(1<<31)*0.002)
	}
	audio = append(audio, silence...)
	speech := [][2]float64{{1 + speechFrom, 1 + speechTo}, {second + speechFrom, second + speechTo}}

	dir := t.TempDir()
	wavPath := filepath.Join(dir, "test.wav")
	if err := os.WriteFile(wavPath, wav([][]float32{audio}, rate, 16, false), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Threshold: 0.5, MinSpeechMs: 250, MinSilenceMs: 100, PadMs: 30}
	var ref []float32
	for _, m := range []string{"silero_vad_16k_op15.onnx", "silero_vad_op18_ifless.onnx", "silero_vad_v4_legacy.onnx"} {
		s, err := runtime.LoadONNX(context.Background(), filepath.Join(modelDir(t), m), runtime.ONNXOptions{Backend: backend, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDetector(s, rate)
		if err != nil {
			t.Fatal(err)
		}
		p, err := d.Probabilities(context.Background(), audio)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		segs := Segments(p, d.Window, rate, len(audio), o)
		t.Logf("%s: %v", m, segs)
		found := [2]float64{}
		for _, sg := range segs {
			in := -1
			for i, sp := range speech {
				if sg.Start >= sp[0]-0.1 && sg.End <= sp[1]+0.15 {
					in = i
				}
			}
			if in < 0 {
				t.Errorf("%s: segment %.3f-%.3f outside the speech %v", m, sg.Start, sg.End, speech)
				continue
			}
			found[in] += sg.End - sg.Start
		}
		for i, sp := range speech {
			if found[i] < 0.7*(sp[1]-sp[0]) {
				t.Errorf("%s: %.2fs of speech found in %.2f-%.2f, want most of it", m, found[i], sp[0], sp[1])
			}
		}
		if len(segs) > 0 && math.Abs(segs[0].Start-speech[0][0]) > 0.1 {
			t.Errorf("%s: speech starts at %.3f, found at %.3f", m, speech[0][0], segs[0].Start)
		}
		// The two v5 exports are the same network: their probabilities agree.
		if m == "silero_vad_16k_op15.onnx" {
			ref = p
		} else if m == "silero_vad_op18_ifless.onnx" {
			for i := range p {
				if math.Abs(float64(p[i]-ref[i])) > 1e-4 {
					t.Errorf("window %d: op18 %v, op15 %v", i, p[i], ref[i])
					break
				}
			}
		}
	}

	// The program end to end, on a 44.1 kHz stereo float copy.
	stereo := Resample(audio, rate, 44100)
	if err := os.WriteFile(wavPath, wav([][]float32{stereo, stereo}, 44100, 32, true), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, wavPath, filepath.Join(modelDir(t), "silero_vad_16k_op15.onnx"),
		runtime.ONNXOptions{Backend: backend, Threads: 1}, o, false); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\nspeech "); n < 2 {
		t.Errorf("program output:\n%s", out.String())
	}
}
