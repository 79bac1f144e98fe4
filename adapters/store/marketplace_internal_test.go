package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/marketplace/domain"
)

// The settings memo hands out what decoding the text would, and copies
// that share nothing with each other or with what it keeps: changing one
// (as Normalize and patches do, in place) changes no other.
func TestSettingsMemoDecodesAndCopies(t *testing.T) {
	t.Parallel()
	st := domain.Settings{Name: "Memo", Categories: []string{"code", "data"}, Skills: []string{"go"}, Plugins: []string{},
		Tiers:     []domain.Tier{{Name: "Basic", Price: 10, DeliveryDays: 2, Revisions: 1}},
		AutoBands: &domain.Bands{MinPrice: 1, MaxPrice: 50, Categories: []string{"code"}}, PollingIntervalSeconds: 60}
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var memo settingsMemo
	var want domain.Settings
	require.NoError(t, json.Unmarshal(raw, &want))
	a, err := memo.decode(string(raw)) // decoded
	require.NoError(t, err)
	b, err := memo.decode(string(raw)) // remembered
	require.NoError(t, err)
	require.Equal(t, want, a)
	require.Equal(t, want, b)
	a.Categories[0], a.Skills[0], a.Tiers[0].Name, a.AutoBands.Categories[0], a.AutoBands.MaxPrice = "x", "x", "x", "x", 9
	a.Plugins = append(a.Plugins, "x")
	require.Equal(t, want, b)
	c, err := memo.decode(string(raw))
	require.NoError(t, err)
	require.Equal(t, want, c)
	require.NotNil(t, c.Plugins, "an empty list stays an empty list")

	_, err = memo.decode("{not json")
	require.Error(t, err)
	for i := range maxMemoSettings + 1 { // full: starts again
		_, err := memo.decode(fmt.Sprintf(`{"name":"n","polling_interval_seconds":%d}`, i))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(memo.m), maxMemoSettings)
}

// cloneSettings copies every list and pointer of the settings, tiers and
// bands: when one of these types gets a field that refers to memory (a
// slice, map or pointer), this fails until cloneSettings copies it too.
func TestCloneSettingsKnowsEveryReference(t *testing.T) {
	t.Parallel()
	cloned := map[reflect.Type][]string{
		reflect.TypeFor[domain.Settings](): {"Categories", "Skills", "Plugins", "Tiers", "AutoBands"},
		reflect.TypeFor[domain.Tier]():     nil,
		reflect.TypeFor[domain.Bands]():    {"Categories"},
	}
	for typ, want := range cloned {
		var refs []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			switch f.Type.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Array, reflect.Struct, reflect.Chan, reflect.Func:
				refs = append(refs, f.Name)
			}
		}
		require.Equal(t, want, refs, "fields of %s that refer to memory", typ)
	}
}
