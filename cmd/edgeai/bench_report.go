package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/runtime/bench"
)

// benchLine is one --json line: llama-bench's fields (same names and types,
// so its users' parsers read it unchanged) and edgeai's own.
type benchLine struct {
	BuildCommit  string    `json:"build_commit"`
	BuildNumber  int       `json:"build_number"`
	CPUInfo      string    `json:"cpu_info"`
	GPUInfo      string    `json:"gpu_info"`
	Backends     string    `json:"backends"`
	ModelFile    string    `json:"model_filename"`
	ModelType    string    `json:"model_type"`
	ModelSize    int64     `json:"model_size"`
	ModelParams  int64     `json:"model_n_params"`
	NBatch       int       `json:"n_batch"`
	NUBatch      int       `json:"n_ubatch"`
	NThreads     int       `json:"n_threads"`
	TypeK        string    `json:"type_k"`
	TypeV        string    `json:"type_v"`
	NGPULayers   int       `json:"n_gpu_layers"`
	UseMmap      bool      `json:"use_mmap"`
	Embeddings   bool      `json:"embeddings"`
	NPrompt      int       `json:"n_prompt"`
	NGen         int       `json:"n_gen"`
	NDepth       int       `json:"n_depth"`
	TestTime     string    `json:"test_time"`
	AvgNS        int64     `json:"avg_ns"`
	StddevNS     int64     `json:"stddev_ns"`
	AvgTS        float64   `json:"avg_ts"`
	StddevTS     float64   `json:"stddev_ts"`
	SamplesNS    []int64   `json:"samples_ns"`
	SamplesTS    []float64 `json:"samples_ts"`
	Kernels      string    `json:"kernels"`
	TTFTMs       float64   `json:"ttft_ms"`
	PeakRSS      int64     `json:"peak_rss_bytes"`
	KVPerToken   float64   `json:"kv_bytes_per_token"`
	Joules       *float64  `json:"joules"`
	JPerTok      *float64  `json:"joules_per_token"`
	JPerTokAbove *float64  `json:"joules_per_token_above_idle"`
	IdleWatts    *float64  `json:"idle_watts"`
	Meter        *string   `json:"power_meter"`
	MeterKind    *string   `json:"power_meter_kind"`
	MeterScope   *string   `json:"power_meter_scope"`
	MeterNote    *string   `json:"power_meter_note"`
}

// benchCompareLine is the --json line of the cloud comparison.
type benchCompareLine struct {
	Type           string   `json:"type"` // "cloud_comparison"
	Endpoint       string   `json:"cloud_endpoint,omitempty"`
	Model          string   `json:"cloud_model,omitempty"`
	Calls          int      `json:"cloud_calls"`
	SyntheticOnly  bool     `json:"cloud_synthetic_prompts"`
	TTFTMs         *float64 `json:"cloud_ttft_ms"`
	AvgTS          *float64 `json:"cloud_avg_ts"`
	StddevTS       *float64 `json:"cloud_stddev_ts"`
	LatencyMs      *float64 `json:"cloud_latency_ms"`
	UsageReported  bool     `json:"cloud_usage_reported"`
	CloudJLow      float64  `json:"cloud_joules_per_token_low"`
	CloudJHigh     float64  `json:"cloud_joules_per_token_high"`
	AssumeVersion  string   `json:"assumptions_version"`
	AssumeDate     string   `json:"assumptions_date"`
	LocalJ         float64  `json:"local_joules_per_token"`
	LocalAboveIdle bool     `json:"local_above_idle"`
	LocalKind      string   `json:"power_meter_kind"`
	LocalTS        float64  `json:"local_avg_ts"`
	EnergyWinner   string   `json:"energy_winner"`
	EnergyFactor   float64  `json:"energy_factor"`
	PriceKWh       float64  `json:"price_per_kwh"`
	Currency       string   `json:"currency"`
	GridGCO2       float64  `json:"grid_gco2_per_kwh"`
	LocalCost      float64  `json:"local_cost_per_mtok"`
	CloudPriceLow  float64  `json:"cloud_price_per_mtok_low"`
	CloudPriceHigh float64  `json:"cloud_price_per_mtok_high"`
	LocalGCO2      float64  `json:"local_gco2_per_mtok"`
	CloudGCO2Low   float64  `json:"cloud_gco2_per_mtok_low"`
	CloudGCO2High  float64  `json:"cloud_gco2_per_mtok_high"`
	Verdict        []string `json:"verdict"`
}

