// Package email implements notification.Mailer: an SMTP adapter for
// production and a file-based capture for development.
package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/notification"
)

// Build renders e as a complete RFC 5322 message from the given sender.
// now becomes the Date header and id the local part of the Message-ID.
// It refuses header injection (CR or LF in From, To, Subject or Tag),
// an unparsable From or To address, and an empty text body.
func Build(from string, e notification.Email, now time.Time, id string) ([]byte, error) {
	for name, v := range map[string]string{"from": from, "to": e.To, "subject": e.Subject, "tag": e.Tag, "id": id} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("email: %s contains a line break", name)
		}
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email: invalid from address %q: %w", from, err)
	}
	toAddr, err := mail.ParseAddress(e.To)
	if err != nil {
		return nil, fmt.Errorf("email: invalid to address %q: %w", e.To, err)
	}
	if e.Text == "" {
		return nil, errors.New("email: empty text body")
	}

	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+id+"@"+domain(fromAddr.Address)+">")
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	if e.Tag != "" {
		header("X-Heepr-Tag", mime.QEncoding.Encode("utf-8", e.Tag))
	}
	header("MIME-Version", "1.0")

	if e.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, e.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", e.Text}, {"text/html", e.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	return qp.Close()
}

// domain returns the part of addr after the last '@'.
func domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// newID returns an identifier that sorts by time: UTC timestamp with
// nanoseconds followed by 8 random hex digits.
func newID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:])
}
