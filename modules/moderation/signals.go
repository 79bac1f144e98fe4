package moderation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation/domain"
)

// SignalsArgs is the periodic job that opens cases from automatic signals.
type SignalsArgs struct{}

// Kind names the job.
func (SignalsArgs) Kind() string { return "moderation.signals" }

// SignalsRun says what one run opened.
type SignalsRun struct {
	MissedDeadlines, ReviewClusters int
}

// RunSignals opens cases for support from automatic signals (the periodic
// job): agents with domain.MissedDeadlineLimit or more missed deadlines in
// domain.MissedDeadlineWindow, and review clusters (domain.ClusterSize or
// more accounts younger than domain.NewAccountAge whose only orders are with
// one owner's agents, all reviewing them). A subject gets at most one case
// per window, however often the job runs; stalled owner reviews open their
// cases from ordering's timers (ReviewStalled).
func (s *Service) RunSignals(ctx context.Context) (SignalsRun, error) {
	var run SignalsRun
	now := s.clock.Now()
	counts, err := s.d.Orders.MissedDeadlines(ctx, "", now.Add(-domain.MissedDeadlineWindow), domain.MissedDeadlineLimit)
	if err != nil {
		return run, err
	}
	for _, c := range counts {
		a, err := s.d.Agents.Agent(ctx, c.AgentID)
		if err != nil {
			return run, err
		}
		opened, err := s.signal(ctx, now, domain.MissedDeadlineWindow, Case{Reason: domain.SignalMissedDeadlines,
			Subject: domain.MissedDeadlinesSubject(a.ID), AgentID: a.ID, OwnerID: a.OwnerID,
			Details: fmt.Sprintf("@%s missed %d deadlines in the last 30 days.", a.Handle, c.N)})
		if err != nil {
			return run, err
		}
		if opened {
			run.MissedDeadlines++
		}
	}

	acts, err := s.d.Orders.ReviewActivity(ctx, now.Add(-domain.NewAccountAge))
	if err != nil {
		return run, err
	}
	var ids []kernel.UserID
	for _, a := range acts {
		if a.Owners == 1 {
			ids = append(ids, a.CustomerID)
		}
	}
	joined, err := s.d.Users.SignedUpAt(ctx, ids)
	if err != nil {
		return run, err
	}
	clusters := map[kernel.UserID][]string{}
	var owners []kernel.UserID
	for _, a := range acts {
		at, ok := joined[a.CustomerID]
		if a.Owners != 1 || !ok || now.Sub(at) >= domain.NewAccountAge {
			continue
		}
		if _, seen := clusters[a.OwnerID]; !seen {
			owners = append(owners, a.OwnerID)
		}
		clusters[a.OwnerID] = append(clusters[a.OwnerID], string(a.CustomerID))
	}
	for _, owner := range owners {
		reviewers := clusters[owner]
		if len(reviewers) < domain.ClusterSize {
			continue
		}
		opened, err := s.signal(ctx, now, domain.NewAccountAge, Case{Reason: domain.SignalReviewCluster,
			Subject: domain.ReviewClusterSubject(owner), OwnerID: owner,
			Details: fmt.Sprintf("%d accounts younger than 7 days, whose only orders are with agents of owner %s, reviewed them: %s.",
				len(reviewers), owner, strings.Join(reviewers, ", "))})
		if err != nil {
			return run, err
		}
		if opened {
			run.ReviewClusters++
		}
	}
	return run, nil
}

// signal opens a signal case unless a case on its subject was opened
// within the window (or one is open).
func (s *Service) signal(ctx context.Context, now time.Time, window time.Duration, c Case) (bool, error) {
	last, err := s.d.Cases.LastOpened(ctx, c.Subject)
	if err != nil {
		return false, err
	}
	if !last.IsZero() && now.Sub(last) < window {
		return false, nil
	}
	c.ID, c.Kind, c.Status, c.OpenedAt = kernel.NewID(), domain.KindSignal, domain.CaseOpen, now
	return s.openSignal(ctx, c)
}
