package tests

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// pacedStdout is a consumer of the daemon's stdout slower than a service
// can write: it takes rate bytes per second, and keeps what it took.
type pacedStdout struct {
	rate  int
	start time.Time
	mu    sync.Mutex
	taken int
	buf   bytes.Buffer
}

func (p *pacedStdout) Write(b []byte) (int, error) {
	p.mu.Lock()
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.taken += len(b)
	due := p.start.Add(time.Duration(float64(p.taken) / float64(p.rate) * float64(time.Second)))
	p.buf.Write(b)
	p.mu.Unlock()
	time.Sleep(time.Until(due))
	return len(b), nil
}

func (p *pacedStdout) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// TestLogsStdoutBackPressure: a service floods its stdout with numbered
// lines while the consumer of the daemon's stdout (kubectl logs, in a pod)
// takes only 2 MB/s. The daemon's stdout still gets every line once and in
// order: the service is slowed down instead. Another service's lines are
// not held up behind the flood, and neither is the API.
func TestLogsStdoutBackPressure(t *testing.T) {
	const lines = 100000 // about 4 MB formatted: twice the old queue and more
	dir := newPebbleDir(t, map[string]string{"001-flood.yaml": `
services:
    flood:
        override: replace
        command: sh -c 'seq 1 ` + strconv.Itoa(lines) + `; exec sleep 1000'
    other:
        override: replace
        command: sh -c 'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo other $i; sleep 0.05; done; exec sleep 1000'
`})
	stdout := &pacedStdout{rate: 2 << 20}
	d := startDaemon(t, dir, daemonOptions{args: []string{"--verbose"}, stdout: stdout})
	d.serviceAction("start", "flood", "other")

	var slowest time.Duration
	last := fmt.Sprintf("[flood] %d\n", lines)
	testutil.WaitFor(t, 60*time.Second, func() error {
		start := time.Now()
		d.services()
		slowest = max(slowest, time.Since(start))
		if !strings.Contains(stdout.String(), last) {
			return fmt.Errorf("no line %d on stdout yet", lines)
		}
		return nil
	})

	next, others, firstOther, lastFlood := 1, 1, -1, -1
	for i, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		_, rest, ok := strings.Cut(line, " [")
		require.True(t, ok, "line %d: %q", i, line)
		switch {
		case strings.HasPrefix(rest, "flood] "):
			require.Equal(t, strconv.Itoa(next), strings.TrimPrefix(rest, "flood] "), "line %d", i)
			next++
			lastFlood = i
		case strings.HasPrefix(rest, "other] "):
			require.Equal(t, "other "+strconv.Itoa(others), strings.TrimPrefix(rest, "other] "), "line %d", i)
			if firstOther < 0 {
				firstOther = i
			}
			others++
		default:
			t.Fatalf("line %d: %q", i, line)
		}
	}
	assert.Equal(t, lines+1, next, "flood lines")
	assert.Less(t, firstOther, lastFlood, "the other service's output waited for the flood to end")
	assert.Less(t, slowest, 2*time.Second, "GET /v1/services during the flood")
	t.Logf("slowest GET /v1/services during the flood: %v", slowest)
}
