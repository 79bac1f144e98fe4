package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// fieldsOf returns the field names of a validation error, in order (nil for no error).
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	require.ErrorIs(t, err, kernel.ErrInvalid)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, "validation", e.Code)
	out := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		require.NotEmpty(t, f.Detail, "field %s has no detail", f.Field)
		out = append(out, f.Field)
	}
	return out
}

func TestValidateHandle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		handle string
		ok     bool
	}{
		{"3 chars", "abc", true},
		{"32 chars", strings.Repeat("a", 32), true},
		{"digits only", "123", true},
		{"letters and digits", "agent42", true},
		{"inner hyphens", "a-b-c", true},
		{"32 chars with hyphens", strings.Repeat("ab-", 10) + "ab", true},
		{"2 chars", "ab", false},
		{"33 chars", strings.Repeat("a", 33), false},
		{"empty", "", false},
		{"uppercase", "Agent", false},
		{"all uppercase", "ABC", false},
		{"underscore", "my_agent", false},
		{"space", "my agent", false},
		{"leading space", " abc", false},
		{"trailing newline", "abc\n", false},
		{"leading hyphen", "-abc", false},
		{"trailing hyphen", "abc-", false},
		{"double hyphen", "a--b", false},
		{"only hyphens", "---", false},
		{"dot", "a.b", false},
		{"slash", "a/b", false},
		{"accented letter", "café", false},
		{"cyrillic look-alike", "аbc", false}, // first letter is U+0430
		{"fullwidth letters", "ａｂｃ", false},
		{"emoji", "ab🙂", false},
		{"two multibyte runes", "éé", false}, // 2 runes, 4 bytes
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var f kernel.Fields
			domain.ValidateHandle(&f, c.handle)
			if c.ok {
				require.Empty(t, f, "handle %q", c.handle)
				return
			}
			require.Equal(t, []string{"handle"}, fieldsOf(t, f.Err()), "handle %q", c.handle)
		})
	}
}

// validSettings is a complete auto-mode agent: tiers at 100, 500 and 2000
// points, a band of 50-1000 in the category code.
func validSettings() domain.Settings {
	return domain.Settings{
		Name:        "Pixel Smith",
		Specialty:   "Logos and icons in one afternoon",
		Description: "I draw vector logos and icon sets.",
		Categories:  []string{"design", "code"},
		Skills:      []string{"svg", "figma"},
		Plugins:     []string{"inkscape"},
		Tiers: []domain.Tier{
			{Name: "Basic", Price: 100, DeliveryDays: 7, Revisions: 1, Description: "one logo"},
			{Name: "Standard", Price: 500, DeliveryDays: 5, Revisions: 2},
			{Name: "Premium", Price: 2000, DeliveryDays: 3, Revisions: 3, Description: "logo and icon set"},
		},
		PollingIntervalSeconds: 300,
		AcceptMode:             domain.AcceptAuto,
		AutoBands: &domain.Bands{
			MinPrice: 50, MaxPrice: 1000, Categories: []string{"code"}, MaxRevisions: 3, MaxActiveOrders: 5,
		},
	}
}

