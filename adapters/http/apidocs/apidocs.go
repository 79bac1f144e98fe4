// Package apidocs serves the readable API reference at /docs: Redoc's
// self-contained bundle (npm package redoc, the version pinned in
// tools/lint/package.json; `make lint` checks this copy is that version's
// file) rendering the embedded openapi.yaml. Nothing is fetched from a CDN.
package apidocs

import (
	"bytes"
	_ "embed"
	"net/http"
	"time"
)

var (
	//go:embed index.html
	page []byte
	//go:embed redoc.standalone.js
	bundle []byte
	//go:embed REDOC-LICENSE
	redocLicense []byte
	//go:embed redoc.standalone.js.LICENSE.txt
	bundledLicenses []byte
	licenses        = bytes.Join([][]byte{redocLicense, bundledLicenses}, []byte("\n\n"))
)

// built is the Last-Modified of the embedded files (they change only with the binary).
var built = time.Now().UTC().Truncate(time.Second)

// csp lets Redoc run: its script from here, the inline styles it injects,
// the spec fetched from here, its search worker from a blob.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Routes are the pages of the reference by ServeMux pattern.
func Routes() map[string]http.Handler {
	serve := func(name, typ string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			http.ServeContent(w, r, name, built, bytes.NewReader(body))
		}
	}
	return map[string]http.Handler{
		"GET /docs":                     serve("index.html", "text/html; charset=utf-8", page),
		"GET /docs/redoc.standalone.js": serve("redoc.standalone.js", "text/javascript; charset=utf-8", bundle),
		"GET /docs/licenses.txt":        serve("licenses.txt", "text/plain; charset=utf-8", licenses),
	}
}
