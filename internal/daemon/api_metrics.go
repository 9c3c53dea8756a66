package daemon

import (
	"bytes"
	"io"
	"net/http"
)

// metricsOps is the verb behind GET /v1/metrics (api.md §8).
type metricsOps interface {
	// WriteMetrics writes the metrics in the Prometheus text format.
	WriteMetrics(w io.Writer) error
}

// textResponse is a plain-text body, outside the JSON envelope.
type textResponse struct {
	status int
	body   []byte
}

func (t textResponse) write(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(t.status)
	w.Write(t.body)
}

// getMetrics serves GET /v1/metrics.
func (a *api) getMetrics(r *http.Request) response {
	var buf bytes.Buffer
	if err := a.ops.WriteMetrics(&buf); err != nil {
		a.logf("Cannot write metrics: %v", err)
		return textResponse{status: http.StatusInternalServerError, body: []byte("# internal server error\n")}
	}
	return textResponse{status: http.StatusOK, body: buf.Bytes()}
}
