package cloud

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxStreamBytes bounds what one call reads from a server.
const maxStreamBytes = 32 << 20

// Client calls an OpenAI-compatible chat completions endpoint.
type Client struct {
	// Endpoint is the API's base URL ("https://api.openai.com/v1") or the
	// full chat completions URL.
	Endpoint string
	// Model is the "model" of the requests.
	Model string
	// APIKey, when not empty, is sent as a bearer token.
	APIKey string
	// HTTP is the client used; nil = a client with a 5-minute timeout.
	HTTP *http.Client
}

// Call is the measurement of one streaming call, from this device.
type Call struct {
	TTFT          time.Duration // request sent -> first content received
	Total         time.Duration // request sent -> end of the stream
	PromptTokens  int           // from the server's usage, or 0
	OutputTokens  int           // from the server's usage, else the content chunks counted
	UsageReported bool          // the server sent usage (stream_options.include_usage)
	FinishReason  string
}

// TokensPerSecond returns the generation speed after the first token:
// (OutputTokens - 1) / (Total - TTFT), the client-side equivalent of a local
// tg test; 0 when fewer than two tokens came.
func (c Call) TokensPerSecond() float64 {
	d := (c.Total - c.TTFT).Seconds()
	if c.OutputTokens < 2 || d <= 0 {
		return 0
	}
	return float64(c.OutputTokens-1) / d
}

// URL returns the chat completions URL of the endpoint.
func (c *Client) URL() (string, error) {
	u, err := url.Parse(strings.TrimSpace(c.Endpoint))
	if err != nil {
		return "", fmt.Errorf("cloud: endpoint %q: %w", c.Endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("cloud: endpoint %q: want an http or https URL such as https://api.openai.com/v1", c.Endpoint)
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/chat/completions") {
		p += "/chat/completions"
	}
	u.Path = p
	return u.String(), nil
}

type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	MaxTokens     int           `json:"max_tokens"`
	Stream        bool          `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Stream sends prompt as one user message, asks for at most maxTokens tokens
// as a stream, reads the whole stream and returns its timings.
func (c *Client) Stream(ctx context.Context, prompt string, maxTokens int) (Call, error) {
	endpoint, err := c.URL()
	if err != nil {
		return Call{}, err
	}
	if c.Model == "" {
		return Call{}, errors.New("cloud: no model name (--cloud-model)")
	}
	if maxTokens <= 0 {
		return Call{}, fmt.Errorf("cloud: max tokens %d", maxTokens)
	}
	req := chatRequest{Model: c.Model, Messages: []chatMessage{{Role: "user", Content: prompt}}, MaxTokens: maxTokens, Stream: true}
	req.StreamOptions.IncludeUsage = true
	body, err := json.Marshal(req)
	if err != nil {
		return Call{}, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Call{}, fmt.Errorf("cloud: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "text/event-stream")
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	start := time.Now()
	resp, err := hc.Do(hr)
	if err != nil {
		return Call{}, fmt.Errorf("cloud: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return Call{}, fmt.Errorf("cloud: %s: %s: %s", endpoint, resp.Status, strings.TrimSpace(string(msg)))
	}
	var call Call
	chunks := 0
	br := bufio.NewReaderSize(io.LimitReader(resp.Body, maxStreamBytes), 64<<10)
	done := false
	for !done {
		line, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			if err == io.EOF {
				break
			}
			return Call{}, fmt.Errorf("cloud: reading the stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // blank separators, comments, event: lines
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ch chunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return Call{}, fmt.Errorf("cloud: a stream chunk is not JSON: %.200q", data)
		}
		if ch.Error != nil {
			return Call{}, fmt.Errorf("cloud: the server reported an error mid-stream: %s", ch.Error.Message)
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content != "" {
				if chunks == 0 {
					call.TTFT = time.Since(start)
				}
				chunks++
			}
			if choice.FinishReason != nil {
				call.FinishReason = *choice.FinishReason
			}
		}
		if ch.Usage != nil {
			call.UsageReported = true
			call.PromptTokens = ch.Usage.PromptTokens
			call.OutputTokens = ch.Usage.CompletionTokens
		}
	}
	call.Total = time.Since(start)
	if !done {
		return Call{}, errors.New("cloud: the stream ended without data: [DONE]")
	}
	if chunks == 0 {
		return Call{}, errors.New("cloud: the stream carried no content")
	}
	if !call.UsageReported {
		call.OutputTokens = chunks // about one token per chunk on OpenAI-style servers
	}
	return call, nil
}

// Summary is the result of several calls.
type Summary struct {
	Endpoint string
	Model    string
	Calls    []Call
}

// MeanTTFT returns the mean time to first token.
func (s *Summary) MeanTTFT() time.Duration {
	if len(s.Calls) == 0 {
		return 0
	}
	var t time.Duration
	for _, c := range s.Calls {
		t += c.TTFT
	}
	return t / time.Duration(len(s.Calls))
}

// MeanTotal returns the mean latency of a whole call.
func (s *Summary) MeanTotal() time.Duration {
	if len(s.Calls) == 0 {
		return 0
	}
	var t time.Duration
	for _, c := range s.Calls {
		t += c.Total
	}
	return t / time.Duration(len(s.Calls))
}

// TokensPerSecond returns the mean and sample standard deviation of the calls'
// generation speeds.
func (s *Summary) TokensPerSecond() (mean, stddev float64) {
	var x []float64
	for _, c := range s.Calls {
		x = append(x, c.TokensPerSecond())
	}
	return meanStd(x)
}

// OutputTokens returns the tokens generated over all calls.
func (s *Summary) OutputTokens() int {
	n := 0
	for _, c := range s.Calls {
		n += c.OutputTokens
	}
	return n
}

// UsageReported is true when every call's token count came from the server.
func (s *Summary) UsageReported() bool {
	for _, c := range s.Calls {
		if !c.UsageReported {
			return false
		}
	}
	return len(s.Calls) > 0
}

// Run makes n streaming calls, one after another, each with a different
// synthetic prompt of about promptWords words asking for maxTokens tokens.
// progress, when not nil, is called before each call.
func (c *Client) Run(ctx context.Context, n, promptWords, maxTokens int, progress func(i, n int)) (*Summary, error) {
	if n <= 0 || n > 1000 {
		return nil, fmt.Errorf("cloud: %d calls: want 1 to 1000", n)
	}
	s := &Summary{Endpoint: c.Endpoint, Model: c.Model}
	for i := range n {
		if progress != nil {
			progress(i, n)
		}
		call, err := c.Stream(ctx, SyntheticPrompt(i, promptWords), maxTokens)
		if err != nil {
			return s, fmt.Errorf("call %d of %d: %w", i+1, n, err)
		}
		s.Calls = append(s.Calls, call)
	}
	if progress != nil {
		progress(n, n)
	}
	return s, nil
}
