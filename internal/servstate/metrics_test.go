package servstate

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/metrics"
)

// TestWriteMetrics checks the services' families of GET /v1/metrics: only
// services started at least once, one block per family with a sample per
// service in name order, Pebble's two families first.
func TestWriteMetrics(t *testing.T) {
	f := newFixture(t, newPlan(sh("a", "sleep 100"), sh("b", "sleep 100"), sh("never", "sleep 100")), nil)
	text := func() string {
		var b strings.Builder
		w := metrics.NewWriter(&b)
		f.m.WriteMetrics(w)
		require.NoError(t, w.Flush())
		return b.String()
	}
	assert.Equal(t, "", text(), "no service started yet")
	ctx := context.Background()
	require.NoError(t, f.m.Start(ctx, "a", nil))
	require.NoError(t, f.m.Start(ctx, "b", nil))
	require.NoError(t, f.m.Stop(ctx, "b", nil))
	require.NoError(t, f.m.Start(ctx, "b", nil))
	require.NoError(t, f.m.Stop(ctx, "b", nil))

	out := text()
	assert.True(t, strings.HasPrefix(out, `# HELP pebble_service_active Whether the service is currently active (1) or not (0)
# TYPE pebble_service_active gauge
pebble_service_active{service="a"} 1
pebble_service_active{service="b"} 0

# HELP pebble_service_start_count Number of times the service has started
# TYPE pebble_service_start_count counter
pebble_service_start_count{service="a"} 1
pebble_service_start_count{service="b"} 2

# HELP pebble_service_cpu_seconds_total `), out)
	assert.Regexp(t, `(?m)^# TYPE pebble_service_memory_bytes gauge\npebble_service_memory_bytes\{service="a"\} [1-9]\d*\npebble_service_memory_bytes\{service="b"\} 0\n\n`, out)
	assert.Regexp(t, `(?m)^# TYPE pebble_service_processes gauge\npebble_service_processes\{service="a"\} [1-9]\npebble_service_processes\{service="b"\} 0\n\n`, out)
	assert.Regexp(t, `(?m)^# TYPE pebble_service_oom_kills_total counter\npebble_service_oom_kills_total\{service="a"\} 0\npebble_service_oom_kills_total\{service="b"\} 0\n`, out)
	assert.Regexp(t, `(?m)^# TYPE pebble_service_open_fds gauge\npebble_service_open_fds\{service="a"\} [1-9]\d*\npebble_service_open_fds\{service="b"\} 0\n\n`, out)
	for _, family := range []string{"cpu_user_seconds_total counter", "cpu_system_seconds_total counter", "memory_peak_bytes gauge",
		"io_read_bytes_total counter", "io_write_bytes_total counter"} {
		name, kind, _ := strings.Cut(family, " ")
		assert.Regexp(t, `(?m)^# TYPE pebble_service_`+name+` `+kind+`\npebble_service_`+name+`\{service="a"\} \d`, out)
	}
	assert.NotContains(t, out, "never")
	assert.NotContains(t, out, "pebble_group_", "no service is in a charge group")
	assert.Len(t, regexp.MustCompile(`(?m)^# HELP `).FindAllString(out, -1), 12)
}
