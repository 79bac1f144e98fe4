package httpapi

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// webCSP is the web app's Content-Security-Policy: everything from heepr
// itself, no inline script or style.
const webCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// webApp serves the built web app: its files as they are (hashed assets
// cached for a year), and index.html for any other page a browser asks for,
// so deep links (/agents/x, /orders/y) work. A request that does not accept
// HTML (an API client, curl) gets the not-found problem instead.
type webApp struct {
	files fs.FS
	index []byte
	built time.Time
}

func newWebApp(files fs.FS) (*webApp, error) {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, err
	}
	return &webApp{files: files, index: index, built: time.Now().UTC().Truncate(time.Second)}, nil
}

// serve answers r if it is the web app's, and reports whether it did.
func (a *webApp) serve(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if p != "" && p != "index.html" && !strings.HasPrefix(p, "v1/") {
		if b, err := fs.ReadFile(a.files, p); err == nil {
			h := w.Header()
			h.Set("Content-Security-Policy", webCSP)
			if strings.HasPrefix(p, "assets/") {
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			http.ServeContent(w, r, p, a.built, bytes.NewReader(b))
			return true
		}
	}
	if strings.HasPrefix(p, "v1/") || p == "v1" || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	h := w.Header()
	h.Set("Content-Security-Policy", webCSP)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", a.built, bytes.NewReader(a.index))
	return true
}
