// Package cloud compares local inference with a cloud API: an
// OpenAI-compatible streaming client that measures time to first token,
// tokens per second and latency from this device with synthetic prompts, and
// the dated, versioned assumptions (assumptions.json) that stand in for the
// cloud's energy per token and prices, which a client cannot measure.
//
// The package uses the network only when a Client is asked to call an
// endpoint.
package cloud

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

//go:embed assumptions.json
var assumptionsJSON []byte

// Assumptions are the published figures edgeai bench compares against.
type Assumptions struct {
	Version        string         `json:"version"`
	Date           string         `json:"date"` // when the figures were last reviewed
	About          string         `json:"about"`
	TokensPerQuery TokensPerQuery `json:"tokens_per_query"`
	Energy         []EnergySource `json:"energy"`
	PUE            PUE            `json:"pue"`
	Prices         []Price        `json:"prices"`
	Defaults       Defaults       `json:"defaults"`
}

// TokensPerQuery is the output length assumed to turn per-query figures into
// per-token ones.
type TokensPerQuery struct {
	Low     float64 `json:"low"`
	Typical float64 `json:"typical"`
	High    float64 `json:"high"`
	Note    string  `json:"note"`
}

// EnergySource is one published estimate of a cloud model's energy.
type EnergySource struct {
	ID                string   `json:"id"`
	Title             string   `json:"title"`
	URL               string   `json:"url"`
	Published         string   `json:"published"`
	What              string   `json:"what"`
	WhPerQuery        *float64 `json:"wh_per_query"`     // nil when the source gives no per-query figure
	TokensPerQuery    *float64 `json:"tokens_per_query"` // nil when the source gives no token count
	JPerTokenLow      float64  `json:"j_per_token_low"`
	JPerTokenHigh     float64  `json:"j_per_token_high"`
	OverheadsIncluded bool     `json:"overheads_included"`
	Note              string   `json:"note"`
}

// PUE is the data-centre power usage effectiveness range.
type PUE struct {
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Source string  `json:"source"`
	Note   string  `json:"note"`
}

// Price is a cloud model's list price per million tokens on a date.
type Price struct {
	Provider      string  `json:"provider"`
	Model         string  `json:"model"`
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
	Currency      string  `json:"currency"`
	Date          string  `json:"date"`
	URL           string  `json:"url"`
}

// Defaults are the electricity price and grid intensity used unless the user
// gives their own.
type Defaults struct {
	PricePerKWh    float64 `json:"price_per_kwh"`
	Currency       string  `json:"currency"`
	PriceSource    string  `json:"price_source"`
	GridGCO2PerKWh float64 `json:"grid_gco2_per_kwh"`
	GridSource     string  `json:"grid_source"`
}

// DefaultAssumptions returns the assumptions embedded in this build.
func DefaultAssumptions() (*Assumptions, error) { return ParseAssumptions(assumptionsJSON) }

// ParseAssumptions decodes and checks an assumptions file.
func ParseAssumptions(b []byte) (*Assumptions, error) {
	var a Assumptions
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("cloud: assumptions: %w", err)
	}
	if a.Version == "" || a.Date == "" {
		return nil, errors.New("cloud: assumptions: no version or date")
	}
	if len(a.Energy) == 0 {
		return nil, errors.New("cloud: assumptions: no energy sources")
	}
	for _, e := range a.Energy {
		if e.URL == "" || e.Published == "" {
			return nil, fmt.Errorf("cloud: assumptions: energy source %q has no URL or date", e.ID)
		}
		if !(e.JPerTokenLow > 0) || e.JPerTokenHigh < e.JPerTokenLow || math.IsInf(e.JPerTokenHigh, 0) {
			return nil, fmt.Errorf("cloud: assumptions: energy source %q: bad range %g to %g J/token", e.ID, e.JPerTokenLow, e.JPerTokenHigh)
		}
	}
	for _, p := range a.Prices {
		if p.Date == "" || !(p.OutputPerMTok > 0) {
			return nil, fmt.Errorf("cloud: assumptions: price of %s has no date or output price", p.Model)
		}
	}
	if !(a.Defaults.PricePerKWh > 0) || !(a.Defaults.GridGCO2PerKWh > 0) {
		return nil, errors.New("cloud: assumptions: no default electricity price or grid intensity")
	}
	return &a, nil
}

// EnergyRange returns the lowest and highest cloud energy per output token
// over all sources, in joules.
func (a *Assumptions) EnergyRange() (low, high float64) {
	low, high = math.Inf(1), 0
	for _, e := range a.Energy {
		low = min(low, e.JPerTokenLow)
		high = max(high, e.JPerTokenHigh)
	}
	return low, high
}

// PriceRange returns the lowest and highest output price per million tokens
// listed (in the prices' currency, USD).
func (a *Assumptions) PriceRange() (low, high float64) {
	if len(a.Prices) == 0 {
		return 0, 0
	}
	low, high = math.Inf(1), 0
	for _, p := range a.Prices {
		low = min(low, p.OutputPerMTok)
		high = max(high, p.OutputPerMTok)
	}
	return low, high
}

// PriceOf returns the listed price of a model (exact name), if any.
func (a *Assumptions) PriceOf(model string) (Price, bool) {
	for _, p := range a.Prices {
		if p.Model == model {
			return p, true
		}
	}
	return Price{}, false
}
