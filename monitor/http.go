package monitor

import (
	"bytes"
	"embed"
	"net/http"
	"path"
	"sync"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ropehq/rope/ropeserver"
)

// files are the page, its style and its bundle.
//
//go:embed page/index.html page/monitor.css dist/monitor.js
var files embed.FS

// page is index.html with the style and the bundle inlined, so that the
// page is one request, which carries the token (?access_token=…) when
// the server has one.
var page = sync.OnceValues(func() ([]byte, error) {
	html, err := files.ReadFile("page/index.html")
	if err != nil {
		return nil, err
	}
	css, err := files.ReadFile("page/monitor.css")
	if err != nil {
		return nil, err
	}
	js, err := files.ReadFile("dist/monitor.js")
	if err != nil {
		return nil, err
	}
	// esbuild escapes "</script" in what it emits; the style is ours.
	html = bytes.Replace(html, []byte(`<link rel="stylesheet" href="monitor.css">`), append(append([]byte("<style>\n"), css...), "</style>"...), 1)
	html = bytes.Replace(html, []byte(`<script type="module" src="monitor.js"></script>`),
		append(append([]byte(`<script type="module">`), js...), "</script>"...), 1)
	return html, nil
})

// Handler serves the page behind rs's token (rs.AuthorizeRequest: a
// bearer Authorization header or ?access_token=…; 401 without it, 403
// for a grant that does not see every object, spec §18). Mount it with
// its prefix stripped (http.StripPrefix("/monitor", monitor.Handler(rs))):
// "/" is the page, anything else is 404. The page connects to rs at the
// root of the same host, with the token it was loaded with.
func Handler(rs *ropeserver.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyRequest(w, r) || !authorized(rs, w, r) {
			return
		}
		if p := path.Clean("/" + r.URL.Path); p != "/" && p != "/index.html" {
			http.NotFound(w, r)
			return
		}
		b, err := page()
		if err != nil {
			http.Error(w, "monitor: page missing", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // the URL may carry the token
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}

// MetricsHandler serves x in Prometheus' text format behind rs's token,
// as Handler does.
func MetricsHandler(rs *ropeserver.Server, x *Metrics) http.Handler {
	prom := promhttp.HandlerFor(x.Registry(), promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readOnlyRequest(w, r) || !authorized(rs, w, r) {
			return
		}
		prom.ServeHTTP(w, r)
	})
}

// readOnlyRequest allows GET and HEAD only.
func readOnlyRequest(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// authorized answers 401 unless r presents the server's token, and 403
// when the token's grant does not see every object (the figures cover
// them all).
func authorized(rs *ropeserver.Server, w http.ResponseWriter, r *http.Request) bool {
	g, err := rs.AuthorizeRequest(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rope"`)
		http.Error(w, "unauthorized: present the server's token (Authorization: Bearer …, or ?access_token=…)", http.StatusUnauthorized)
		return false
	}
	if !seesAll(g) {
		http.Error(w, "forbidden: this token's grant does not see every object", http.StatusForbidden)
		return false
	}
	return true
}

// seesAll reports whether a grant sees every object (nil: full access).
func seesAll(g *ropeserver.Grant) bool {
	return g == nil || (len(g.Roots) == 0 && len(g.Hide) == 0)
}
