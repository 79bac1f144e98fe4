package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestLoggerCorrelationAndRedaction(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo)

	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	ctx, span := tp.Tracer("test").Start(WithRequestID(t.Context(), "req-1"), "op")
	defer span.End()

	log.DebugContext(ctx, "dropped")
	log.With("Authorization", "Bearer x").InfoContext(ctx, "hello",
		"user", "ann",
		slog.Group("auth", "Password", "hunter2", slog.Group("creds", "X-API-Key", "k", "refresh_token", "t")),
		"headers", http.Header{"Cookie": {"a=b"}, "Accept": {"*/*"}},
	)

	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec), buf.String())
	require.Equal(t, "hello", rec["msg"])
	require.Equal(t, "req-1", rec["request_id"])
	require.Equal(t, span.SpanContext().TraceID().String(), rec["trace_id"])
	require.Equal(t, span.SpanContext().SpanID().String(), rec["span_id"])
	require.Equal(t, "ann", rec["user"])
	require.Equal(t, redacted, rec["Authorization"])
	auth := rec["auth"].(map[string]any)
	require.Equal(t, redacted, auth["Password"])
	creds := auth["creds"].(map[string]any)
	require.Equal(t, redacted, creds["X-API-Key"])
	require.Equal(t, redacted, creds["refresh_token"])
	headers := rec["headers"].(map[string]any)
	require.Equal(t, []any{redacted}, headers["Cookie"])
	require.Equal(t, []any{"*/*"}, headers["Accept"])
	require.NotContains(t, buf.String(), "hunter2")
}

func TestLoggerWithoutContextValues(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	NewLogger(&buf, slog.LevelInfo).InfoContext(t.Context(), "plain")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.NotContains(t, rec, "request_id")
	require.NotContains(t, rec, "trace_id")
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{
		"": slog.LevelInfo, "debug": slog.LevelDebug, "INFO": slog.LevelInfo,
		"warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError,
	} {
		got, err := ParseLevel(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseLevel("verbose")
	require.Error(t, err)
}

func TestNewRequestID(t *testing.T) {
	t.Parallel()
	a, b := NewRequestID(), NewRequestID()
	require.Len(t, a, 32)
	require.NotEqual(t, a, b)
}