func list(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func tiers(n int) []domain.Tier {
	out := make([]domain.Tier, n)
	for i := range out {
		out[i] = domain.Tier{Name: fmt.Sprintf("Tier %d", i+1), Price: int64(100 * (i + 1)), DeliveryDays: 5, Revisions: 1}
	}
	return out
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	type S = domain.Settings
	bands := func(f func(b *domain.Bands)) func(*S) { return func(s *S) { f(s.AutoBands) } }
	cases := []struct {
		name   string
		change func(*S)
		fields []string // nil: valid
	}{
		{"valid auto", func(*S) {}, nil},
		{"valid manual without bands", func(s *S) { s.AcceptMode, s.AutoBands = domain.AcceptManual, nil }, nil},

		// name, specialty, description: required, trimmed, rune-counted maxima.
		{"name empty", func(s *S) { s.Name = "" }, []string{"name"}},
		{"name blank", func(s *S) { s.Name = " \t\n " }, []string{"name"}},
		{"name 1 char", func(s *S) { s.Name = "X" }, nil},
		{"name 80 ascii", func(s *S) { s.Name = strings.Repeat("n", 80) }, nil},
		{"name 81 ascii", func(s *S) { s.Name = strings.Repeat("n", 81) }, []string{"name"}},
		{"name 80 two-byte runes", func(s *S) { s.Name = strings.Repeat("é", 80) }, nil},
		{"name 80 four-byte runes", func(s *S) { s.Name = strings.Repeat("🙂", 80) }, nil},
		{"name 81 two-byte runes", func(s *S) { s.Name = strings.Repeat("é", 81) }, []string{"name"}},
		{"name 80 padded with spaces", func(s *S) { s.Name = "  " + strings.Repeat("n", 80) + "  " }, nil},
		{"specialty empty", func(s *S) { s.Specialty = "" }, []string{"specialty"}},
		{"specialty blank", func(s *S) { s.Specialty = "   " }, []string{"specialty"}},
		{"specialty 120 three-byte runes", func(s *S) { s.Specialty = strings.Repeat("語", 120) }, nil},
		{"specialty 121 three-byte runes", func(s *S) { s.Specialty = strings.Repeat("語", 121) }, []string{"specialty"}},
		{"specialty 121 ascii", func(s *S) { s.Specialty = strings.Repeat("s", 121) }, []string{"specialty"}},
		{"description empty", func(s *S) { s.Description = "" }, []string{"description"}},
		{"description blank", func(s *S) { s.Description = "\n\n" }, []string{"description"}},
		{"description 5000 two-byte runes", func(s *S) { s.Description = strings.Repeat("ß", 5000) }, nil},
		{"description 5001 two-byte runes", func(s *S) { s.Description = strings.Repeat("ß", 5001) }, []string{"description"}},
		{"description 5001 ascii", func(s *S) { s.Description = strings.Repeat("d", 5001) }, []string{"description"}},

		// categories: at least one, known ones only, duplicates folded.
		{"no categories", func(s *S) { s.Categories, s.AutoBands.Categories = nil, nil }, []string{"categories"}},
		{"only blank categories", func(s *S) { s.Categories, s.AutoBands.Categories = []string{"", "  "}, nil }, []string{"categories"}},
		{"unknown category", func(s *S) { s.Categories = []string{"code", "music"} }, []string{"categories[1]"}},
		{"two unknown categories", func(s *S) { s.Categories = []string{"music", "code", "games"} }, []string{"categories[0]", "categories[2]"}},
		{"category in other case", func(s *S) { s.Categories = []string{"CODE", " Design "} }, nil},
		{"every category", func(s *S) { s.Categories = append([]string(nil), domain.Categories...) }, nil},
		{"duplicate categories", func(s *S) { s.Categories = []string{"code", "Code", " code ", "design"} }, nil},

		// skills and plugins: counts after de-duplication, rune-counted lengths.
		{"30 skills", func(s *S) { s.Skills = list(30, func(i int) string { return fmt.Sprint("skill", i) }) }, nil},
		{"31 skills", func(s *S) { s.Skills = list(31, func(i int) string { return fmt.Sprint("skill", i) }) }, []string{"skills"}},
		{"31 skills with one duplicate", func(s *S) {
			s.Skills = append(list(30, func(i int) string { return fmt.Sprint("skill", i) }), " skill0 ")
		}, nil},
		{"skill 40 runes", func(s *S) { s.Skills = []string{"go", strings.Repeat("ü", 40)} }, nil},
		{"skill 41 runes", func(s *S) { s.Skills = []string{"go", strings.Repeat("ü", 41)} }, []string{"skills[1]"}},
		{"no skills", func(s *S) { s.Skills = nil }, nil},
		{"20 plugins", func(s *S) { s.Plugins = list(20, func(i int) string { return fmt.Sprint("plugin", i) }) }, nil},
		{"21 plugins", func(s *S) { s.Plugins = list(21, func(i int) string { return fmt.Sprint("plugin", i) }) }, []string{"plugins"}},
		{"plugin 60 runes", func(s *S) { s.Plugins = []string{strings.Repeat("ø", 60)} }, nil},
		{"plugin 61 runes", func(s *S) { s.Plugins = []string{strings.Repeat("ø", 61), "x"} }, []string{"plugins[0]"}},
		{"no plugins", func(s *S) { s.Plugins = nil }, nil},

		// tiers: 1 to 5, each checked.
		{"no tiers", func(s *S) { s.Tiers = nil }, []string{"tiers"}},
		{"1 tier", func(s *S) { s.Tiers = tiers(1) }, nil},
		{"5 tiers", func(s *S) { s.Tiers = tiers(5) }, nil},
		{"6 tiers", func(s *S) { s.Tiers = tiers(6) }, []string{"tiers"}},
		{"price 0", func(s *S) { s.Tiers[0].Price = 0 }, []string{"tiers[0].price"}},
		{"price negative", func(s *S) { s.Tiers[0].Price = -100 }, []string{"tiers[0].price"}},
		{"price 1", func(s *S) { s.Tiers[0].Price = 1 }, nil},
		{"price 1000000", func(s *S) { s.Tiers[2].Price = 1_000_000 }, nil},
		{"price 1000001", func(s *S) { s.Tiers[2].Price = 1_000_001 }, []string{"tiers[2].price"}},
		{"delivery 0 days", func(s *S) { s.Tiers[1].DeliveryDays = 0 }, []string{"tiers[1].delivery_days"}},
		{"delivery 1 day", func(s *S) { s.Tiers[1].DeliveryDays = 1 }, nil},
		{"delivery 90 days", func(s *S) { s.Tiers[1].DeliveryDays = 90 }, nil},
		{"delivery 91 days", func(s *S) { s.Tiers[1].DeliveryDays = 91 }, []string{"tiers[1].delivery_days"}},
		{"revisions -1", func(s *S) { s.Tiers[0].Revisions = -1 }, []string{"tiers[0].revisions"}},
		{"revisions 0", func(s *S) { s.Tiers[0].Revisions = 0 }, nil},
		{"revisions 10", func(s *S) { s.Tiers[0].Revisions = 10 }, nil},
		{"revisions 11", func(s *S) { s.Tiers[0].Revisions = 11 }, []string{"tiers[0].revisions"}},
		{"tier name empty", func(s *S) { s.Tiers[1].Name = "" }, []string{"tiers[1].name"}},
		{"tier name blank", func(s *S) { s.Tiers[1].Name = "   " }, []string{"tiers[1].name"}},
		{"two tier names empty", func(s *S) { s.Tiers[0].Name, s.Tiers[1].Name = "", "" }, []string{"tiers[0].name", "tiers[1].name"}},
		{"tier name 40 runes", func(s *S) { s.Tiers[0].Name = strings.Repeat("ñ", 40) }, nil},
		{"tier name 41 runes", func(s *S) { s.Tiers[0].Name = strings.Repeat("ñ", 41) }, []string{"tiers[0].name"}},
		{"duplicate tier name", func(s *S) { s.Tiers[2].Name = "Basic" }, []string{"tiers[2].name"}},
		{"duplicate tier name in other case", func(s *S) { s.Tiers[1].Name = "BASIC" }, []string{"tiers[1].name"}},
		{"duplicate tier name with spaces", func(s *S) { s.Tiers[1].Name = "  basic " }, []string{"tiers[1].name"}},
		{"tier description empty", func(s *S) { s.Tiers[0].Description = "" }, nil},
		{"tier description 1000 runes", func(s *S) { s.Tiers[0].Description = strings.Repeat("é", 1000) }, nil},
		{"tier description 1001 runes", func(s *S) { s.Tiers[0].Description = strings.Repeat("é", 1001) }, []string{"tiers[0].description"}},

		// polling interval.
		{"polling 14", func(s *S) { s.PollingIntervalSeconds = 14 }, []string{"polling_interval_seconds"}},
		{"polling 15", func(s *S) { s.PollingIntervalSeconds = 15 }, nil},
		{"polling 3600", func(s *S) { s.PollingIntervalSeconds = 3600 }, nil},
		{"polling 3601", func(s *S) { s.PollingIntervalSeconds = 3601 }, []string{"polling_interval_seconds"}},
		{"polling 0", func(s *S) { s.PollingIntervalSeconds = 0 }, []string{"polling_interval_seconds"}},

		// accept mode and bands.
		{"accept mode empty", func(s *S) { s.AcceptMode = "" }, []string{"accept_mode"}},
		{"accept mode other", func(s *S) { s.AcceptMode = "sometimes" }, []string{"accept_mode"}},
		{"accept mode in upper case", func(s *S) { s.AcceptMode = "AUTO" }, []string{"accept_mode"}},
		{"manual with bands", func(s *S) { s.AcceptMode = domain.AcceptManual }, []string{"auto_bands"}},
		{"auto without bands", func(s *S) { s.AutoBands = nil }, []string{"auto_bands"}},
		{"band from 0", bands(func(b *domain.Bands) { b.MinPrice = 0 }), nil},
		{"band min negative", bands(func(b *domain.Bands) { b.MinPrice = -1 }), []string{"auto_bands.min_price"}},
		{"band max below min", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 600, 400 }), []string{"auto_bands.max_price"}},
		{"band of one price at a tier", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 500, 500 }), nil},
		{"band max 1000000", bands(func(b *domain.Bands) { b.MaxPrice = 1_000_000 }), nil},
		{"band max 1000001", bands(func(b *domain.Bands) { b.MaxPrice = 1_000_001 }), []string{"auto_bands.max_price"}},
		{"band below every tier", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 1, 99 }), []string{"auto_bands"}},
		{"band above every tier", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 2001, 5000 }), []string{"auto_bands"}},
		{"band between tiers", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 101, 499 }), []string{"auto_bands"}},
		{"band ends at the cheapest tier", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 1, 100 }), nil},
		{"band starts at the dearest tier", bands(func(b *domain.Bands) { b.MinPrice, b.MaxPrice = 2000, 9000 }), nil},
		{"band category not the agent's", bands(func(b *domain.Bands) { b.Categories = []string{"video"} }), []string{"auto_bands.categories[0]"}},
		{"band category unknown", bands(func(b *domain.Bands) { b.Categories = []string{"code", "music"} }), []string{"auto_bands.categories[1]"}},
		{"band category in other case", bands(func(b *domain.Bands) { b.Categories = []string{"CODE", "Design"} }), nil},
		{"band without categories", bands(func(b *domain.Bands) { b.Categories = nil }), nil},
		{"band max revisions -1", bands(func(b *domain.Bands) { b.MaxRevisions = -1 }), []string{"auto_bands.max_revisions"}},
		{"band max revisions 0", bands(func(b *domain.Bands) { b.MaxRevisions = 0 }), nil},
		{"band max revisions 10", bands(func(b *domain.Bands) { b.MaxRevisions = 10 }), nil},
		{"band max revisions 11", bands(func(b *domain.Bands) { b.MaxRevisions = 11 }), []string{"auto_bands.max_revisions"}},
		{"band max active orders 0", bands(func(b *domain.Bands) { b.MaxActiveOrders = 0 }), []string{"auto_bands.max_active_orders"}},
		{"band max active orders 1", bands(func(b *domain.Bands) { b.MaxActiveOrders = 1 }), nil},
		{"band max active orders 100", bands(func(b *domain.Bands) { b.MaxActiveOrders = 100 }), nil},
		{"band max active orders 101", bands(func(b *domain.Bands) { b.MaxActiveOrders = 101 }), []string{"auto_bands.max_active_orders"}},
		{"bands unchecked without tiers", func(s *S) { s.Tiers = nil; s.AutoBands.MinPrice, s.AutoBands.MaxPrice = 1, 2 }, []string{"tiers"}},
		{"bands unchecked in another mode", func(s *S) { s.AcceptMode = "x"; s.AutoBands.MaxActiveOrders = 0 }, []string{"accept_mode"}},

		// every failure at once, in field order.
		{"five failures", func(s *S) {
			s.Name = ""
			s.Categories = []string{"design", "code", "music"}
			s.Tiers[1].Price = 0
			s.PollingIntervalSeconds = 5000
			s.AutoBands.MaxActiveOrders = 0
		}, []string{"name", "categories[2]", "tiers[1].price", "polling_interval_seconds", "auto_bands.max_active_orders"}},
		{"everything wrong", func(s *S) {
			s.Name, s.Specialty, s.Description = "", "", strings.Repeat("d", 5001)
			s.Categories = []string{"music"}
			s.Skills = []string{strings.Repeat("s", 41)}
			s.Plugins = []string{strings.Repeat("p", 61)}
			s.Tiers = []domain.Tier{{Name: "", Price: 0, DeliveryDays: 0, Revisions: 11}}
			s.PollingIntervalSeconds = 1
			s.AutoBands = &domain.Bands{MinPrice: -1, MaxPrice: -2, Categories: []string{"code"}, MaxRevisions: 11, MaxActiveOrders: 101}
		}, []string{
			"name", "specialty", "description", "categories[0]", "skills[0]", "plugins[0]",
			"tiers[0].name", "tiers[0].price", "tiers[0].delivery_days", "tiers[0].revisions",
			"polling_interval_seconds",
			"auto_bands.min_price", "auto_bands.max_price", "auto_bands.categories[0]",
			"auto_bands.max_revisions", "auto_bands.max_active_orders",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := validSettings()
			c.change(&s)
			s.Normalize()
			err := s.Validate()
			if c.fields == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, c.fields, fieldsOf(t, err))
		})
	}
}

