package kernel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
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
	if err == nil && hasNUL(b) {
		err = errNUL
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return Invalid(FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
	}
	return nil
}

var errNUL = errors.New("a string in the cursor has a NUL character")

// hasNUL reports whether a JSON text has a string (or key) with a NUL
// character ("\u0000"). No cursor heepr issues has one, and neither
// database takes one as a parameter: such a cursor would end in a 500.
func hasNUL(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	for {
		t, err := d.Token()
		if err != nil {
			return false // the end, or a syntax error json.Unmarshal reports
		}
		if s, ok := t.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}

// Limit clamps a page size: 0 means def, anything above max is max.
func Limit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	return min(n, max)
}

// IDCursor reads a cursor made by PageByID ("" for the first page).
func IDCursor(cursor string) (string, error) {
	var id string
	if cursor == "" {
		return "", nil
	}
	if err := DecodeCursor(cursor, &id); err != nil {
		return "", err
	}
	return id, nil
}

// PageByID trims rows read with limit+1 to limit and returns the cursor of
// the next page (the last kept row's id), "" when there is none.
func PageByID[T any](rows []T, limit int, id func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, EncodeCursor(id(rows[limit-1]))
}
