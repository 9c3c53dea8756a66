package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/servstate"
)

// fixedServices is a roster of services that are all active.
type fixedServices []servstate.ServiceInfo

func (s fixedServices) AppendServices(infos []servstate.ServiceInfo, _ []string) []servstate.ServiceInfo {
	return append(infos, s...)
}

func (fixedServices) Usage([]string) []servstate.Usage { return nil }

func (fixedServices) SendSignal([]string, string) error { return nil }

// fixedPlan is a plan made once.
type fixedPlan struct{ p *plan.Plan }

func (f fixedPlan) Plan() *plan.Plan { return f.p }

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header       { return w.header }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// BenchmarkGetServices measures what the daemon adds to net/http for
// GET /v1/services from root over the socket (issue 14): routing, the
// access check, the roster's encoding and the request log line.
func BenchmarkGetServices(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprint(n, "services"), func(b *testing.B) {
			since := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
			roster := make(fixedServices, n)
			for i := range roster {
				roster[i] = servstate.ServiceInfo{Name: fmt.Sprintf("svc%04d", i), Startup: "enabled", Current: "active", CurrentSince: since}
			}
			p, err := plan.NewPlan(nil)
			require.NoError(b, err)
			d, err := New(withParts(Options{Ops: &fakeOps{}, Services: roster, Plan: fixedPlan{p}, State: &fakeState{},
				SocketPath: filepath.Join(b.TempDir(), ".pebble.socket"), LogLine: func([]byte) {}}))
			require.NoError(b, err)
			root := uint32(0)
			ctx := context.WithValue(context.Background(), callerKey{}, &caller{transport: transportUnix, peerUID: &root})
			r := httptest.NewRequest("GET", "/v1/services", nil).WithContext(ctx)
			w := discardWriter{header: http.Header{}}
			d.server.Handler.ServeHTTP(w, r)
			b.ReportAllocs()
			for b.Loop() {
				r.Body = http.NoBody // not the last request's limited body
				d.server.Handler.ServeHTTP(w, r)
			}
		})
	}
}