func TestSettingsValidateSingleErrorDetail(t *testing.T) {
	t.Parallel()
	s := validSettings()
	s.PollingIntervalSeconds = 14
	e, ok := kernel.As(s.Validate())
	require.True(t, ok)
	require.Equal(t, kernel.ErrInvalid, e.Kind)
	require.Equal(t, "polling_interval_seconds: must be 15 to 3600 seconds", e.Detail)
}

func TestSettingsNormalize(t *testing.T) {
	t.Parallel()
	s := domain.Settings{
		Name:        "  Pixel Smith \n",
		Specialty:   "\tLogos ",
		Description: " Vector work. ",
		Categories:  []string{" Design", "code", "DESIGN", "", "design ", "Code"},
		Skills:      []string{" svg ", "figma", "svg", "  ", "figma "},
		Plugins:     []string{"inkscape", " inkscape", ""},
		Tiers:       []domain.Tier{{Name: "  Basic ", Description: " one logo\n"}},
		AutoBands:   &domain.Bands{Categories: []string{"CODE", "code", " Design "}},
	}
	s.Normalize()
	require.Equal(t, "Pixel Smith", s.Name)
	require.Equal(t, "Logos", s.Specialty)
	require.Equal(t, "Vector work.", s.Description)
	require.Equal(t, []string{"design", "code"}, s.Categories)
	require.Equal(t, []string{"svg", "figma"}, s.Skills)
	require.Equal(t, []string{"inkscape"}, s.Plugins)
	require.Equal(t, "Basic", s.Tiers[0].Name)
	require.Equal(t, "one logo", s.Tiers[0].Description)
	require.Equal(t, []string{"code", "design"}, s.AutoBands.Categories)

	// Idempotent: a second pass changes nothing.
	again := s
	again.Categories = append([]string(nil), s.Categories...)
	again.Normalize()
	require.Equal(t, s, again)

	// No bands, no lists: nothing to panic over.
	var empty domain.Settings
	require.NotPanics(t, empty.Normalize)
	require.Empty(t, empty.Categories)
	require.Nil(t, empty.AutoBands)
}

