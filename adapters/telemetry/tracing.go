package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Trace exporter kinds selected from the environment.
const (
	exporterNone    = "none"
	exporterOTLP    = "otlp"
	exporterConsole = "console"
)

// SetupTracing installs a global OpenTelemetry tracer provider and a
// TraceContext+Baggage propagator according to the standard OTEL_* variables.
//
// Tracing is off by default: nothing is installed unless OTEL_TRACES_EXPORTER
// is "otlp" or "console", or it is unset and OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. OTEL_SDK_DISABLED=true always
// turns it off. The OTLP/HTTP exporter reads the remaining
// OTEL_EXPORTER_OTLP_* variables itself; "console" writes spans to stderr.
//
// The returned shutdown flushes and stops the provider; it is never nil.
func SetupTracing(ctx context.Context, service, version string) (shutdown func(context.Context) error, err error) {
	return setupTracing(ctx, service, version, os.Getenv)
}

func setupTracing(ctx context.Context, service, version string, getenv func(string) string) (func(context.Context) error, error) {
	tp, err := newTracerProvider(ctx, service, version, getenv)
	if err != nil || tp == nil {
		return func(context.Context) error { return nil }, err
	}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	return tp.Shutdown, nil
}

// TracingOn reports whether spans are recorded and exported: an SDK tracer
// provider is installed (SetupTracing found an exporter configured, or a
// test installed one). When it is off, heepr skips otelhttp's per-request
// work entirely (ADR 13).
func TracingOn() bool {
	_, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	return ok
}

// newTracerProvider builds the provider selected by the environment, or
// returns nil when tracing is off.
func newTracerProvider(ctx context.Context, service, version string, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	kind, err := traceExporterKind(getenv)
	if err != nil || kind == exporterNone {
		return nil, err
	}

	var opt sdktrace.TracerProviderOption
	switch kind {
	case exporterOTLP:
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp trace exporter: %w", err)
		}
		opt = sdktrace.WithBatcher(exp)
	case exporterConsole:
		exp, err := stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
		if err != nil {
			return nil, fmt.Errorf("telemetry: console trace exporter: %w", err)
		}
		opt = sdktrace.WithSyncer(exp)
	}

	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(
		semconv.SchemaURL,
		semconv.ServiceName(service),
		semconv.ServiceVersion(version),
	))
	if err != nil {
		return nil, fmt.Errorf("telemetry: trace resource: %w", err)
	}
	return sdktrace.NewTracerProvider(opt, sdktrace.WithResource(res)), nil
}

// traceExporterKind selects the trace exporter from the OTEL_* variables.
func traceExporterKind(getenv func(string) string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return exporterNone, nil
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); v {
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
			return exporterOTLP, nil
		}
		return exporterNone, nil
	case exporterNone, exporterOTLP, exporterConsole:
		return v, nil
	default:
		return "", fmt.Errorf("telemetry: unsupported OTEL_TRACES_EXPORTER %q (want otlp, console or none)", v)
	}
}
