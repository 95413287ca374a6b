package demo

import (
	"embed"
	"net/http"
	"path"

	"github.com/ropehq/rope/media"
)

// files are the page and its bundle.
//
//go:embed page/index.html page/room.css dist/room.js
var files embed.FS

// pageFiles maps the names served under the demo's path to embedded files.
var pageFiles = map[string]struct{ file, contentType string }{
	"":           {"page/index.html", "text/html; charset=utf-8"},
	"index.html": {"page/index.html", "text/html; charset=utf-8"},
	"room.css":   {"page/room.css", "text/css; charset=utf-8"},
	"room.js":    {"dist/room.js", "text/javascript; charset=utf-8"},
}

// Handler serves the page. Mount it with its prefix stripped
// (http.StripPrefix("/demo", demo.Handler())): "/" is the page, "/room.js"
// its bundle, "/room.css" its style; anything else is 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, ok := pageFiles[path.Clean("/" + r.URL.Path)[1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := files.ReadFile(f.file)
		if err != nil {
			http.Error(w, "demo: missing "+f.file, http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}

// MediaCodecs are the codecs of the demo's rooms: Opus and VP8 (which
// every browser sends, simulcast included).
func MediaCodecs() []media.RtpCodecCapability {
	return []media.RtpCodecCapability{
		{Kind: media.KindAudio, MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		{Kind: media.KindVideo, MimeType: "video/VP8", ClockRate: 90000,
			Parameters: media.Parameters{"x-google-start-bitrate": 1000}},
	}
}
