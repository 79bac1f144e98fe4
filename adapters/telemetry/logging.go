package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeKey
)

// redacted replaces the value of any attribute whose key looks secret.
const redacted = "[REDACTED]"

// secretKeyParts are matched case-insensitively (with '-' treated as '_')
// against attribute keys; a key containing any of them is redacted.
var secretKeyParts = []string{
	"password", "token", "secret", "authorization", "cookie",
	"api_key", "apikey", "signature", "set_cookie",
}

// WithRequestID returns a copy of ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// NewRequestID returns a random 128-bit request ID as 32 hex characters.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	return hex.EncodeToString(b[:])
}

// ParseLevel parses "debug", "info", "warn" (or "warning") and "error",
// case-insensitively; an empty string means info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return slog.LevelInfo, fmt.Errorf("telemetry: unknown log level %q (want debug, info, warn or error)", s)
	}
}

// NewLogger returns a logger writing JSON lines to w at the given minimum
// level. Records logged with a context get request_id (see WithRequestID)
// and, when a span is recording in the context, trace_id and span_id.
// Attributes whose key names a secret (password, token, authorization,
// cookie, api_key, ...) are logged as "[REDACTED]", also inside groups, and
// secret headers inside an http.Header value are redacted too.
//
// The correlation attributes are added to the record, so under
// Logger.WithGroup they appear inside that group.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(contextHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: redactAttr,
	})})
}

// contextHandler adds request and trace correlation from the context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			sc := span.SpanContext()
			r.AddAttrs(
				slog.String("trace_id", sc.TraceID().String()),
				slog.String("span_id", sc.SpanID().String()),
			)
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// redactAttr is a slog ReplaceAttr func; slog calls it for every non-group
// attribute, including the members of groups, with values already resolved.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if isSecretKey(a.Key) {
		return slog.String(a.Key, redacted)
	}
	if h, ok := a.Value.Any().(http.Header); ok && a.Value.Kind() == slog.KindAny {
		clean := make(http.Header, len(h))
		for k, v := range h {
			if isSecretKey(k) {
				v = []string{redacted}
			}
			clean[k] = v
		}
		a.Value = slog.AnyValue(clean)
	}
	return a
}

func isSecretKey(key string) bool {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, part := range secretKeyParts {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}
