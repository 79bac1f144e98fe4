// Package telemetry wires heepr's observability: OpenTelemetry tracing
// configured from the standard OTEL_* environment variables, structured JSON
// logging with request/trace correlation and secret redaction, and Prometheus
// metrics for HTTP requests, background jobs and database pools.
package telemetry
