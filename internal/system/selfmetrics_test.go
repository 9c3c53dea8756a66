package system

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/metrics"
	"github.com/pebble-project/pebble/internal/testutil"
)

// TestSelfMetrics: the daemon's goroutines and descriptors, one gauge each;
// the descriptors follow what the process opens.
func TestSelfMetrics(t *testing.T) {
	read := func() (int, int) {
		var buf bytes.Buffer
		w := metrics.NewWriter(&buf)
		selfMetrics{}.WriteMetrics(w)
		require.NoError(t, w.Flush())
		text := buf.String()
		assert.Contains(t, text, "# HELP pebble_daemon_goroutines Number of goroutines of the daemon\n# TYPE pebble_daemon_goroutines gauge\n")
		assert.Contains(t, text, "# TYPE pebble_daemon_open_fds gauge\n")
		value := func(name string) int {
			m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(text)
			require.NotNil(t, m, "no %s sample in:\n%s", name, text)
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return value("pebble_daemon_goroutines"), value("pebble_daemon_open_fds")
	}
	goroutines, fds := read()
	assert.Positive(t, goroutines)
	assert.GreaterOrEqual(t, fds, 3, "stdin, stdout and stderr at least")
	// Other tests' descriptors may still be closing: a pipe's two show
	// between two readings made close together.
	testutil.WaitFor(t, 10*time.Second, func() error {
		_, before := read()
		r, w, err := os.Pipe()
		require.NoError(t, err)
		_, with := read()
		r.Close()
		w.Close()
		if with != before+2 {
			return fmt.Errorf("%d descriptors with a pipe, %d without", with, before)
		}
		return nil
	})
}