func TestPriceRangeAndFastestDelivery(t *testing.T) {
	t.Parallel()
	tier := func(price int64, days int) domain.Tier { return domain.Tier{Price: price, DeliveryDays: days} }
	cases := []struct {
		name    string
		tiers   []domain.Tier
		lo, hi  int64
		fastest int
	}{
		{"no tiers", nil, 0, 0, 0},
		{"one tier", []domain.Tier{tier(250, 4)}, 250, 250, 4},
		{"ascending", []domain.Tier{tier(100, 7), tier(500, 5), tier(2000, 3)}, 100, 2000, 3},
		{"unordered", []domain.Tier{tier(500, 10), tier(2000, 90), tier(100, 1), tier(900, 30)}, 100, 2000, 1},
		{"cheapest last and fastest first", []domain.Tier{tier(800, 2), tier(300, 9), tier(1, 14)}, 1, 800, 2},
		{"equal prices", []domain.Tier{tier(1_000_000, 6), tier(1_000_000, 6)}, 1_000_000, 1_000_000, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := domain.Settings{Tiers: c.tiers}
			lo, hi := s.PriceRange()
			require.Equal(t, c.lo, lo, "lo")
			require.Equal(t, c.hi, hi, "hi")
			require.Equal(t, c.fastest, s.FastestDelivery())
		})
	}
}

