package notification

import "context"

// Email is one outgoing message. Text is required; HTML is optional.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Tag names the kind of message ("identity.welcome"); adapters may record it.
	Tag string
}

// Mailer delivers an email: SMTP in production, a local capture in development.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}
