package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Accept modes (the marketplace's values).
const (
	AcceptAuto   = "auto"
	AcceptManual = "manual"
)

// Bands are the limits inside which an auto-mode agent starts orders at
// once. Field for field the marketplace's Bands, so a plain conversion
// copies them.
type Bands struct {
	MinPrice        int64    `json:"min_price"`
	MaxPrice        int64    `json:"max_price"`
	Categories      []string `json:"categories"`
	MaxRevisions    int      `json:"max_revisions"`
	MaxActiveOrders int      `json:"max_active_orders"`
}

// AgentTerms are the parts of the agent's live settings an order needs;
// SettingsVersion is kept on the order as its snapshot.
type AgentTerms struct {
	AcceptMode      string
	Bands           *Bands
	Categories      []string // the agent's own categories: an empty band list means any of these
	SettingsVersion int
	PackageVersion  int // the skill package version the agent had
}

// Gate decides whether a new order for q starts at once (auto mode, inside
// every band) or waits for the owner. Reasons name each failed band, for the
// owner's queue; each starts with the band's key and a colon.
func Gate(terms AgentTerms, q Quote, activeOrders int) (start bool, reasons []string) {
	switch {
	case terms.AcceptMode == AcceptManual:
		return false, []string{"accept_mode: manual; the owner approves every order"}
	case terms.AcceptMode != AcceptAuto:
		return false, []string{fmt.Sprintf("accept_mode: unknown mode %q; the owner decides", terms.AcceptMode)}
	case terms.Bands == nil:
		return false, []string{"accept_mode: auto without bands; the owner decides"}
	}
	b := terms.Bands
	if p := int64(q.Price); p < b.MinPrice || p > b.MaxPrice {
		reasons = append(reasons, fmt.Sprintf("price: %d points is outside the band %d-%d", p, b.MinPrice, b.MaxPrice))
	}
	cats := b.Categories
	if len(cats) == 0 {
		cats = terms.Categories
	}
	if !slices.Contains(cats, q.Category) {
		reasons = append(reasons, fmt.Sprintf("categories: %q is not among %s", q.Category, strings.Join(cats, ", ")))
	}
	if q.Revisions > b.MaxRevisions {
		reasons = append(reasons, fmt.Sprintf("max_revisions: %d revisions exceed the cap of %d", q.Revisions, b.MaxRevisions))
	}
	if activeOrders >= b.MaxActiveOrders {
		reasons = append(reasons, fmt.Sprintf("max_active_orders: %d orders in progress reach the cap of %d", activeOrders, b.MaxActiveOrders))
	}
	return len(reasons) == 0, reasons
}
