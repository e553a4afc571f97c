// Command serveclient talks to an OpenAI-compatible edgeai server with
// nothing but net/http and encoding/json: it lists the models, then streams
// a chat answer (server-sent events) to standard output.
//
// Against a running `edgeai serve`:
//
//	edgeai serve -m models/testdata/stories260K.gguf --chat-template chatml &
//	go run ./examples/serveclient -url http://127.0.0.1:8080 "Tell me a story"
//
// Or, with -m, it embeds the server itself (runtime/server is an
// http.Handler) on a loopback port and talks to that:
//
//	go run ./examples/serveclient -m models/testdata/stories260K.gguf -chat-template chatml "Tell me a story"
//
// The API key, if the server wants one, comes from $EDGEAI_API_KEY.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// chunk is the part of a chat.completion.chunk this client reads.
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

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serveclient", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	modelPath := fs.String("m", "", "serve this GGUF model in-process instead of using -url")
	tmpl := fs.String("chat-template", "", "with -m: the chat template, if the model has none (stories260K: chatml)")
	model := fs.String("model", "", "model ID (default: the first the server lists)")
	maxTokens := fs.Int("n", 64, "max tokens of the answer")
	temp := fs.Float64("temp", 0, "temperature (0 = greedy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	question := strings.Join(fs.Args(), " ")
	if question == "" {
		question = "Tell me a story."
	}
	key := os.Getenv("EDGEAI_API_KEY")

	if *modelPath != "" {
		base, shutdown, err := serveInProcess(ctx, *modelPath, *tmpl, key)
		if err != nil {
			return err
		}
		defer shutdown()
		*url = base
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	do := func(method, path string, body any) (*http.Response, error) {
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*url, "/")+path, r)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		return resp, nil
	}

	// GET /v1/models
	if *model == "" {
		resp, err := do(http.MethodGet, "/v1/models", nil)
		if err != nil {
			return err
		}
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the model list: %w", err)
		}
		if len(list.Data) == 0 {
			return errors.New("the server lists no models")
		}
		*model = list.Data[0].ID
	}

	// POST /v1/chat/completions with stream: true
	resp, err := do(http.MethodPost, "/v1/chat/completions", map[string]any{
		"model":          *model,
		"messages":       []map[string]string{{"role": "user", "content": question}},
		"max_tokens":     *maxTokens,
		"temperature":    *temp,
		"stream":         true,
		"stream_options": map[string]bool{"include_usage": true},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	finish := ""
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue // blank separator lines, comments
		}
		if data == "[DONE]" {
			fmt.Fprintf(stdout, "\n[finish_reason: %s]\n", finish)
			return nil
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return fmt.Errorf("bad event %q: %w", data, err)
		}
		if c.Error != nil {
			return fmt.Errorf("the server stopped the answer: %s", c.Error.Message)
		}
		for _, ch := range c.Choices {
			fmt.Fprint(stdout, ch.Delta.Content)
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
		if c.Usage != nil {
			fmt.Fprintf(stdout, "\n[%d prompt tokens, %d completion tokens]", c.Usage.PromptTokens, c.Usage.CompletionTokens)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("the stream ended without [DONE]")
}

// serveInProcess loads a model and serves it with runtime/server on a
// loopback port, returning the base URL and a shutdown function.
func serveInProcess(ctx context.Context, path, tmpl, key string) (string, func(), error) {
	var opts []runtime.Option
	if tmpl != "" {
		opts = append(opts, runtime.WithChatTemplate(tmpl))
	}
	m, err := runtime.Load(ctx, path, opts...)
	if err != nil {
		return "", nil, err
	}
	srv, err := server.New(server.Config{APIKey: key}, server.Model{ID: "local", Decoder: m})
	if err != nil {
		m.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		m.Close()
		return "", nil, err
	}
	hs := srv.HTTPServer("")
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		srv.Shutdown(sctx)
		m.Close()
	}, nil
}