func TestTransition(t *testing.T) {
	t.Parallel()
	const (
		ok           = ""
		notPublished = "agent-not-published"
		suspended    = "agent-suspended"
		invalid      = "validation"
	)
	cases := []struct {
		from, to domain.Status
		want     string
	}{
		{domain.Draft, domain.Active, ok},
		{domain.Active, domain.Paused, ok},
		{domain.Paused, domain.Active, ok},
		{domain.Active, domain.Active, ok},
		{domain.Paused, domain.Paused, ok},
		{domain.Draft, domain.Paused, notPublished},
		{domain.Suspended, domain.Active, suspended},
		{domain.Suspended, domain.Paused, suspended},
		{domain.Suspended, domain.Draft, suspended},
		{domain.Suspended, domain.Suspended, suspended},
		{domain.Draft, domain.Suspended, invalid},
		{domain.Active, domain.Suspended, invalid},
		{domain.Paused, domain.Suspended, invalid},
		{domain.Draft, domain.Draft, invalid},
		{domain.Active, domain.Draft, invalid},
		{domain.Paused, domain.Draft, invalid},
		{domain.Active, "deleted", invalid},
		{domain.Active, "", invalid},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s to %s", c.from, c.to), func(t *testing.T) {
			t.Parallel()
			err := domain.Transition(c.from, c.to)
			switch c.want {
			case ok:
				require.NoError(t, err)
			case invalid:
				require.Equal(t, []string{"status"}, fieldsOf(t, err))
			default:
				require.ErrorIs(t, err, kernel.ErrConflict)
				e, isKernel := kernel.As(err)
				require.True(t, isKernel)
				require.Equal(t, c.want, e.Code)
				require.NotEmpty(t, e.Detail)
			}
		})
	}
}

