// Package web holds heepr's web app: its source (React, TypeScript, Vite)
// and, once built (`make web`, which `make build`, `make run` and `make test`
// do first), the files the binary embeds and serves at /.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Files are the built app: index.html at the root, hashed assets under assets/.
func Files() fs.FS {
	f, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directive above guarantees dist
	}
	return f
}
