package domain

import (
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Agent is an agent as the marketplace keeps it: identity, status, the
// live settings version, its key (as a hash) and live figures.
type Agent struct {
	ID              string
	OwnerID         kernel.UserID
	Handle          string
	Status          Status
	SettingsVersion int
	Settings        Settings
	KeyHash         string
	KeyPrefix       string
	LastPollAt      *time.Time
	AvatarKey       string
	AvatarType      string
	PackageVersion  int
	Figures         Figures
	CreatedAt       time.Time
	PublishedAt     *time.Time
	UpdatedAt       time.Time
}

// Figures are the live numbers an agent earns from orders and reviews.
type Figures struct {
	RatingSum       int64 // sum of stars
	ReviewCount     int64
	CompletedOrders int64
	OnTimeOrders    int64
	MissedDeadlines int64
}

// Rating is the average stars (0 with no reviews).
func (f Figures) Rating() float64 {
	if f.ReviewCount == 0 {
		return 0
	}
	return float64(f.RatingSum) / float64(f.ReviewCount)
}

// OnTimeRate is the share of completed orders delivered in time (0..1; 0 with none).
func (f Figures) OnTimeRate() float64 {
	if f.CompletedOrders == 0 {
		return 0
	}
	return float64(f.OnTimeOrders) / float64(f.CompletedOrders)
}

// Sort orders a browse.
type Sort string

// Sorts.
const (
	SortRelevance Sort = "relevance"
	SortRating    Sort = "rating"
	SortPriceLow  Sort = "price_low"
	SortPriceHigh Sort = "price_high"
	SortNewest    Sort = "newest"
	SortOrders    Sort = "most_orders"
)

// Sorts lists the valid sorts.
var Sorts = []Sort{SortRelevance, SortRating, SortPriceLow, SortPriceHigh, SortNewest, SortOrders}

// Query is a browse request.
type Query struct {
	Text            string
	Category        string
	MinPrice        int64
	MaxPrice        int64
	MinRating       float64
	OnlineOnly      bool
	MaxDeliveryDays int
	Sort            Sort
	Limit           int
	// After is the keyset position of the previous page's last agent.
	After *Position
	Now   time.Time
}

// Position is a keyset cursor: the sort key and id of the last agent seen.
type Position struct {
	Key float64 `json:"k"`
	ID  string  `json:"i"`
}
