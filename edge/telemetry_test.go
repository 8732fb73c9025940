package edge_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/edge"
)

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

// A PUT through the edge is one trace: the edge's server span, the regional
// gateway's PutObject span as its child (the context crossed the QUIC
// link), and the metaclient's RPC spans (PREPARE/COMMIT applies) below it,
// answered by meta node server spans with a Raft Apply span each.
func TestPutIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	w := newTracedWorld(t, 1, tp)
	c := w.s3Client(w.edge, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "traced", "")
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("traced"), Key: aws.String("obj"),
		Body: bytes.NewReader(randBytes(1, 200<<10))}); err != nil {
		t.Fatal(err)
	}

	var edgeSpan, regional sdktrace.ReadOnlySpan
	var metaClient, metaServer, raftApply int
	deadline := time.Now().Add(5 * time.Second)
	for {
		edgeSpan, regional, metaClient, metaServer, raftApply = nil, nil, 0, 0, 0
		spans := rec.Ended()
		for _, s := range spans {
			if s.Name() == "edge PUT" && attr(s, "s3.key") == "obj" {
				edgeSpan = s
			}
		}
		if edgeSpan != nil {
			tid := edgeSpan.SpanContext().TraceID()
			for _, s := range spans {
				if s.SpanContext().TraceID() != tid {
					continue
				}
				switch {
				case s.Name() == "PutObject":
					regional = s
				case s.SpanKind() == trace.SpanKindClient && attr(s, "meta.op") == "apply":
					metaClient++
				case s.Name() == "metasvc POST /v1/p/{n}/apply":
					metaServer++
				case s.Name() == "raft.Apply":
					raftApply++
				}
			}
		}
		if edgeSpan != nil && regional != nil && metaClient >= 2 && metaServer >= 2 && raftApply >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if edgeSpan == nil {
		t.Fatal("no edge span for the PUT")
	}
	if regional == nil {
		t.Fatal("no regional PutObject span in the edge's trace")
	}
	if regional.Parent().SpanID() != edgeSpan.SpanContext().SpanID() || !regional.Parent().IsRemote() {
		t.Errorf("regional parent %v, want remote edge span %v", regional.Parent(), edgeSpan.SpanContext())
	}
	if got := attr(regional, "http.response.status_code"); got != "200" {
		t.Errorf("regional status attribute %q, want 200", got)
	}
	if attr(regional, "s3.bucket") != "traced" || attr(regional, "s3.request_id") == "" ||
		attr(regional, "s3.request_id") != attr(edgeSpan, "s3.request_id") {
		t.Errorf("regional attributes %v; edge %v", regional.Attributes(), edgeSpan.Attributes())
	}
	if metaClient < 2 || metaServer < 2 || raftApply < 2 {
		t.Errorf("in the trace: %d metaclient apply spans, %d metasvc apply spans, %d raft.Apply spans; want ≥ 2 each (PREPARE, COMMIT)",
			metaClient, metaServer, raftApply)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			return metricValue(m)
		}
	}
	return 0
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// Requests through an edge with a Registry move its counters: latency by
// operation, edge-answered errors by code, bucket-cache hits and misses.
func TestEdgeMetrics(t *testing.T) {
	w := newWorld(t, 1)
	reg := prometheus.NewRegistry()
	e := w.newEdge("us-east-1", func(c *edge.Config) { c.Registry = reg })
	c := w.s3Client(e, accessKey, secretKey, "us-east-1")
	createBucket(t, c, "metered", "")
	for i := 0; i < 2; i++ {
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("metered"), Key: aws.String("k"),
			Body: bytes.NewReader([]byte("hello"))}); err != nil {
			t.Fatal(err)
		}
	}
	bad := w.s3Client(e, "AKIDNOSUCHKEY", "nope", "us-east-1")
	if _, err := bad.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("metered"), Key: aws.String("k"),
		Body: bytes.NewReader([]byte("x"))}); apiCode(err) != "InvalidAccessKeyId" {
		t.Fatalf("bad key: err %v, want InvalidAccessKeyId", err)
	}

	if n := counterValue(t, reg, "meridian_edge_request_seconds", map[string]string{"operation": "PUT"}); n != 4 {
		t.Errorf("PUT latency observations = %v, want 4 (create bucket, 2 puts, rejected put)", n)
	}
	if n := counterValue(t, reg, "meridian_edge_errors_total", map[string]string{"code": "InvalidAccessKeyId"}); n != 1 {
		t.Errorf("InvalidAccessKeyId errors = %v, want 1", n)
	}
	st := e.BucketCache().Stats()
	if st.Hits == 0 {
		t.Fatalf("cache stats %+v: want hits", st)
	}
	if n := counterValue(t, reg, "meridian_edge_bucket_cache_hits_total", nil); n != float64(st.Hits) {
		t.Errorf("cache hits metric %v, want %d", n, st.Hits)
	}
	if n := counterValue(t, reg, "meridian_edge_bucket_cache_misses_total", nil); n != float64(st.Misses) {
		t.Errorf("cache misses metric %v, want %d", n, st.Misses)
	}
	if n := counterValue(t, reg, "meridian_edge_link_retries_total", nil); n != 0 {
		t.Errorf("link retries %v, want 0", n)
	}
}