func ptr[T any](v T) *T { return &v }

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (rep *benchReport) line(r *bench.Result) benchLine {
	l := benchLine{BuildCommit: shortCommit(rep.Build.Commit), CPUInfo: rep.CPU, Backends: "CPU", ModelFile: rep.Model.Path,
		ModelType: rep.Model.Type, ModelSize: rep.Model.Size, ModelParams: rep.Model.Params, NThreads: r.Threads,
		TypeK: rep.TypeK, TypeV: rep.TypeV, KVPerToken: rep.KVPerToken, UseMmap: rep.Mapped, NPrompt: r.NPrompt, NGen: r.NGen, NDepth: r.NDepth, TestTime: r.Time.UTC().Format(time.RFC3339),
		AvgNS: int64(r.AvgNS()), StddevNS: int64(r.StddevNS()), AvgTS: r.AvgTS(), StddevTS: r.StddevTS(),
		Kernels: rep.Kernels, TTFTMs: msOf(r.TTFT), PeakRSS: r.PeakRSS, SamplesTS: r.TokensPerSecond()}
	for _, d := range r.Samples {
		l.SamplesNS = append(l.SamplesNS, d.Nanoseconds())
	}
	if e := r.Energy; e != nil && rep.Meter != nil {
		l.Joules, l.JPerTok, l.JPerTokAbove, l.IdleWatts = ptr(e.Joules), ptr(e.PerToken), ptr(e.AboveIdlePerTok), ptr(e.IdleWatts)
		l.Meter, l.MeterKind, l.MeterScope, l.MeterNote = ptr(rep.Meter.Name), ptr(string(rep.Meter.Kind)), ptr(rep.Meter.Scope), ptr(rep.Meter.Note)
	}
	return l
}

func shortCommit(c string) string { return c[:min(len(c), 8)] }

func writeBenchJSON(w io.Writer, rep *benchReport, withCompare bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range rep.Results {
		if err := enc.Encode(rep.line(&rep.Results[i])); err != nil {
			return err
		}
	}
	if !withCompare || rep.Compare == nil {
		return nil
	}
	c := rep.Compare
	l := benchCompareLine{Type: "cloud_comparison", SyntheticOnly: true, CloudJLow: c.CloudJLow, CloudJHigh: c.CloudJHigh,
		AssumeVersion: rep.Assume.Version, AssumeDate: rep.Assume.Date, LocalJ: c.UsedJPerToken, LocalAboveIdle: c.UsedAboveIdle,
		LocalKind: c.Local.Kind, LocalTS: c.Local.TokensPerSecond, EnergyWinner: c.EnergyWinner, EnergyFactor: c.EnergyFactor,
		PriceKWh: c.PriceKWh, Currency: c.Currency, GridGCO2: c.GridGCO2, LocalCost: c.LocalCostPerMTok,
		CloudPriceLow: c.CloudPriceLow, CloudPriceHigh: c.CloudPriceHigh, LocalGCO2: c.LocalGCO2PerMTok,
		CloudGCO2Low: c.CloudGCO2PerMTokLow, CloudGCO2High: c.CloudGCO2PerMTokHigh, Verdict: c.Verdict}
	if s := rep.Cloud; s != nil {
		ts, sd := s.TokensPerSecond()
		l.Endpoint, l.Model, l.Calls, l.UsageReported = s.Endpoint, s.Model, len(s.Calls), s.UsageReported()
		l.TTFTMs, l.AvgTS, l.StddevTS, l.LatencyMs = ptr(msOf(s.MeanTTFT())), ptr(ts), ptr(sd), ptr(msOf(s.MeanTotal()))
	}
	return enc.Encode(l)
}

