package reliability

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashLoopKeepsAPIQuick measures GET /v1/services from one client,
// first with the daemon quiet and then while a service crash-loops every
// 5 ms (issue 17: a crash loop pushed the API's p99 to 59–102 ms, Pebble's
// to 11–48 ms). The criterion compares the two phases of the same daemon,
// so that a loaded machine slows both alike: the crash loop may add at
// most 25 ms to the quiet p99.
func TestCrashLoopKeepsAPIQuick(t *testing.T) {
	d := run.Start(t, run.NewDir(t, map[string]string{"001-loop.yaml": loopLayer}))
	defer d.Stop()
	starts := func() int { return strings.Count(d.Stderr(), `Service "loop" starting: `) }

	quiet := requestLatencies(t, d)

	status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": []string{"loop"}})
	require.Equal(t, 202, status, env.Message())
	testutil.WaitFor(t, 30*time.Second, func() error {
		if n := starts(); n < 5 {
			return fmt.Errorf("%d starts", n)
		}
		return nil
	})
	before := starts()
	looping := requestLatencies(t, d)
	restarts := starts() - before

	t.Logf("figure: GET /v1/services p50/p99: quiet %v/%v, crash-looping %v/%v (%d restarts during %d requests)",
		quiet.p50, quiet.p99, looping.p50, looping.p99, restarts, looping.n)
	require.Greater(t, restarts, 10, "the service did not crash-loop while the requests ran")
	assert.Less(t, looping.p99, quiet.p99+25*time.Millisecond, "a crash loop slows the API")
}

// latencies are the percentiles of a series of requests.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

// requestLatencies times up to 1,000 GET /v1/services requests made one
// after the other, for at most 5 s.
func requestLatencies(t *testing.T, d *harness.Daemon) latencies {
	t.Helper()
	var took []time.Duration
	deadline := time.Now().Add(5 * time.Second)
	for len(took) < 1000 && time.Now().Before(deadline) {
		begin := time.Now()
		status, env := d.MustRequest("GET", "/v1/services", nil)
		took = append(took, time.Since(begin))
		require.Equal(t, 200, status, env.Message())
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	at := func(q float64) time.Duration { return took[int(q*float64(len(took)-1))].Round(10 * time.Microsecond) }
	return latencies{n: len(took), p50: at(0.5), p99: at(0.99)}
}
