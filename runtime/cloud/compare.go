package cloud

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Local is what the device measured for generation (a tg test).
type Local struct {
	JPerToken          float64 // total joules per generated token
	JPerTokenAboveIdle float64 // above the idle power measured before the run
	Kind               string  // "measured" or "estimate"
	Meter              string  // the meter's name
	TokensPerSecond    float64 // generation speed
	TTFT               time.Duration
}

// Comparison sets local generation against the cloud's assumed energy and
// prices, and the cloud's measured speed when calls were made.
type Comparison struct {
	Local Local
	// UsedJPerToken is the local figure compared: above idle (the marginal
	// energy of the work), or the total when nothing rose above idle.
	UsedJPerToken float64
	UsedAboveIdle bool

	CloudJLow, CloudJHigh float64 // per output token
	Cloud                 *Summary

	PriceKWh, GridGCO2 float64
	Currency           string

	LocalCostPerMTok                          float64 // electricity per million tokens
	CloudPriceLow, CloudPriceHigh             float64 // list prices per million output tokens
	ModelPrice                                *Price  // the list price of the cloud model, if known
	LocalGCO2PerMTok                          float64 // grams per million tokens at GridGCO2
	CloudGCO2PerMTokLow, CloudGCO2PerMTokHigh float64 // at the same grid intensity

	// EnergyWinner is "local", "cloud" or "neither" (local lies inside
	// the cloud's range); EnergyFactor is how many times less energy the
	// winner uses than the other side's nearest figure (1 for neither).
	EnergyWinner string
	EnergyFactor float64
	// Verdict holds the plain-language conclusions, one per line.
	Verdict []string
}

// jPerKWh is 1 kWh in joules.
const jPerKWh = 3.6e6

