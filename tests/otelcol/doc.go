// Package otelcol checks our OpenTelemetry log target against the real
// OpenTelemetry Collector: the collector of ./collector (the OTLP receiver
// and the file exporter, built from the Go module proxy) receives what the
// daemon forwards, beside the format-checking receiver of
// internal/logfwd/logtest, and both must have got the same entries.
//
// It is a separate module so that the root module never depends on the
// collector's code.
package otelcol
