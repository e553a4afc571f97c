package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/edgeai-go/edgeai/runtime"
)

// Error types of the OpenAI error body ("type").
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
	typeTimeout        = "timeout_error"
	typeUnavailable    = "service_unavailable_error"
)

// apiError is an error answered with an OpenAI-style body:
//
//	{"error": {"message": "...", "type": "...", "param": "n", "code": null}}
type apiError struct {
	Status     int           // HTTP status
	Message    string        // human-readable
	Type       string        // one of the type* constants
	Param      string        // the request parameter at fault, if any
	Code       string        // a machine-readable code such as "context_length_exceeded", if any
	RetryAfter time.Duration // sets the Retry-After header when > 0
	ollama     bool          // answer in Ollama's form, {"error": "..."}
}

func (e *apiError) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%d %s (param %s): %s", e.Status, e.Type, e.Param, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message)
}

// errorBody is the JSON shape of an error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) body() errorBody {
	d := errorDetail{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		d.Param = &e.Param
	}
	if e.Code != "" {
		d.Code = &e.Code
	}
	return errorBody{Error: d}
}

// badParam is a 400 naming the parameter at fault.
func badParam(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// unsupported is a 400 for a parameter the server recognises but cannot honour.
func unsupported(param, why string) *apiError {
	e := badParam(param, "%s is not supported by this server: %s", param, why)
	e.Code = "unsupported_parameter"
	return e
}

// writeError answers e as JSON.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="edgeai"`)
	}
	w.WriteHeader(e.Status)
	if e.ollama {
		b, _ := json.Marshal(map[string]string{"error": e.Message})
		w.Write(append(b, '\n'))
		return
	}
	b, _ := json.Marshal(e.body())
	w.Write(append(b, '\n'))
}

// absPath matches what looks like an absolute file path (unix, or Windows
// with a drive letter) in an error message.
var absPath = regexp.MustCompile(`(?:[A-Za-z]:\\|/)[^\s"'()<>,;]*[/\\][^\s"'()<>,;]+`)

// clientMessage turns an internal error about sv into a message for the
// client: the model's file path becomes its ID, any other absolute path
// "<file>", and the package prefix goes. Clients never learn where the
// server keeps its files.
func clientMessage(sv *served, err error) string {
	msg := err.Error()
	if sv != nil {
		var paths []string
		if sv.Decoder != nil {
			paths = append(paths, sv.Decoder.Info().Path)
		}
		if pe, ok := sv.Embedder.(interface{ Info() runtime.EmbedInfo }); ok {
			paths = append(paths, pe.Info().Path)
		}
		for _, p := range paths {
			if p == "" {
				continue
			}
			name := fmt.Sprintf("model %q", sv.ID)
			if abs, err := filepath.Abs(p); err == nil {
				msg = strings.ReplaceAll(msg, abs, name)
			}
			msg = strings.ReplaceAll(msg, p, name)
		}
	}
	msg = absPath.ReplaceAllString(msg, "<file>")
	for _, prefix := range []string{"runtime: ", "chat: "} {
		msg = strings.ReplaceAll(msg, prefix, "")
	}
	return msg
}