func TestOnline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { p := now.Add(-d); return &p }
	cases := []struct {
		name     string
		lastPoll *time.Time
		interval int
		want     bool
	}{
		{"never polled", nil, 60, false},
		{"never polled, longest interval", nil, 3600, false},
		{"polled just now", ago(0), 60, true},
		{"one interval ago", ago(60 * time.Second), 60, true},
		{"exactly twice the interval", ago(120 * time.Second), 60, true},
		{"a nanosecond past twice the interval", ago(120*time.Second + time.Nanosecond), 60, false},
		{"a second past twice the interval", ago(121 * time.Second), 60, false},
		{"shortest interval at the boundary", ago(30 * time.Second), 15, true},
		{"shortest interval past the boundary", ago(31 * time.Second), 15, false},
		{"longest interval at the boundary", ago(2 * time.Hour), 3600, true},
		{"longest interval past the boundary", ago(2*time.Hour + time.Millisecond), 3600, false},
		{"a day ago", ago(24 * time.Hour), 3600, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, domain.Online(c.lastPoll, c.interval, now))
		})
	}
}

func TestListed(t *testing.T) {
	t.Parallel()
	want := map[domain.Status]bool{
		domain.Draft: false, domain.Active: true, domain.Paused: false, domain.Suspended: false, "": false, "ACTIVE": false,
	}
	for s, listed := range want {
		require.Equal(t, listed, domain.Listed(s), "status %q", s)
	}
}
