// Package sqlrec records the statements heepr sends through bun, so that
// each benchmark's TestBaselineMatchesHeepr can require its baseline to send
// the very same SQL: when the store's statements change, the baseline has
// to change with them, and every ratio compares the same work.
package sqlrec

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/uptrace/bun"
)

// Recorder is a bun query hook that keeps the statements it sees while on.
type Recorder struct {
	// Raw keeps each statement as sent; otherwise it is kept as Shape
	// makes it.
	Raw bool
	// SkipTx leaves out BEGIN, COMMIT and ROLLBACK (a baseline's come from
	// its driver, not as statements).
	SkipTx bool

	mu  sync.Mutex
	on  bool
	got []string
}

// Start forgets what was recorded and records from now on.
func (r *Recorder) Start() { r.mu.Lock(); r.on, r.got = true, nil; r.mu.Unlock() }

// Stop stops recording and returns the statements, in order.
func (r *Recorder) Stop() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.got
}

// BeforeQuery is part of bun.QueryHook.
func (r *Recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

// AfterQuery is part of bun.QueryHook.
func (r *Recorder) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	if r.SkipTx {
		switch strings.ToUpper(strings.TrimSpace(ev.Query)) {
		case "BEGIN", "COMMIT", "ROLLBACK":
			return
		}
	}
	q := ev.Query
	if !r.Raw {
		q = Shape(q)
	}
	r.got = append(r.got, q)
}

var (
	reString      = regexp.MustCompile(`'(?:[^']|'')*'`)
	rePlaceholder = regexp.MustCompile(`[$?]\d+`)
	reNumber      = regexp.MustCompile(`-?\b\d+(?:\.\d+)?\b`)
	reSpace       = regexp.MustCompile(`\s+`)
)

// Shape blanks a statement's values: string and number literals and
// placeholders ($1, ?1) become ?, and runs of white space one space.
func Shape(q string) string {
	q = reString.ReplaceAllString(q, "?")
	q = rePlaceholder.ReplaceAllString(q, "?")
	q = reNumber.ReplaceAllString(q, "?")
	return strings.TrimSpace(reSpace.ReplaceAllString(q, " "))
}
