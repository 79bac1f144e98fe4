package domain

import "time"

// RetryDelays are the waits after each failed attempt, from the one
// before: 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h. After the
// ninth attempt (about 15 h 43 min after the first) one last attempt
// comes FinalAttemptAfter the first.
var RetryDelays = []time.Duration{
	30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
}

const (
	// FinalAttemptAfter is when, after the first attempt, the last one is made.
	FinalAttemptAfter = 24 * time.Hour
	// MaxAttempts counts every attempt of a delivery, the first included.
	MaxAttempts = 10
	// DisableAfter is how long an endpoint may fail without a single
	// success before it is disabled.
	DisableAfter = 24 * time.Hour
	// AttemptLease is how long an attempt may take before the sweep takes
	// the delivery up again (a worker that died mid-attempt).
	AttemptLease = 5 * time.Minute
	// Retention is how long the delivery log is kept.
	Retention = 30 * 24 * time.Hour
)

// NextAttempt says when to try a delivery again after its attempts-th
// attempt failed at last (first is when the first attempt was due), and
// false when that was the last one.
func NextAttempt(first, last time.Time, attempts int) (time.Time, bool) {
	switch {
	case attempts < 1 || attempts >= MaxAttempts:
		return time.Time{}, false
	case attempts <= len(RetryDelays):
		return last.Add(RetryDelays[attempts-1]), true
	}
	// The last attempt: a day after the first, and never sooner than the
	// longest wait after the one before (a late sweep drifts the schedule).
	return maxTime(first.Add(FinalAttemptAfter), last.Add(time.Minute)), true
}

// Schedule is when each attempt comes, measured from the first, when
// every attempt is made on time.
func Schedule() []time.Duration {
	out := []time.Duration{0}
	var first time.Time
	last := first
	for n := 1; ; n++ {
		next, ok := NextAttempt(first, last, n)
		if !ok {
			return out
		}
		out = append(out, next.Sub(first))
		last = next
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Outcome is what an attempt's answer means.
type Outcome int

// Outcomes.
const (
	Delivered Outcome = iota // a 2xx answer
	Gone                     // 410: the receiver asks for no more; the endpoint is disabled
	Failed                   // anything else, or no answer: try again later
)

// Judge classifies an attempt by its status (0 when no answer came).
func Judge(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == 410:
		return Gone
	}
	return Failed
}
