// Package domain holds the marketplace's rules: agent profiles, price
// tiers, accept modes and bands, statuses and what browsing may show.
// Standard library and kernel only.
package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heepr/heepr/modules/kernel"
)

// Status is an agent's place in its life cycle. Only support suspends.
type Status string

// Statuses.
const (
	Draft     Status = "draft"
	Active    Status = "active"
	Paused    Status = "paused"
	Suspended Status = "suspended"
)

// Categories an agent may work in.
var Categories = []string{"code", "design", "video", "writing", "audio", "data", "other"}

// AcceptMode says whether new orders wait for the owner.
type AcceptMode string

// Accept modes.
const (
	AcceptAuto   AcceptMode = "auto"
	AcceptManual AcceptMode = "manual"
)

// Limits of the wizard's fields.
const (
	MinHandle, MaxHandle             = 3, 32
	MaxName                          = 80
	MaxSpecialty                     = 120
	MaxDescription                   = 5000
	MaxSkills, MaxSkillLen           = 30, 40
	MaxPlugins, MaxPluginLen         = 20, 60
	MinTiers, MaxTiers               = 1, 5
	MinPrice, MaxPrice               = 1, 1_000_000
	MinDeliveryDays, MaxDeliveryDays = 1, 90
	MaxRevisions                     = 10
	MinPolling, MaxPolling           = 15, 3600
	MaxTierName, MaxTierDescription  = 40, 1000
	MaxActiveOrdersCap               = 100
)

var handleRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Tier is one price tier.
type Tier struct {
	Name         string `json:"name"`
	Price        int64  `json:"price"`
	DeliveryDays int    `json:"delivery_days"`
	Revisions    int    `json:"revisions"`
	Description  string `json:"description"`
}

// Bands are the limits inside which an auto-mode agent starts orders at once.
type Bands struct {
	MinPrice        int64    `json:"min_price"`
	MaxPrice        int64    `json:"max_price"`
	Categories      []string `json:"categories"`
	MaxRevisions    int      `json:"max_revisions"`
	MaxActiveOrders int      `json:"max_active_orders"`
}

// Settings are everything the wizard sets; each change is a new version.
type Settings struct {
	Name                   string     `json:"name"`
	Specialty              string     `json:"specialty"`
	Description            string     `json:"description"`
	Categories             []string   `json:"categories"`
	Skills                 []string   `json:"skills"`
	Plugins                []string   `json:"plugins"`
	Tiers                  []Tier     `json:"tiers"`
	PollingIntervalSeconds int        `json:"polling_interval_seconds"`
	AcceptMode             AcceptMode `json:"accept_mode"`
	AutoBands              *Bands     `json:"auto_bands,omitempty"`
}

// ValidateHandle checks a handle's shape: 3-32 of lowercase letters,
// digits and single inner hyphens.
func ValidateHandle(f *kernel.Fields, h string) {
	switch {
	case len(h) < MinHandle || len(h) > MaxHandle:
		f.Add("handle", fmt.Sprintf("must be %d to %d characters", MinHandle, MaxHandle))
	case !handleRE.MatchString(h):
		f.Add("handle", "may hold lowercase letters, digits and single hyphens between them")
	}
}

// Normalize trims text fields and sorts and de-duplicates the lists, so two
// equal settings compare equal.
func (s *Settings) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Specialty = strings.TrimSpace(s.Specialty)
	s.Description = strings.TrimSpace(s.Description)
	s.Categories = uniq(s.Categories, strings.ToLower)
	s.Skills = uniq(s.Skills, strings.TrimSpace)
	s.Plugins = uniq(s.Plugins, strings.TrimSpace)
	for i := range s.Tiers {
		s.Tiers[i].Name = strings.TrimSpace(s.Tiers[i].Name)
		s.Tiers[i].Description = strings.TrimSpace(s.Tiers[i].Description)
	}
	if s.AutoBands != nil {
		s.AutoBands.Categories = uniq(s.AutoBands.Categories, strings.ToLower)
	}
}

func uniq(in []string, f func(string) string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(f(v)); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func textField(f *kernel.Fields, name, v string, required bool, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case required && n == 0:
		f.Add(name, "is required")
	case n > max:
		f.Add(name, fmt.Sprintf("must be at most %d characters", max))
	}
}

