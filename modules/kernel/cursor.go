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