// Compare compares local generation with the cloud. s may be nil (no calls
// made). priceKWh and gridGCO2 of 0 take the assumptions' defaults.
func Compare(a *Assumptions, l Local, s *Summary, priceKWh, gridGCO2 float64) (*Comparison, error) {
	if a == nil {
		return nil, errors.New("cloud: no assumptions")
	}
	if priceKWh == 0 {
		priceKWh = a.Defaults.PricePerKWh
	}
	if gridGCO2 == 0 {
		gridGCO2 = a.Defaults.GridGCO2PerKWh
	}
	if !(priceKWh > 0) || !(gridGCO2 >= 0) || math.IsInf(priceKWh, 0) || math.IsInf(gridGCO2, 0) {
		return nil, fmt.Errorf("cloud: electricity price %g per kWh and grid intensity %g g/kWh must be positive", priceKWh, gridGCO2)
	}
	if !(l.JPerToken > 0) {
		return nil, errors.New("cloud: no local energy per token to compare (run a generation test with a meter)")
	}
	c := &Comparison{Local: l, Cloud: s, PriceKWh: priceKWh, GridGCO2: gridGCO2, Currency: a.Defaults.Currency}
	c.UsedJPerToken, c.UsedAboveIdle = l.JPerTokenAboveIdle, true
	if !(l.JPerTokenAboveIdle > 0) {
		c.UsedJPerToken, c.UsedAboveIdle = l.JPerToken, false
	}
	c.CloudJLow, c.CloudJHigh = a.EnergyRange()
	c.CloudPriceLow, c.CloudPriceHigh = a.PriceRange()
	if s != nil {
		if p, ok := a.PriceOf(s.Model); ok {
			c.ModelPrice = &p
		}
	}
	x := c.UsedJPerToken
	c.LocalCostPerMTok = x * 1e6 / jPerKWh * priceKWh
	c.LocalGCO2PerMTok = x * 1e6 / jPerKWh * gridGCO2
	c.CloudGCO2PerMTokLow = c.CloudJLow * 1e6 / jPerKWh * gridGCO2
	c.CloudGCO2PerMTokHigh = c.CloudJHigh * 1e6 / jPerKWh * gridGCO2

	what := "above idle"
	if !c.UsedAboveIdle {
		what = "in total (nothing measurable above idle)"
	}
	label := l.Kind + ", " + l.Meter
	if l.Meter == "" || l.Meter == l.Kind {
		label = l.Kind
	}
	switch {
	case x < c.CloudJLow:
		c.EnergyWinner, c.EnergyFactor = "local", c.CloudJLow/x
		c.Verdict = append(c.Verdict, fmt.Sprintf("Energy: local wins. This device used %s J per generated token %s (%s), %s less than the cloud's lowest estimate (%s J/token) and %s less than its highest (%s J/token).",
			sig(x), what, label, times(c.CloudJLow/x), sig(c.CloudJLow), times(c.CloudJHigh/x), sig(c.CloudJHigh)))
	case x > c.CloudJHigh:
		c.EnergyWinner, c.EnergyFactor = "cloud", x/c.CloudJHigh
		c.Verdict = append(c.Verdict, fmt.Sprintf("Energy: the cloud wins. This device used %s J per generated token %s (%s): %s more than the cloud's highest estimate (%s J/token) and %s more than its lowest (%s J/token).",
			sig(x), what, label, times(x/c.CloudJHigh), sig(c.CloudJHigh), times(x/c.CloudJLow), sig(c.CloudJLow)))
	default:
		c.EnergyWinner, c.EnergyFactor = "neither", 1
		c.Verdict = append(c.Verdict, fmt.Sprintf("Energy: no clear winner. This device used %s J per generated token %s (%s), inside the cloud's range of %s to %s J/token: %s more than efficient batched serving, %s less than the highest estimate.",
			sig(x), what, label, sig(c.CloudJLow), sig(c.CloudJHigh), times(x/c.CloudJLow), times(c.CloudJHigh/x)))
	}
	if s != nil && len(s.Calls) > 0 {
		ts, _ := s.TokensPerSecond()
		line := fmt.Sprintf("Speed from this device: local generation %.1f tokens/s, first token after %s; the cloud streamed %.1f tokens/s, first token after %s (network included).",
			l.TokensPerSecond, dur(l.TTFT), ts, dur(s.MeanTTFT()))
		switch {
		case ts > 0 && l.TokensPerSecond > ts:
			line += fmt.Sprintf(" Local is %s faster.", times(l.TokensPerSecond/ts))
		case ts > 0 && l.TokensPerSecond > 0:
			line += fmt.Sprintf(" The cloud is %s faster.", times(ts/l.TokensPerSecond))
		}
		c.Verdict = append(c.Verdict, line)
	}
	if c.CloudPriceHigh > 0 {
		line := fmt.Sprintf("Cost per million generated tokens: local electricity %s %s at %s %s/kWh, against cloud list prices of %s to %s %s",
			money(c.LocalCostPerMTok), c.Currency, money(priceKWh), c.Currency, money(c.CloudPriceLow), money(c.CloudPriceHigh), c.Currency)
		if c.ModelPrice != nil {
			line += fmt.Sprintf(" (%s: %s, listed %s)", c.ModelPrice.Model, money(c.ModelPrice.OutputPerMTok), c.ModelPrice.Date)
		}
		line += "; the device's purchase price is not counted."
		if c.LocalCostPerMTok < c.CloudPriceLow {
			line += fmt.Sprintf(" Local is %s cheaper than the cheapest listed.", times(c.CloudPriceLow/c.LocalCostPerMTok))
		} else if c.LocalCostPerMTok > c.CloudPriceLow {
			line += fmt.Sprintf(" The cheapest listed cloud model costs %s less.", times(c.LocalCostPerMTok/c.CloudPriceLow))
		}
		c.Verdict = append(c.Verdict, line)
	}
	c.Verdict = append(c.Verdict, fmt.Sprintf("CO2 per million generated tokens at %s g/kWh: local %s g, cloud %s to %s g at the same grid intensity (providers that buy clean power report less).",
		sig(gridGCO2), sig(c.LocalGCO2PerMTok), sig(c.CloudGCO2PerMTokLow), sig(c.CloudGCO2PerMTokHigh)))
	caveat := "Caveat: this compares energy per token, not per useful answer: a small local model and a large cloud model differ in quality, and the cloud figures are published estimates (assumptions " + a.Version + ", " + a.Date + "), not measurements."
	if l.Kind == "estimate" {
		caveat += " The local figure is an estimate too (TDP x CPU utilisation): use a power meter for a measured one."
	}
	c.Verdict = append(c.Verdict, caveat)
	return c, nil
}

// sig formats v with 3 significant digits.
func sig(v float64) string { return fmt.Sprintf("%.3g", v) }

// times formats a ratio: "3.2x", "45x", "1200x".
func times(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0fx", r)
	}
	return fmt.Sprintf("%.1fx", r)
}

func money(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 0.01:
		return fmt.Sprintf("%.2g", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
