package notification

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Notice is an in-app notification; each is also emailed (by a job).
type Notice struct {
	ID        string
	User      kernel.UserID
	Kind      string // "ordering.human_requested"
	Subject   string
	Body      string
	Link      string // a path in the web app ("/orders/…"), "" for none
	CreatedAt time.Time
	Read      bool
}

// Inbox stores in-app notifications.
type Inbox interface {
	Insert(ctx context.Context, n Notice) error
	Get(ctx context.Context, id string) (Notice, error)
	// List returns the user's notices newest first, with ids below before ("" for the newest).
	List(ctx context.Context, user kernel.UserID, before string, limit int) ([]Notice, error)
	// MarkRead marks the user's notices up to the id, and every older one, read.
	MarkRead(ctx context.Context, user kernel.UserID, upTo string, at time.Time) error
}

// EmailArgs emails one in-app notification after its transaction commits.
type EmailArgs struct {
	NotificationID string `json:"notification_id"`
}

// Kind names the job.
func (EmailArgs) Kind() string { return "notification.email" }

// WithInbox turns on in-app notifications: Notify stores a notice and
// enqueues its email in the caller's transaction.
func (s *Service) WithInbox(inbox Inbox, jobs kernel.Jobs, tx kernel.Tx, clock kernel.Clock) *Service {
	s.inbox, s.jobs, s.tx, s.clock = inbox, jobs, tx, clock
	return s
}

// Notify records a notice for the user and enqueues its email, both in
// the transaction in ctx (or a new one): a rolled-back change notifies no one.
func (s *Service) Notify(ctx context.Context, n Notice) error {
	n.ID, n.CreatedAt = kernel.NewID(), s.clock.Now()
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.inbox.Insert(ctx, n); err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
		return s.jobs.Enqueue(ctx, EmailArgs{NotificationID: n.ID})
	})
}

// List pages through the user's notices, newest first.
func (s *Service) List(ctx context.Context, user kernel.UserID, cursor string, limit int) ([]Notice, string, error) {
	before, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 20, 100)
	rows, err := s.inbox.List(ctx, user, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, limit, func(n Notice) string { return n.ID })
	return rows, next, nil
}

// EmailNotice sends the email of a stored notice (the EmailArgs worker).
// Email is at-least-once: a crash between the send and the job's
// completion sends it again.
func (s *Service) EmailNotice(ctx context.Context, id string) error {
	n, err := s.inbox.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("read notification: %w", err)
	}
	to, name, err := s.contacts.Contact(ctx, n.User)
	if err != nil {
		return fmt.Errorf("find contact: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hi %s,\n\n%s\n", name, strings.TrimSpace(n.Body))
	if n.Link != "" {
		fmt.Fprintf(&b, "\nOpen it in heepr: %s%s\n", s.cfg.BaseURL, n.Link)
	}
	fmt.Fprintf(&b, "\nQuestions about the platform? Write to %s.\n\nThe heepr team\n", s.cfg.SupportEmail)
	return s.mailer.Send(ctx, Email{To: to, Subject: n.Subject, Text: b.String(), Tag: n.Kind})
}

// MarkRead marks the user's notifications up to the id (and every older one) read.
func (s *Service) MarkRead(ctx context.Context, user kernel.UserID, upTo string) error {
	return s.inbox.MarkRead(ctx, user, upTo, s.clock.Now())
}

// SupportEmailArgs emails the support address (platform issues, stalled reviews).
type SupportEmailArgs struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Tag     string `json:"tag"`
}

// Kind names the job.
func (SupportEmailArgs) Kind() string { return "notification.support_email" }

// NotifySupport enqueues an email to the support address in the caller's transaction.
func (s *Service) NotifySupport(ctx context.Context, tag, subject, body string) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		return s.jobs.Enqueue(ctx, SupportEmailArgs{Subject: subject, Body: body, Tag: tag})
	})
}

// EmailSupport sends a support email (the SupportEmailArgs worker).
func (s *Service) EmailSupport(ctx context.Context, a SupportEmailArgs) error {
	return s.mailer.Send(ctx, Email{To: s.cfg.SupportEmail, Subject: a.Subject, Text: a.Body + "\n", Tag: a.Tag})
}