// benchCSVHeader are the CSV columns: llama-bench's, then edgeai's.
var benchCSVHeader = []string{"build_commit", "cpu_info", "backends", "model_filename", "model_type", "model_size", "model_n_params",
	"n_threads", "n_prompt", "n_gen", "n_depth", "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts",
	"kernels", "ttft_ms", "peak_rss_bytes", "joules", "joules_per_token", "joules_per_token_above_idle", "idle_watts", "power_meter", "power_meter_kind"}

func writeBenchCSV(w io.Writer, rep *benchReport) error {
	cw := csv.NewWriter(w)
	cw.Write(benchCSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return f(*p)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for i := range rep.Results {
		l := rep.line(&rep.Results[i])
		cw.Write([]string{l.BuildCommit, l.CPUInfo, l.Backends, l.ModelFile, l.ModelType, strconv.FormatInt(l.ModelSize, 10),
			strconv.FormatInt(l.ModelParams, 10), strconv.Itoa(l.NThreads), strconv.Itoa(l.NPrompt), strconv.Itoa(l.NGen), strconv.Itoa(l.NDepth), l.TestTime,
			strconv.FormatInt(l.AvgNS, 10), strconv.FormatInt(l.StddevNS, 10), f(l.AvgTS), f(l.StddevTS),
			l.Kernels, f(l.TTFTMs), strconv.FormatInt(l.PeakRSS, 10), opt(l.Joules), opt(l.JPerTok), opt(l.JPerTokAbove), opt(l.IdleWatts),
			str(l.Meter), str(l.MeterKind)})
	}
	cw.Flush()
	return cw.Error()
}

// formatJ formats joules per token with 3 significant digits.
func formatJ(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func writeBenchTable(w io.Writer, rep *benchReport) error {
	ew := &infoErrWriter{w: w}
	head := []string{"model", "size", "params", "backend", "threads", "test", "t/s", "ttft", "peak RSS", "J/token", "J/tok above idle"}
	right := []bool{false, true, true, false, true, true, true, true, true, true, true}
	var rows [][]string
	for i := range rep.Results {
		r := &rep.Results[i]
		jt, ja := "-", "-"
		if r.Energy != nil {
			jt, ja = formatJ(r.Energy.PerToken), formatJ(r.Energy.AboveIdlePerTok)
		}
		rss := "-"
		if r.PeakRSS > 0 {
			rss = infoBytes(r.PeakRSS)
		}
		rows = append(rows, []string{rep.Model.Type, infoBytes(rep.Model.Size), infoCount(rep.Model.Params), "CPU " + rep.Kernels,
			strconv.Itoa(r.Threads), r.Test, fmt.Sprintf("%.2f ± %.2f", r.AvgTS(), r.StddevTS()), fmtDur(r.TTFT), rss, jt, ja})
	}
	widths := make([]int, len(head))
	for i, h := range head {
		widths[i] = len([]rune(h))
		for _, r := range rows {
			widths[i] = max(widths[i], len([]rune(r[i])))
		}
	}
	cell := func(s string, i int) string {
		pad := strings.Repeat(" ", widths[i]-len([]rune(s)))
		if right[i] {
			return pad + s
		}
		return s + pad
	}
	writeRow := func(cells []string) {
		fmt.Fprint(ew, "|")
		for i, c := range cells {
			fmt.Fprintf(ew, " %s |", cell(c, i))
		}
		fmt.Fprintln(ew)
	}
	writeRow(head)
	fmt.Fprint(ew, "|")
	for i := range head {
		d := strings.Repeat("-", widths[i])
		if right[i] {
			d = d[:len(d)-1] + ":"
		}
		fmt.Fprintf(ew, " %s |", d)
	}
	fmt.Fprintln(ew)
	for _, r := range rows {
		writeRow(r)
	}
	fmt.Fprintln(ew)
	fmt.Fprintf(ew, "KV cache:    %s keys, %s values: %.0f bytes per token (%.1f MiB per session at context %d)\n",
		rep.TypeK, rep.TypeV, rep.KVPerToken, rep.KVPerToken*float64(rep.CtxSize)/(1<<20), rep.CtxSize)
	if rep.Meter != nil {
		fmt.Fprintf(ew, "power meter: %s\n", rep.Meter)
		fmt.Fprintf(ew, "idle power:  %.3g W, %s\n", rep.IdleWatts, rep.IdleSource)
	} else {
		fmt.Fprintln(ew, "power meter: none (--power-meter none): no energy figures")
	}
	if s := rep.Cloud; s != nil {
		ts, sd := s.TokensPerSecond()
		counted := "tokens from the server's usage"
		if !s.UsageReported() {
			counted = "tokens counted as stream chunks (the server sent no usage)"
		}
		fmt.Fprintf(ew, "cloud:       %s, model %s: %d calls with synthetic prompts, first token %s, %.2f ± %.2f t/s, whole call %s (%s)\n",
			s.Endpoint, s.Model, len(s.Calls), fmtDur(s.MeanTTFT()), ts, sd, fmtDur(s.MeanTotal()), counted)
	}
	if rep.Compare != nil {
		fmt.Fprintln(ew)
		writeVerdict(ew, rep)
	}
	return ew.err
}

// writeVerdict writes the "Is local worth it?" block.
func writeVerdict(w io.Writer, rep *benchReport) {
	fmt.Fprintln(w, "Is local worth it? (generation, the fastest configuration measured)")
	for _, v := range rep.Compare.Verdict {
		fmt.Fprintf(w, "  - %s\n", v)
	}
	fmt.Fprintf(w, "  Cloud figures: runtime/cloud/assumptions.json, version %s of %s (docs/local-vs-cloud.md cites the sources).\n", rep.Assume.Version, rep.Assume.Date)
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// Chart geometry.
const (
	svgW             = 960 // the height grows with the rows
	svgRowH          = 26
	svgLeftX, svgMid = 150, 480
	svgPanelW        = 290
)

// svgBar is one row of the chart.
type svgBar struct {
	label, class string
	ts           float64
	j            float64 // J/token above idle, 0 = none
}

// writeBenchSVG draws two panels: tokens per second (linear) and energy per
// token (logarithmic) with the cloud's assumed range as a band.
func writeBenchSVG(w io.Writer, rep *benchReport) error {
	var bars []svgBar
	for i := range rep.Results {
		r := &rep.Results[i]
		b := svgBar{label: fmt.Sprintf("%s, %d thr", r.Test, r.Threads), class: "local-pp", ts: r.AvgTS()}
		if r.NGen > 0 {
			b.class = "local-tg"
		}
		if r.Energy != nil {
			b.j = r.Energy.AboveIdlePerTok
			if b.j <= 0 {
				b.j = r.Energy.PerToken
			}
		}
		bars = append(bars, b)
	}
	if s := rep.Cloud; s != nil {
		ts, _ := s.TokensPerSecond()
		bars = append(bars, svgBar{label: "cloud " + s.Model, class: "cloud", ts: ts})
	}
	lo, hi := rep.Assume.EnergyRange()
	top := 96
	plotH := len(bars)*svgRowH + 10
	height := top + plotH + 150
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	esc := html.EscapeString
	kind, meter := "no meter", "none"
	if rep.Meter != nil {
		kind, meter = string(rep.Meter.Kind), rep.Meter.Name
	}
	title := fmt.Sprintf("edgeai bench: %s on %s", rep.Model.Type, orUnknown(rep.CPU))
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`+"\n", svgW, height, svgW, height)
	p("<title>%s</title>\n", esc(title))
	p(`<style>.local-pp{fill:#4c78a8}.local-tg{fill:#54a24b}.cloud{fill:#f58518}.estimate{fill-opacity:.55;stroke:#333;stroke-dasharray:4 2}.cloud-range{fill:#f58518;fill-opacity:.18;stroke:#f58518}.axis{stroke:#888}.grid{stroke:#ddd}.small{font-size:11px;fill:#555}.h{font-size:15px;font-weight:bold}</style>` + "\n")
	p(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	p(`<text x="20" y="28" class="h" font-size="17">%s</text>`+"\n", esc(title))
	p(`<text x="20" y="48" class="small">power meter: %s (%s) · kernels %s · %d repetitions · %s</text>`+"\n",
		esc(meter), esc(kind), esc(rep.Kernels), repsOf(rep), esc(time.Now().UTC().Format("2006-01-02")))

	// Panel 1: tokens per second.
	maxTS := 0.0
	for _, br := range bars {
		maxTS = max(maxTS, br.ts)
	}
	maxTS = niceCeil(maxTS)
	x0 := float64(svgLeftX)
	p(`<text x="%d" y="%d" class="h">Tokens per second (higher is better)</text>`+"\n", svgLeftX, top-16)
	for k := 0; k <= 4; k++ {
		x := x0 + float64(k)/4*svgPanelW
		p(`<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", x, top, x, top+plotH)
		p(`<text x="%.1f" y="%d" class="small" text-anchor="middle">%s</text>`+"\n", x, top+plotH+14, esc(shortNum(maxTS*float64(k)/4)))
	}
	for i, br := range bars {
		y := top + 5 + i*svgRowH
		p(`<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLeftX-8, y+15, esc(br.label))
		wd := 0.0
		if maxTS > 0 {
			wd = br.ts / maxTS * svgPanelW
		}
		p(`<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s: %.2f t/s</title></rect>`+"\n", br.class, x0, y, wd, svgRowH-8, esc(br.label), br.ts)
		p(`<text x="%.1f" y="%d" class="small">%s</text>`+"\n", x0+wd+4, y+14, esc(shortNum(br.ts)))
	}
	p(`<line class="axis" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", x0, top, x0, top+plotH)

	// Panel 2: joules per token, log scale, with the cloud range.
	ex0 := float64(svgMid + 170)
	ew := float64(svgW - 40 - int(ex0))
	minJ, maxJ := lo, hi
	for _, br := range bars {
		if br.j > 0 {
			minJ, maxJ = min(minJ, br.j), max(maxJ, br.j)
		}
	}
	d0, d1 := math.Floor(math.Log10(minJ)), math.Ceil(math.Log10(maxJ))
	if d1 <= d0 {
		d1 = d0 + 1
	}
	xj := func(j float64) float64 { return ex0 + (math.Log10(j)-d0)/(d1-d0)*ew }
	etitle := "Energy per token, joules, log scale (lower is better)"
	if kind == "estimate" {
		etitle = "Energy per token (ESTIMATE), J, log scale"
	}
	p(`<text x="%d" y="%d" class="h">%s</text>`+"\n", svgMid+20, top-16, esc(etitle))
	p(`<rect class="cloud-range" x="%.1f" y="%d" width="%.1f" height="%d"><title>cloud, assumed: %s to %s J/token</title></rect>`+"\n",
		xj(lo), top, xj(hi)-xj(lo), plotH, formatJ(lo), formatJ(hi))
	p(`<text x="%.1f" y="%d" class="small" text-anchor="end">cloud, assumed</text>`+"\n", xj(hi)-3, top+plotH-20)
	p(`<text x="%.1f" y="%d" class="small" text-anchor="end">%s–%s J</text>`+"\n", xj(hi)-3, top+plotH-6, formatJ(lo), formatJ(hi))
	for d := d0; d <= d1; d++ {
		x := xj(math.Pow(10, d))
		p(`<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", x, top, x, top+plotH)
		p(`<text x="%.1f" y="%d" class="small" text-anchor="middle">%s</text>`+"\n", x, top+plotH+14, esc(decade(d)))
	}
	for _, src := range rep.Assume.Energy {
		mid := math.Sqrt(src.JPerTokenLow * src.JPerTokenHigh)
		p(`<line class="cloud-source" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#f58518" stroke-width="2"><title>%s: %s–%s J/token</title></line>`+"\n",
			xj(mid), top+plotH, xj(mid), top+plotH+6, esc(src.ID), formatJ(src.JPerTokenLow), formatJ(src.JPerTokenHigh))
	}
	for i, br := range bars {
		y := top + 5 + i*svgRowH
		p(`<text x="%.1f" y="%d" text-anchor="end">%s</text>`+"\n", ex0-8, y+15, esc(br.label))
		if br.j <= 0 {
			note := "no meter"
			if br.class == "cloud" {
				note = "see the band"
			}
			p(`<text x="%.1f" y="%d" class="small">%s</text>`+"\n", ex0+4, y+14, note)
			continue
		}
		cls := br.class
		if kind == "estimate" {
			cls += " estimate"
		}
		wd := xj(br.j) - ex0
		p(`<rect class="ebar %s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s: %s J/token</title></rect>`+"\n", cls, ex0, y, max(wd, 1), svgRowH-8, esc(br.label), formatJ(br.j))
		p(`<text x="%.1f" y="%d" class="small">%s J</text>`+"\n", ex0+max(wd, 1)+4, y+14, formatJ(br.j))
	}
	p(`<line class="axis" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", ex0, top, ex0, top+plotH)

	// Legend and verdict.
	ly := top + plotH + 36
	p(`<rect class="local-pp" x="20" y="%d" width="12" height="12"/><text x="38" y="%d">prompt processing (local)</text>`+"\n", ly-10, ly)
	p(`<rect class="local-tg" x="230" y="%d" width="12" height="12"/><text x="248" y="%d">generation (local)</text>`+"\n", ly-10, ly)
	if rep.Cloud != nil {
		p(`<rect class="cloud" x="400" y="%d" width="12" height="12"/><text x="418" y="%d">cloud, measured from here</text>`+"\n", ly-10, ly)
	}
	p(`<rect class="cloud-range" x="610" y="%d" width="12" height="12"/><text x="628" y="%d">cloud energy, published estimates</text>`+"\n", ly-10, ly)
	if rep.Compare != nil {
		for k, line := range wrapText(rep.Compare.Verdict[0], 140) {
			p(`<text x="20" y="%d" class="verdict">%s</text>`+"\n", ly+24+16*k, esc(line))
		}
	}
	p(`<text x="20" y="%d" class="small">Local J/token is above idle power. Cloud figures: assumptions v%s (%s), estimates, not measurements; per token, not per answer of equal quality.</text>`+"\n",
		height-12, esc(rep.Assume.Version), esc(rep.Assume.Date))
	p("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func repsOf(rep *benchReport) int {
	if len(rep.Results) == 0 {
		return 0
	}
	return len(rep.Results[0].Samples)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown CPU"
	}
	return s
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func shortNum(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 3, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// decade labels 10^d: 0.001, 0.01, ..., 1, 10, 100; 1e-5 beyond.
func decade(d float64) string {
	if d >= -3 && d <= 3 {
		return strconv.FormatFloat(math.Pow(10, d), 'f', -1, 64)
	}
	return fmt.Sprintf("1e%d", int(d))
}

// wrapText splits s into lines of at most n characters at spaces.
func wrapText(s string, n int) []string {
	var lines []string
	var cur strings.Builder
	for _, w := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len(w) > n {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// writeBenchHTML writes a self-contained report: the table, the chart, the
// verdict and the assumptions with their sources.
func writeBenchHTML(w io.Writer, rep *benchReport) error {
	var table, svg strings.Builder
	if err := writeBenchTable(&table, rep); err != nil {
		return err
	}
	if err := writeBenchSVG(&svg, rep); err != nil {
		return err
	}
	ew := &infoErrWriter{w: w}
	esc := html.EscapeString
	fmt.Fprintf(ew, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>edgeai bench: %s</title>\n", esc(rep.Model.Type))
	fmt.Fprint(ew, "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}pre{overflow-x:auto;background:#f6f6f6;padding:1em}</style></head><body>\n")
	fmt.Fprintf(ew, "<h1>edgeai bench: %s</h1>\n%s\n<h2>Results</h2>\n<pre>%s</pre>\n", esc(rep.Model.Type), svg.String(), esc(table.String()))
	fmt.Fprintf(ew, "<h2>Cloud assumptions (version %s, %s)</h2>\n<ul>\n", esc(rep.Assume.Version), esc(rep.Assume.Date))
	for _, e := range rep.Assume.Energy {
		fmt.Fprintf(ew, "<li><a href=\"%s\">%s</a> (%s): %s to %s J/token. %s</li>\n", esc(e.URL), esc(e.Title), esc(e.Published),
			formatJ(e.JPerTokenLow), formatJ(e.JPerTokenHigh), esc(e.Note))
	}
	fmt.Fprint(ew, "</ul>\n</body></html>\n")
	return ew.err
}
