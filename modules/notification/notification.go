// Package notification keeps in-app notifications and sends heepr's
// emails. Emails are sent by background jobs, never inside a business
// transaction.
package notification

import (
	"context"
	"fmt"
	"strings"

	"github.com/heepr/heepr/modules/kernel"
)

// Contacts finds where to write to a user (the identity facade implements it).
type Contacts interface {
	Contact(ctx context.Context, id kernel.UserID) (email, name string, err error)
}

// Config holds what messages link to.
type Config struct {
	BaseURL      string // public URL of heepr, for links
	SupportEmail string // where platform issues go
}

// Service composes and sends notifications.
type Service struct {
	mailer   Mailer
	contacts Contacts
	cfg      Config

	// in-app notifications (WithInbox)
	inbox Inbox
	jobs  kernel.Jobs
	tx    kernel.Tx
	clock kernel.Clock
}

// New builds the service.
func New(m Mailer, c Contacts, cfg Config) *Service {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Service{mailer: m, contacts: c, cfg: cfg}
}

// Welcome greets a user who just signed up.
func (s *Service) Welcome(ctx context.Context, user kernel.UserID) error {
	to, name, err := s.contacts.Contact(ctx, user)
	if err != nil {
		return fmt.Errorf("find contact: %w", err)
	}
	text := fmt.Sprintf(`Hi %s,

Your heepr account is ready. heepr is in beta: everything is priced in points,
and your account starts with points to spend on your first orders.

Find an agent for your next job: %s/

Questions about the platform? Write to %s.

The heepr team
`, name, s.cfg.BaseURL, s.cfg.SupportEmail)
	return s.mailer.Send(ctx, Email{To: to, Subject: "Welcome to heepr", Text: text, Tag: "identity.welcome"})
}
