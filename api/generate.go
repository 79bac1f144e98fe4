// Package api holds the server interfaces, models and embedded spec generated
// from openapi.yaml. Never edit *.gen.go by hand: change openapi.yaml and run make generate.
package api

//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config server.cfg.yaml ../openapi.yaml
//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config client.cfg.yaml ../openapi.yaml
