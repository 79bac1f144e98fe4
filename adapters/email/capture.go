package email

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/notification"
)

var _ notification.Mailer = (*Capture)(nil)

// Capture is the development Mailer: it writes every message to
// <dir>/<id>.eml instead of delivering it. Read them back with List and Show.
type Capture struct {
	dir, from string
}

// NewCapture returns a Mailer that stores messages from the given sender
// in dir, which is created (0700) on first use.
func NewCapture(dir, from string) *Capture { return &Capture{dir: dir, from: from} }

// Send writes e atomically as <dir>/<id>.eml (mode 0600), where id sorts by time.
func (c *Capture) Send(ctx context.Context, e notification.Email) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	id := newID(now)
	msg, err := Build(c.from, e, now, id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("email: capture dir: %w", err)
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*.eml") // created 0600
	if err != nil {
		return fmt.Errorf("email: capture: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(msg)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.dir, id+".eml"))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("email: capture: %w", err)
	}
	return nil
}

// Summary describes one captured message.
type Summary struct {
	ID      string
	Date    time.Time
	To      string
	Subject string
	Tag     string
}

var wordDecoder mime.WordDecoder

func decodeHeader(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// List returns the messages captured in dir, newest first. A missing dir
// yields an empty list.
func List(dir string) ([]Summary, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Summary{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("email: list: %w", err)
	}
	out := []Summary{}
	for _, de := range entries {
		name := de.Name()
		if !de.Type().IsRegular() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".eml") {
			continue
		}
		msg, err := readMessage(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		date, _ := msg.Header.Date()
		out = append(out, Summary{
			ID:      strings.TrimSuffix(name, ".eml"),
			Date:    date,
			To:      decodeHeader(msg.Header.Get("To")),
			Subject: decodeHeader(msg.Header.Get("Subject")),
			Tag:     decodeHeader(msg.Header.Get("X-Heepr-Tag")),
		})
	}
	slices.SortFunc(out, func(a, b Summary) int {
		return cmp.Or(b.Date.Compare(a.Date), strings.Compare(b.ID, a.ID))
	})
	return out, nil
}

func readMessage(path string) (*mail.Message, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("email: parse %s: %w", filepath.Base(path), err)
	}
	return msg, nil
}

// Show renders the captured message id from dir for humans: its From, To,
// Subject, Date and Tag headers followed by the decoded text/plain body.
// An unknown id yields an error wrapping fs.ErrNotExist.
func Show(dir, id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.Contains(id, "..") || strings.HasPrefix(id, ".") {
		return "", fmt.Errorf("email: invalid message id %q", id)
	}
	msg, err := readMessage(filepath.Join(dir, id+".eml"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, h := range []struct{ label, key string }{
		{"From", "From"}, {"To", "To"}, {"Subject", "Subject"}, {"Date", "Date"}, {"Tag", "X-Heepr-Tag"},
	} {
		fmt.Fprintf(&b, "%-8s %s\n", h.label+":", decodeHeader(msg.Header.Get(h.key)))
	}
	body, err := textBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return "", fmt.Errorf("email: message %s: %w", id, err)
	}
	b.WriteString("\n")
	b.WriteString(strings.ReplaceAll(body, "\r\n", "\n"))
	return b.String(), nil
}

// textBody returns the first text/plain content of a (possibly multipart)
// entity, decoding quoted-printable.
func textBody(contentType, cte string, r io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(cmp.Or(contentType, "text/plain"))
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable parts itself
			if err == io.EOF {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			s, err := textBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if err != nil || s != "" {
				return s, err
			}
		}
	}
	if mt != "text/plain" {
		return "", nil
	}
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	data, err := io.ReadAll(r)
	return string(data), err
}
