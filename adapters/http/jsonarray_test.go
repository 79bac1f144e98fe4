package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestArrayOver(t *testing.T) {
	t.Parallel()
	elems := func(n int, elem string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	cases := []struct {
		name string
		body string
		want bool
	}{
		{"empty object", `{}`, false},
		{"empty array", `[]`, false},
		{"at the limit", `{"a":` + elems(5, "1") + `}`, false},
		{"one over", `{"a":` + elems(6, "1") + `}`, true},
		{"nested, inner over", `{"a":[[` + strings.Repeat("1,", 5) + `1]]}`, true},
		{"many small arrays", `[` + strings.TrimSuffix(strings.Repeat(`[1,2,3],`, 5), ",") + `]`, false},
		{"commas in an object do not count", `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}`, false},
		{"commas inside strings do not count", `{"a":["x,,,,,,,,,,,,"]}`, false},
		{"escaped quote keeps the string open", `{"a":["\",,,,,,,,,"]}`, false},
		{"escaped backslash closes the string", `{"a":["\\",1,2,3,4,5,6]}`, true},
		{"objects as elements", `[` + strings.TrimSuffix(strings.Repeat(`{"k":1,"j":2},`, 6), ",") + `]`, true},
	}
	for _, c := range cases {
		if !json.Valid([]byte(c.body)) {
			t.Fatalf("%s: not JSON: %s", c.name, c.body)
		}
		if got := arrayOver([]byte(c.body), 5); got != c.want {
			t.Errorf("%s: arrayOver(%s, 5) = %v, want %v", c.name, c.body, got, c.want)
		}
	}
}
