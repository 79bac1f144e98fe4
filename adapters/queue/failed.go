package queue

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/heepr/heepr/modules/kernel"
)

// FailedJobs pages through jobs waiting to retry after an error
// (retryable) and jobs given up on (discarded), newest first: support's
// view of background work that went wrong (ADR 10: River UI needs the pgx
// driver, which heepr does not use).
func (q *Queue) FailedJobs(ctx context.Context, state, cursor string, limit int) ([]*rivertype.JobRow, string, error) {
	states := []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateDiscarded}
	switch state {
	case "":
	case string(rivertype.JobStateRetryable), string(rivertype.JobStateDiscarded):
		states = []rivertype.JobState{rivertype.JobState(state)}
	default:
		return nil, "", kernel.Invalid(kernel.FieldError{Field: "state", Detail: "must be retryable or discarded"})
	}
	n := kernel.Limit(limit, 50, 200)
	list := func() *river.JobListParams {
		return river.NewJobListParams().States(states...).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	}
	params := list().First(n)
	if cursor != "" {
		c := new(river.JobListCursor)
		if err := c.UnmarshalText([]byte(cursor)); err != nil {
			return nil, "", kernel.Invalid(kernel.FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
		}
		params = params.After(c)
	}
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list failed jobs: %w", err)
	}
	// Only River's own cursor (LastCursor) can be marshaled, not one made
	// from a job: a full page asks whether a job follows its last one.
	if len(res.Jobs) < n || res.LastCursor == nil {
		return res.Jobs, "", nil
	}
	more, err := q.client.JobList(ctx, list().First(1).After(res.LastCursor))
	if err != nil {
		return nil, "", fmt.Errorf("list failed jobs: %w", err)
	}
	if len(more.Jobs) == 0 {
		return res.Jobs, "", nil
	}
	b, err := res.LastCursor.MarshalText()
	if err != nil {
		return nil, "", err
	}
	return res.Jobs, string(b), nil
}
