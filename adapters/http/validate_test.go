package httpapi

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The validator names fields as the domain rules do (brackets around
// indexes) and words its messages the same way.
func TestValidatorFieldNamesAndWording(t *testing.T) {
	require.Equal(t, "tiers[0].price", join("", []string{"tiers", "0", "price"}))
	require.Equal(t, "auto_bands.categories[1]", join("", []string{"auto_bands", "categories", "1"}))
	require.Equal(t, "criteria[2]", join("", []string{"criteria", "2"}))
	require.Equal(t, "limit", join("limit", nil))
	require.Equal(t, "body", join("", nil))

	require.Equal(t, "must be at least 10 characters", friendly("minimum string length is 10"))
	require.Equal(t, "must be at most 80 characters", friendly("maximum string length is 80"))
	require.Equal(t, "must be at least 1", friendly("number must be at least 1"))
	require.Equal(t, "must have at least 1 items", friendly("minimum number of items is 1"))
	require.Equal(t, `must be one of ["code","design"]`, friendly(`value is not one of the allowed values ["code","design"]`))
	require.Equal(t, "is not in the expected format", friendly(`string doesn't match the regular expression "^[a-z]+$"`))
	require.Equal(t, "must be an integer", friendly("value must be an integer"))
	require.Equal(t, "something else", friendly("something else"))
}
