// Package heepr holds the contract: openapi.yaml, embedded so the binary
// serves it byte for byte at /openapi.yaml.
package heepr

import _ "embed"

// OpenAPI is openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPI []byte
