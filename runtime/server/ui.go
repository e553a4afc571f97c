package server

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"time"
)

// ui holds the web chat: a page, its script and its style sheet, served
// from the binary. Nothing on the page comes from anywhere else (no CDN,
// no font, no image), so it works with no network beyond this server.
//
//go:embed ui/index.html ui/app.js ui/style.css
var ui embed.FS

// uiPrefix is where the page's files are served.
const uiPrefix = "/ui/"

// isUIPath reports whether path is the page or one of its files.
func isUIPath(p string) bool {
	return p == "/" || p == "/index.html" || (len(p) > len(uiPrefix) && p[:len(uiPrefix)] == uiPrefix)
}

// contentSecurityPolicy allows the page its own script, style and API
// calls and nothing else: no inline script or style, no other origin, no
// plugin, no framing by another site.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// setSecurityHeaders sets the headers every response carries: the API's
// JSON too, so that a response opened in a browser cannot run anything.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// uiTypes are the content types of the page's files.
var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// uiModTime is when the files were built into this binary (the start of
// the process is close enough for caching).
var uiModTime = time.Now()

// handleUI serves the page at / and its files under /ui/.
func (s *Server) handleUI(w http.ResponseWriter, r *http.Request) *apiError {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return methodNotAllowed("GET")
	}
	name := "ui/index.html"
	if r.URL.Path != "/" && r.URL.Path != "/index.html" {
		name = path.Join("ui", path.Clean("/"+r.URL.Path[len(uiPrefix):]))
	}
	b, err := fs.ReadFile(ui, name)
	if err != nil || name == "ui/index.html" && r.URL.Path != "/" && r.URL.Path != "/index.html" {
		return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "unknown_url",
			Message: "Invalid URL (" + r.Method + " " + logPath(r.URL.Path) + ")"}
	}
	h := w.Header()
	h.Set("Content-Type", uiTypes[path.Ext(name)])
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, uiModTime, bytes.NewReader(b))
	return nil
}
