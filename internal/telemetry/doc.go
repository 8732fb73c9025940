// Package telemetry builds Meridian's OpenTelemetry tracer providers and
// carries W3C trace context (traceparent/tracestate) across HTTP hops.
//
// Nothing here touches otel's global state: callers get a
// trace.TracerProvider from NewTracerProvider and pass it explicitly through
// each part's Config (STYLE rule 5); Inject and Extract use a propagator
// value, not otel.GetTextMapPropagator. A nil provider anywhere means the
// noop provider (Provider), so tracing is off unless configured.
package telemetry
