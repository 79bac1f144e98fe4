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
	params := river.NewJobListParams().States(states...).OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(n + 1)
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
	jobs, next := res.Jobs, ""
	if len(jobs) > n {
		jobs = jobs[:n]
		b, err := river.JobListCursorFromJob(jobs[n-1]).MarshalText()
		if err != nil {
			return nil, "", err
		}
		next = string(b)
	}
	return jobs, next, nil
}
