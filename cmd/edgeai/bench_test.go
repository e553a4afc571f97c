package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/server"
)

// benchModelPath is the model the repository carries.
var benchModelPath = storiesModel

// benchArgs are small, quick runs of stories260K.
func benchArgs(extra ...string) []string {
	return append([]string{"bench", "-m", benchModelPath, "-p", "16", "-n", "8", "-t", "1", "-r", "2", "--idle", "50ms", "--tdp", "8", "--quiet"}, extra...)
}

func runBenchCmd(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain(args, &out, &errb); code != 0 {
		t.Fatalf("edgeai %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String(), errb.String()
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestBenchJSON(t *testing.T) {
	out, _ := runBenchCmd(t, benchArgs("--json", "--compare")...)
	lines := jsonLines(t, out)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want pp16, tg8 and the comparison:\n%s", len(lines), out)
	}
	// llama-bench's fields, with its types.
	for i, want := range []struct{ p, n float64 }{{16, 0}, {0, 8}} {
		l := lines[i]
		if l["model_filename"] != benchModelPath || l["n_prompt"] != want.p || l["n_gen"] != want.n || l["n_threads"] != 1.0 {
			t.Errorf("line %d: %v", i, l)
		}
		for _, k := range []string{"model_size", "model_n_params", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts"} {
			if _, ok := l[k].(float64); !ok {
				t.Errorf("line %d: %s is %T, want a number", i, k, l[k])
			}
		}
		for _, k := range []string{"build_commit", "cpu_info", "backends", "model_type", "test_time"} {
			if _, ok := l[k].(string); !ok {
				t.Errorf("line %d: %s is %T, want a string", i, k, l[k])
			}
		}
		samples := l["samples_ns"].([]any)
		if len(samples) != 2 || l["avg_ts"].(float64) <= 0 {
			t.Fatalf("line %d: samples %v avg_ts %v", i, samples, l["avg_ts"])
		}
		// avg_ts is the mean of the repetitions' speeds.
		tokens := want.p + want.n
		var sum, wall float64
		for _, s := range samples {
			sum += tokens / (s.(float64) / 1e9)
			wall += s.(float64) / 1e9
		}
		if got := l["avg_ts"].(float64); math.Abs(got-sum/2) > 1e-6*got {
			t.Errorf("line %d: avg_ts %v, mean of the samples %v", i, got, sum/2)
		}
		// Energy: labelled, per token = joules / tokens, and at most the
		// assumed 8 W for the time measured (the estimate's utilisation is <= 1).
		if l["power_meter"] != "estimate" || l["power_meter_kind"] != "estimate" || !strings.Contains(l["power_meter_note"].(string), "8 W") {
			t.Errorf("line %d: meter %v %v %v", i, l["power_meter"], l["power_meter_kind"], l["power_meter_note"])
		}
		j, jpt := l["joules"].(float64), l["joules_per_token"].(float64)
		if j <= 0 || math.Abs(jpt-j/(2*tokens)) > 1e-12 || l["joules_per_token_above_idle"].(float64) > jpt {
			t.Errorf("line %d: joules %v, per token %v, above idle %v", i, j, jpt, l["joules_per_token_above_idle"])
		}
		if j > 8*wall*1.5+0.01 {
			t.Errorf("line %d: %v J in %v s of runs is above the 8 W assumed", i, j, wall)
		}
		if l["ttft_ms"].(float64) <= 0 || l["peak_rss_bytes"].(float64) <= 0 {
			t.Errorf("line %d: ttft %v rss %v", i, l["ttft_ms"], l["peak_rss_bytes"])
		}
	}
	c := lines[2]
	if c["type"] != "cloud_comparison" || c["cloud_calls"] != 0.0 || c["assumptions_date"] == "" {
		t.Fatalf("comparison %v", c)
	}
	// The verdict follows the numbers.
	local, low, high := c["local_joules_per_token"].(float64), c["cloud_joules_per_token_low"].(float64), c["cloud_joules_per_token_high"].(float64)
	want := "neither"
	switch {
	case local < low:
		want = "local"
	case local > high:
		want = "cloud"
	}
	if c["energy_winner"] != want || !strings.Contains(c["verdict"].([]any)[0].(string), "Energy:") {
		t.Errorf("winner %v for %v J/token against %v-%v: %v", c["energy_winner"], local, low, high, c["verdict"])
	}
}

func TestBenchTableCSV(t *testing.T) {
	out, _ := runBenchCmd(t, benchArgs("-t", "1,2")...)
	for _, w := range []string{"| model", "t/s |", "pp16", "tg8", "±", "CPU ", "power meter: estimate (estimate", "idle power:", "Is local worth it?", "Energy:", "Caveat:"} {
		if !strings.Contains(out, w) {
			t.Errorf("the table lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "| llama "); n != 4 {
		t.Errorf("%d result rows, want 4 (2 tests x 2 thread counts):\n%s", n, out)
	}
	out, stderr := runBenchCmd(t, benchArgs("--csv")...)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(benchCSVHeader, ",") || recs[1][8] != "16" || recs[2][9] != "8" {
		t.Fatalf("csv:\n%s", out)
	}
	if !strings.Contains(stderr, "Is local worth it?") {
		t.Errorf("--csv: the verdict goes to standard error:\n%s", stderr)
	}
}

// svgNode is a generic XML element.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Content string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n *svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *svgNode) walk(f func(*svgNode)) {
	f(n)
	for i := range n.Nodes {
		n.Nodes[i].walk(f)
	}
}

func TestBenchSVG(t *testing.T) {
	dir := t.TempDir()
	svgPath, htmlPath := filepath.Join(dir, "bench.svg"), filepath.Join(dir, "bench.html")
	runBenchCmd(t, benchArgs("-t", "1,2", "--svg", svgPath, "--html", htmlPath)...)
	b, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	var root svgNode
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("the SVG is not XML: %v", err)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" || root.attr("viewBox") == "" {
		t.Fatalf("root %v %v", root.XMLName, root.Attrs)
	}
	height, _ := strconv.ParseFloat(root.attr("height"), 64)
	width, _ := strconv.ParseFloat(root.attr("width"), 64)
	counts := map[string]int{}
	var texts []string
	root.walk(func(n *svgNode) {
		for _, c := range strings.Fields(n.attr("class")) {
			counts[n.XMLName.Local+"."+c]++
		}
		if n.XMLName.Local == "text" || n.XMLName.Local == "title" {
			texts = append(texts, n.Content)
		}
		for _, a := range []string{"x", "y", "width", "height", "x1", "x2", "y1", "y2"} {
			v := n.attr(a)
			if v == "" || n.XMLName.Local == "svg" || strings.HasSuffix(v, "%") {
				continue
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || f < 0 || (strings.HasPrefix(a, "x") && f > width) || (strings.HasPrefix(a, "y") && f > height) {
				t.Errorf("<%s %s=%q> is outside the %vx%v chart", n.XMLName.Local, a, v, width, height)
			}
		}
	})
	// One speed bar and one energy bar per result (2 tests x 2 thread
	// counts), the cloud's range once, a tick per cloud source.
	if counts["rect.bar"] != 4 || counts["rect.ebar"] != 4 || counts["rect.cloud-range"] != 2 || counts["rect.estimate"] != 4 || counts["line.cloud-source"] != 3 {
		t.Errorf("elements %v", counts)
	}
	all := strings.Join(texts, "\n")
	for _, w := range []string{"Tokens per second", "ESTIMATE", "cloud, assumed", "pp16, 2 thr", "tg8, 1 thr", "Energy:", "assumptions v1"} {
		if !strings.Contains(all, w) {
			t.Errorf("the chart lacks the text %q", w)
		}
	}
	h, err := os.ReadFile(htmlPath)
	if err != nil || !bytes.Contains(h, []byte("<svg")) || !bytes.Contains(h, []byte("epoch.ai")) || !bytes.Contains(h, []byte("pp16")) {
		t.Errorf("html report: %v\n%.300s", err, h)
	}
}

// TestBenchCloudLoopback compares with a real edgeai server (runtime/server,
// what `edgeai serve` runs) on a loopback port, with an API key, as a user
// would with a cloud endpoint.
func TestBenchCloudLoopback(t *testing.T) {
	m, err := runtime.Load(context.Background(), benchModelPath, runtime.WithChatTemplate("chatml"), runtime.WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv, err := server.New(server.Config{APIKey: "loopback-key"}, server.Model{ID: "stories", Decoder: m})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv) // 127.0.0.1, an ephemeral port
	defer hs.Close()
	url := hs.URL

	t.Setenv(benchCloudKeyEnv, "loopback-key")
	out, stderr := runBenchCmd(t, benchArgs("--json", "--cloud-endpoint", url+"/v1", "--cloud-model", "stories", "--cloud-calls", "2")...)
	if !strings.Contains(stderr, "synthetic prompts only (never your data)") {
		t.Errorf("stderr does not say the prompts are synthetic:\n%s", stderr)
	}
	lines := jsonLines(t, out)
	c := lines[len(lines)-1]
	if c["type"] != "cloud_comparison" || c["cloud_calls"] != 2.0 || c["cloud_model"] != "stories" || c["cloud_usage_reported"] != true ||
		c["cloud_ttft_ms"].(float64) <= 0 || c["cloud_avg_ts"].(float64) <= 0 || c["cloud_latency_ms"].(float64) < c["cloud_ttft_ms"].(float64) {
		t.Fatalf("comparison %v", c)
	}
	if v := strings.Join(toStrings(c["verdict"]), "\n"); !strings.Contains(v, "Speed from this device") {
		t.Errorf("verdict without the measured speed:\n%s", v)
	}

	// A wrong key fails with the server's 401, not a silent zero.
	t.Setenv(benchCloudKeyEnv, "wrong")
	var o, e bytes.Buffer
	if code := runMain(benchArgs("--cloud-endpoint", url+"/v1", "--cloud-model", "stories", "--cloud-calls", "1"), &o, &e); code != 1 || !strings.Contains(e.String(), "401") {
		t.Errorf("wrong key: exit %d\n%s", code, e.String())
	}
}

func toStrings(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, x.(string))
	}
	return s
}

func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "-p", "16"}, "-m MODEL"},
		{benchArgs("--json", "--csv"), "choose one"},
		{benchArgs("-p", "0", "-n", "0"), "nothing to measure"},
		{benchArgs("-t", "0"), "-t 0"},
		{benchArgs("-p", "x"), "not a non-negative integer"},
		{benchArgs("--cloud-endpoint", "http://127.0.0.1:1/v1"), "go together"},
		{benchArgs("-p", "600"), "does not fit in the context of 512"},
		{benchArgs("--power-meter", "rapl"), "rapl"},
		{benchArgs("--watts", "-3"), "negative"},
	} {
		var o, e bytes.Buffer
		code := runMain(tc.args, &o, &e)
		if code == 0 || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, e.String(), tc.want)
		}
	}
	// --watts: a measured, constant power; --power-meter none: no energy.
	out, _ := runBenchCmd(t, benchArgs("--watts", "12", "--json")...)
	l := jsonLines(t, out)[0]
	if l["power_meter"] != "watts" || l["power_meter_kind"] != "measured" {
		t.Errorf("--watts: %v", l)
	}
	out, _ = runBenchCmd(t, benchArgs("--power-meter", "none", "--json")...)
	if l := jsonLines(t, out)[0]; l["joules_per_token"] != nil || l["power_meter"] != nil {
		t.Errorf("--power-meter none: %v", l)
	}
}

func TestDeviceInfo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain([]string{"info"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"cpu:", "kernels:", "power meters:", "estimate"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("edgeai info lacks %q:\n%s", w, out.String())
		}
	}
}
