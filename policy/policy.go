// Package policy embeds heepr's casbin model and policy, keyed by the
// operationIds of openapi.yaml.
package policy

import _ "embed"

// Model is the casbin model.
//
//go:embed model.conf
var Model string

// CSV is the casbin policy: which role may call which operation.
//
//go:embed policy.csv
var CSV string
