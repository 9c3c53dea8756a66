package daemon

import (
	"bytes"
	"net/http"

	"github.com/pebble-project/pebble/internal/metrics"
)

// MetricsSource writes the metric families of one owner (servstate, checks,
// logfwd) for GET /v1/metrics (api.md §8).
type MetricsSource interface {
	WriteMetrics(w *metrics.Writer)
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

// getMetrics serves GET /v1/metrics: the sources' families, one after the
// other.
func (a *api) getMetrics(r *http.Request, cl *caller) response {
	var buf bytes.Buffer
	mw := metrics.NewWriter(&buf)
	for _, src := range a.metrics {
		src.WriteMetrics(mw)
	}
	if err := mw.Flush(); err != nil {
		a.logf("Cannot write metrics: %v", err)
		return textResponse{status: http.StatusInternalServerError, body: []byte("# internal server error\n")}
	}
	return textResponse{status: http.StatusOK, body: buf.Bytes()}
}
