package email

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/notification"
)

const from = "Heepr <no-reply@heepr.test>"

func TestCaptureRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "mail")
	c := NewCapture(dir, from)
	ctx := context.Background()

	require.NoError(t, c.Send(ctx, notification.Email{
		To: "alice@example.com", Subject: "Welcome", Text: "Hello Alice", Tag: "identity.welcome",
	}))
	require.NoError(t, c.Send(ctx, notification.Email{
		To: "Bob <bob@example.com>", Subject: "Réinitialiser — ✓", Tag: "identity.reset",
		Text: "Cliquez ici: https://x.test/r?t=abc=def\nMerci, café", HTML: "<p>Cliquez <a href=\"https://x.test\">ici</a></p>",
	}))

	list, err := List(dir)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "Réinitialiser — ✓", list[0].Subject)
	require.Equal(t, "identity.reset", list[0].Tag)
	require.Equal(t, `"Bob" <bob@example.com>`, list[0].To)
	require.Equal(t, "Welcome", list[1].Subject)
	require.Equal(t, "identity.welcome", list[1].Tag)
	require.Less(t, list[1].ID, list[0].ID)
	require.WithinDuration(t, time.Now(), list[0].Date, time.Minute)

	out, err := Show(dir, list[0].ID)
	require.NoError(t, err)
	require.Contains(t, out, "Subject: Réinitialiser — ✓\n")
	require.Contains(t, out, "Tag:     identity.reset\n")
	require.Contains(t, out, "From:    \"Heepr\" <no-reply@heepr.test>\n")
	require.True(t, strings.HasSuffix(out, "\n\nCliquez ici: https://x.test/r?t=abc=def\nMerci, café"), out)
	require.NotContains(t, out, "<p>")

	out, err = Show(dir, list[1].ID)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(out, "\n\nHello Alice"), out)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temp files remain")
	for _, e := range entries {
		require.True(t, strings.HasSuffix(e.Name(), ".eml"))
		info, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	}
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o700), info.Mode().Perm())

	// The stored bytes are a valid RFC 5322 message.
	raw, err := os.ReadFile(filepath.Join(dir, list[0].ID+".eml"))
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, "1.0", msg.Header.Get("MIME-Version"))
	require.Contains(t, msg.Header.Get("Content-Type"), "multipart/alternative")
	require.Contains(t, msg.Header.Get("Message-ID"), "@heepr.test>")
}

func TestListMissingDir(t *testing.T) {
	t.Parallel()
	list, err := List(filepath.Join(t.TempDir(), "nope"))
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestShowRejectsBadIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, id := range []string{"../x", "a/b", `a\b`, "..", ""} {
		_, err := Show(dir, id)
		require.Error(t, err, id)
		require.False(t, errors.Is(err, fs.ErrNotExist), id)
	}
	_, err := Show(dir, "20260101T000000.000000000Z-deadbeef")
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := NewCapture(dir, from)
	for _, e := range []notification.Email{
		{To: "a@b.c\r\nBcc: x@y.z", Subject: "hi", Text: "x"},
		{To: "a@b.c", Subject: "hi\nBcc: x@y.z", Text: "x"},
		{To: "not an address", Subject: "hi", Text: "x"},
	} {
		require.Error(t, c.Send(context.Background(), e))
	}
	_, err := Build("x@y.z\r\nBcc: q@r.s", notification.Email{To: "a@b.c", Text: "x"}, time.Now(), "id")
	require.Error(t, err)
	_, err = NewSMTP("smtp://localhost:25", "x@y.z\nBcc: q@r.s")
	require.Error(t, err)

	list, err := List(dir)
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestNewSMTPValidation(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://x", "smtp://", "smtps://:465", "smtp://h?starttls=maybe", "::bad"} {
		_, err := NewSMTP(u, from)
		require.Error(t, err, u)
	}
	for _, u := range []string{"smtp://user:pass@host:587", "smtp://host:587?starttls=require", "smtps://u:p@host", "smtp://host:25"} {
		_, err := NewSMTP(u, from)
		require.NoError(t, err, u)
	}
}

// fakeSMTP is a minimal RFC 5321 server accepting one session.
type fakeSMTP struct {
	mu             sync.Mutex
	auth, mailFrom string
	rcpt           []string
	data           string
	done           chan struct{}
}

func startFakeSMTP(t *testing.T) (*fakeSMTP, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	f := &fakeSMTP{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		f.serve(conn)
	}()
	return f, ln.Addr().String()
}

func (f *fakeSMTP) serve(conn net.Conn) {
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	reply("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		f.mu.Lock()
		switch {
		case verb == "EHLO":
			reply("250-fake\r\n250-AUTH PLAIN\r\n250 SIZE 1000000")
		case strings.HasPrefix(strings.ToUpper(line), "AUTH PLAIN "):
			dec, _ := base64.StdEncoding.DecodeString(line[len("AUTH PLAIN "):])
			f.auth = string(dec)
			reply("235 2.7.0 ok")
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:"):
			f.mailFrom = line[len("MAIL FROM:"):]
			reply("250 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO:"):
			f.rcpt = append(f.rcpt, line[len("RCPT TO:"):])
			reply("250 ok")
		case verb == "DATA":
			reply("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					f.mu.Unlock()
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			f.data = b.String()
			reply("250 queued")
		case verb == "QUIT":
			reply("221 bye")
			f.mu.Unlock()
			return
		default:
			reply("502 not implemented")
		}
		f.mu.Unlock()
	}
}

func TestSMTPSend(t *testing.T) {
	t.Parallel()
	srv, addr := startFakeSMTP(t)
	// net/smtp only sends PLAIN credentials in clear to "localhost",
	// "127.0.0.1" or "::1", so the host must be given literally.
	m, err := NewSMTP("smtp://user:s3cret@"+addr, from)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.Send(ctx, notification.Email{
		To: "Zoë <zoe@example.com>", Subject: "Ünïcode ok", Text: "hi\n.leading dot", HTML: "<b>hi</b>", Tag: "t.x",
	}))
	<-srv.done

	srv.mu.Lock()
	defer srv.mu.Unlock()
	require.Equal(t, "\x00user\x00s3cret", srv.auth)
	require.Equal(t, "<no-reply@heepr.test>", strings.Fields(srv.mailFrom)[0])
	require.Equal(t, []string{"<zoe@example.com>"}, srv.rcpt)
	msg, err := mail.ReadMessage(strings.NewReader(srv.data))
	require.NoError(t, err)
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Ünïcode ok", subj)
	require.Equal(t, "t.x", msg.Header.Get("X-Heepr-Tag"))
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, "zoe@example.com", to[0].Address)
	require.Equal(t, "Zoë", to[0].Name)
	body, err := textBody(msg.Header.Get("Content-Type"), "", msg.Body)
	require.NoError(t, err)
	require.Equal(t, "hi\r\n.leading dot", body)
}

func TestSMTPDeadlinePassed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	m, err := NewSMTP("smtp://"+ln.Addr().String(), from)
	require.NoError(t, err)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	start := time.Now()
	err = m.Send(ctx, notification.Email{To: "a@b.c", Subject: "s", Text: "t"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Second)
}

func TestSMTPDeadlineDuringConversation(t *testing.T) {
	t.Parallel()
	// A server that accepts but never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		if conn, err := ln.Accept(); err == nil {
			_, _ = io.Copy(io.Discard, conn) // until the client hangs up
			conn.Close()
		}
	}()
	m, err := NewSMTP("smtp://"+ln.Addr().String(), from)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Send(ctx, notification.Email{To: "a@b.c", Subject: "s", Text: "t"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second)
}
