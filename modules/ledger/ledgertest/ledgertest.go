// Package ledgertest builds a real ledger on a test database and checks its
// invariants. Every ledger and flow test calls RequireInvariants at its end.
package ledgertest

import (
	"context"
	"testing"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
)

// New builds a ledger over db with the given amounts.
func New(db *store.DB, clock kernel.Clock, cfg ledger.Config) *ledger.Service {
	if clock == nil {
		clock = kernel.SystemClock{}
	}
	return ledger.New(db, store.NewLedger(db), clock, cfg)
}

// RequireInvariants fails the test when the ledger breaks an invariant.
func RequireInvariants(t testing.TB, l *ledger.Service) {
	t.Helper()
	if err := l.CheckInvariants(context.Background()); err != nil {
		t.Fatal(err)
	}
}
