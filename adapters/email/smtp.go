package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/notification"
)

var _ notification.Mailer = (*SMTP)(nil)

// SMTP delivers mail through an SMTP server using net/smtp.
type SMTP struct {
	host, addr   string // host name, host:port
	from         string // From header value
	envelopeFrom string // bare address for MAIL FROM
	implicitTLS  bool   // smtps://
	requireTLS   bool   // ?starttls=require
	auth         bool
	user, pass   string
}

// NewSMTP parses an SMTP URL and returns a mailer sending as from.
//
//	smtp://user:pass@host:587          STARTTLS if offered, PLAIN auth
//	smtp://user:pass@host:587?starttls=require  fail unless STARTTLS is offered
//	smtps://user:pass@host:465         implicit TLS
//	smtp://host:25                     no auth
//
// The port defaults to 25 for smtp and 465 for smtps. net/smtp refuses to
// send credentials over an unencrypted connection except to localhost.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("email: invalid SMTP URL: %w", err)
	}
	s := &SMTP{from: from}
	port := "25"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicitTLS, port = true, "465"
	default:
		return nil, fmt.Errorf("email: unsupported SMTP URL scheme %q (want smtp or smtps)", u.Scheme)
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("email: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	switch st := u.Query().Get("starttls"); st {
	case "", "auto":
	case "require":
		if s.implicitTLS {
			return nil, errors.New("email: starttls=require makes no sense with smtps")
		}
		s.requireTLS = true
	default:
		return nil, fmt.Errorf("email: invalid starttls value %q (want auto or require)", st)
	}
	if u.User != nil {
		s.auth = true
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("email: from contains a line break")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email: invalid from address %q: %w", from, err)
	}
	s.envelopeFrom = a.Address
	return s, nil
}

// Send builds the message and delivers it, honouring ctx cancellation and
// deadline for the whole SMTP conversation.
func (s *SMTP) Send(ctx context.Context, e notification.Email) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	msg, err := Build(s.from, e, now, newID(now))
	if err != nil {
		return err
	}
	to, _ := mail.ParseAddress(e.To) // validated by Build

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("email: dial %s: %w", s.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Unblock any pending I/O if ctx is cancelled mid-conversation.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	defer func() { // let callers see errors.Is(err, context.DeadlineExceeded)
		if err == nil {
			return
		}
		cerr := ctx.Err()
		if dl, ok := ctx.Deadline(); cerr == nil && ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded // conn deadline fired before ctx's timer
		}
		if cerr != nil {
			err = fmt.Errorf("%w (%w)", err, cerr)
		}
	}()

	tlsConf := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.implicitTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("email: TLS handshake with %s: %w", s.addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("email: SMTP greeting from %s: %w", s.addr, err)
	}
	defer c.Close()
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("email: STARTTLS: %w", err)
			}
		} else if s.requireTLS {
			return fmt.Errorf("email: %s does not offer STARTTLS", s.addr)
		}
	}
	if s.auth {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("email: %s does not offer AUTH", s.addr)
		}
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("email: SMTP auth: %w", err)
		}
	}
	if err := c.Mail(s.envelopeFrom); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("email: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("email: writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: message rejected: %w", err)
	}
	// The message is accepted; a failed QUIT must not trigger a resend.
	_ = c.Quit()
	return nil
}
