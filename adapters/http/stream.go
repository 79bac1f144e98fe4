package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Uploads and downloads outlast the server's ReadTimeout and WriteTimeout
// (ADR 14): each moves its connection's deadline ahead while bytes move,
// by StreamIdle at a time, up to StreamMax after it began. A transfer that
// stalls for StreamIdle is cut; one that keeps moving may take an hour.
// The deadlines are the connection's (http.ResponseController), so they
// also hold while the handler waits on the client, where a context would
// not.

// answersFile reports whether an operation's success is a file (any media
// type but JSON): a download.
func answersFile(op *openapi3.Operation) bool {
	if op.Responses == nil {
		return false
	}
	for code, resp := range op.Responses.Map() {
		if !strings.HasPrefix(code, "2") || resp.Value == nil {
			continue
		}
		for mt := range resp.Value.Content {
			if mt, _, err := mime.ParseMediaType(mt); err != nil || !isJSON(mt) {
				return true
			}
		}
	}
	return false
}

// deadlines moves a connection's read or write deadline along a transfer.
type deadlines struct {
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time // StreamMax after the transfer began
	next time.Time // the deadline is moved again from then on
	set  func(*http.ResponseController, time.Time) error
}

// push moves the deadline to idle from now (not past end). It calls into
// the connection at most four times per idle period.
func (d *deadlines) push(now time.Time) {
	if now.Before(d.next) {
		return
	}
	d.next = now.Add(min(time.Second, d.idle/4))
	t := now.Add(d.idle)
	if t.After(d.end) {
		t = d.end
	}
	_ = d.set(d.rc, t) // ErrNotSupported: the server's timeouts stay
}

func setRead(rc *http.ResponseController, t time.Time) error  { return rc.SetReadDeadline(t) }
func setWrite(rc *http.ResponseController, t time.Time) error { return rc.SetWriteDeadline(t) }

// streamWriter is a download's ResponseWriter.
type streamWriter struct {
	http.ResponseWriter
	d deadlines
}

// streamWriter exempts a download from the server's timeouts: nothing more
// is read from the client (its read deadline, which would cancel the
// request when it passed, moves to the end), and each write may take up
// to StreamIdle.
func (s *Server) streamWriter(w http.ResponseWriter) http.ResponseWriter {
	now := time.Now()
	sw := &streamWriter{ResponseWriter: w, d: deadlines{rc: http.NewResponseController(w), idle: s.streamIdle,
		end: now.Add(StreamMax), set: setWrite}}
	_ = sw.d.rc.SetReadDeadline(sw.d.end)
	sw.d.push(now)
	return sw
}

func (w *streamWriter) Write(b []byte) (int, error) {
	w.d.push(time.Now())
	return w.ResponseWriter.Write(b)
}

func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *streamWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// streamReader is an upload's body.
type streamReader struct {
	io.ReadCloser
	d deadlines
}

// streamReader exempts an upload from the server's timeouts: each read
// of the body may wait up to StreamIdle for the client, and the answer,
// written once the body is in, may be written until the end.
func (s *Server) streamReader(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	now := time.Now()
	sr := &streamReader{ReadCloser: body, d: deadlines{rc: http.NewResponseController(w), idle: s.streamIdle,
		end: now.Add(StreamMax), set: setRead}}
	_ = sr.d.rc.SetWriteDeadline(sr.d.end)
	sr.d.push(now)
	return sr
}

func (r *streamReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	switch {
	case err != nil:
		// The body is over (or broken): net/http now only watches the
		// connection for the client going away, and a read deadline
		// passing would cancel the request while it is being stored.
		_ = r.d.rc.SetReadDeadline(r.d.end)
	case n > 0:
		r.d.push(time.Now())
	}
	return n, err
}
