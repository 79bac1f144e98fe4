package telemetry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestTraceExporterKind(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env     map[string]string
		want    string
		wantErr bool
	}{
		"empty":           {env: nil, want: exporterNone},
		"endpoint":        {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: exporterOTLP},
		"traces endpoint": {env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, want: exporterOTLP},
		"otlp":            {env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, want: exporterOTLP},
		"console":         {env: map[string]string{"OTEL_TRACES_EXPORTER": "Console"}, want: exporterConsole},
		"none wins":       {env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, want: exporterNone},
		"sdk disabled":    {env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, want: exporterNone},
		"unsupported":     {env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := traceExporterKind(envMap(tc.env))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	tp, err := newTracerProvider(t.Context(), "heepr", "test", envMap(nil))
	require.NoError(t, err)
	require.Nil(t, tp)

	shutdown, err := setupTracing(t.Context(), "heepr", "test", envMap(nil))
	require.NoError(t, err)
	require.NoError(t, shutdown(t.Context()))
}

func TestTracerProviderFromEnv(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "console"},
		{"OTEL_TRACES_EXPORTER": "otlp"}, // exporter construction dials nothing
	} {
		tp, err := newTracerProvider(t.Context(), "heepr", "test", envMap(env))
		require.NoError(t, err)
		require.NotNil(t, tp)

		_, span := tp.Tracer("test").Start(t.Context(), "op")
		require.True(t, span.IsRecording())
		// Not ended, so nothing is exported.

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		require.NoError(t, tp.Shutdown(ctx))
		cancel()
	}
}
