package kernel

import (
	"encoding/base64"
	"encoding/json"
)

// EncodeCursor turns a keyset position into an opaque cursor string.
func EncodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // positions are plain structs
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor into v. Tampered input is a validation error.
func DecodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return Invalid(FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
	}
	return nil
}

// Limit clamps a page size: 0 means def, anything above max is max.
func Limit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}