// Validate checks every field and reports all failures at once.
func (s Settings) Validate() error {
	var f kernel.Fields
	textField(&f, "name", s.Name, true, MaxName)
	textField(&f, "specialty", s.Specialty, true, MaxSpecialty)
	textField(&f, "description", s.Description, true, MaxDescription)
	if len(s.Categories) == 0 {
		f.Add("categories", "name at least one category")
	}
	for i, c := range s.Categories {
		if !slices.Contains(Categories, c) {
			f.Add(fmt.Sprintf("categories[%d]", i), "must be one of "+strings.Join(Categories, ", "))
		}
	}
	listField(&f, "skills", s.Skills, MaxSkills, MaxSkillLen)
	listField(&f, "plugins", s.Plugins, MaxPlugins, MaxPluginLen)
	if len(s.Tiers) < MinTiers || len(s.Tiers) > MaxTiers {
		f.Add("tiers", fmt.Sprintf("give %d to %d price tiers", MinTiers, MaxTiers))
	}
	names := map[string]bool{}
	for i, t := range s.Tiers {
		p := fmt.Sprintf("tiers[%d].", i)
		textField(&f, p+"name", t.Name, true, MaxTierName)
		if names[strings.ToLower(t.Name)] && t.Name != "" {
			f.Add(p+"name", "tier names must differ")
		}
		names[strings.ToLower(t.Name)] = true
		textField(&f, p+"description", t.Description, false, MaxTierDescription)
		if t.Price < MinPrice || t.Price > MaxPrice {
			f.Add(p+"price", fmt.Sprintf("must be %d to %d points", MinPrice, MaxPrice))
		}
		if t.DeliveryDays < MinDeliveryDays || t.DeliveryDays > MaxDeliveryDays {
			f.Add(p+"delivery_days", fmt.Sprintf("must be %d to %d days", MinDeliveryDays, MaxDeliveryDays))
		}
		if t.Revisions < 0 || t.Revisions > MaxRevisions {
			f.Add(p+"revisions", fmt.Sprintf("must be 0 to %d", MaxRevisions))
		}
	}
	if s.PollingIntervalSeconds < MinPolling || s.PollingIntervalSeconds > MaxPolling {
		f.Add("polling_interval_seconds", fmt.Sprintf("must be %d to %d seconds", MinPolling, MaxPolling))
	}
	switch s.AcceptMode {
	case AcceptManual:
		if s.AutoBands != nil {
			f.Add("auto_bands", "apply only to accept_mode auto")
		}
	case AcceptAuto:
		s.validateBands(&f)
	default:
		f.Add("accept_mode", "must be auto or manual")
	}
	return f.Err()
}

func listField(f *kernel.Fields, name string, v []string, maxItems, maxLen int) {
	if len(v) > maxItems {
		f.Add(name, fmt.Sprintf("at most %d", maxItems))
	}
	for i, s := range v {
		if utf8.RuneCountInString(s) > maxLen {
			f.Add(fmt.Sprintf("%s[%d]", name, i), fmt.Sprintf("must be at most %d characters", maxLen))
		}
	}
}

// validateBands: bands must be consistent with the tiers, or no order could
// ever start by itself.
func (s Settings) validateBands(f *kernel.Fields) {
	b := s.AutoBands
	if b == nil {
		f.Add("auto_bands", "are required with accept_mode auto")
		return
	}
	sane := true
	if b.MinPrice < 0 {
		f.Add("auto_bands.min_price", "must be at least 0")
		sane = false
	}
	if b.MaxPrice < b.MinPrice || b.MaxPrice > MaxPrice {
		f.Add("auto_bands.max_price", fmt.Sprintf("must be at least min_price and at most %d", MaxPrice))
		sane = false
	}
	// A band that holds no tier's price is checked only when the band itself
	// is well formed, so one bad bound gives one error. The band must hold a
	// tier's price, not merely overlap the span between the cheapest and the
	// dearest tier (tiers at 10 and 1000 with a band of 100-500 miss every tier).
	fits := func(t Tier) bool { return t.Price >= b.MinPrice && t.Price <= b.MaxPrice }
	if sane && len(s.Tiers) > 0 && !slices.ContainsFunc(s.Tiers, fits) {
		lo, hi := s.PriceRange()
		f.Add("auto_bands", fmt.Sprintf("the price band %d-%d misses every tier (%d-%d)", b.MinPrice, b.MaxPrice, lo, hi))
	}
	for i, c := range b.Categories {
		if !slices.Contains(s.Categories, c) {
			f.Add(fmt.Sprintf("auto_bands.categories[%d]", i), "must be one of the agent's categories")
		}
	}
	if b.MaxRevisions < 0 || b.MaxRevisions > MaxRevisions {
		f.Add("auto_bands.max_revisions", fmt.Sprintf("must be 0 to %d", MaxRevisions))
	}
	if b.MaxActiveOrders < 1 || b.MaxActiveOrders > MaxActiveOrdersCap {
		f.Add("auto_bands.max_active_orders", fmt.Sprintf("must be 1 to %d", MaxActiveOrdersCap))
	}
}

// PriceRange is the lowest and highest tier price.
func (s Settings) PriceRange() (lo, hi int64) {
	for i, t := range s.Tiers {
		if i == 0 || t.Price < lo {
			lo = t.Price
		}
		if t.Price > hi {
			hi = t.Price
		}
	}
	return lo, hi
}

// FastestDelivery is the fewest delivery days of any tier.
func (s Settings) FastestDelivery() int {
	d := 0
	for i, t := range s.Tiers {
		if i == 0 || t.DeliveryDays < d {
			d = t.DeliveryDays
		}
	}
	return d
}

// Transition moves an agent between owner-controlled statuses. Suspension
// is support's alone and cannot be left through these moves.
func Transition(from, to Status) error {
	if from == Suspended {
		return kernel.Conflict("agent-suspended", "the agent is suspended; request reinstatement from support")
	}
	switch to {
	case Active:
		return nil
	case Paused:
		if from == Draft {
			return kernel.Conflict("agent-not-published", "a draft agent cannot be paused; publish it first")
		}
		return nil
	}
	return kernel.Invalid(kernel.FieldError{Field: "status", Detail: "owners may only publish or pause"})
}

// Online reports whether an agent polled within twice its interval.
func Online(lastPoll *time.Time, interval int, now time.Time) bool {
	return lastPoll != nil && now.Sub(*lastPoll) <= 2*time.Duration(interval)*time.Second
}

// Listed reports whether browse may show an agent of this status.
func Listed(s Status) bool { return s == Active }
