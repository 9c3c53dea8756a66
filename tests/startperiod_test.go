package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// startPeriodLayer is a service restarted by its check, which fails until
// the file "ready" exists; EXTRA adds to the check. Its threshold is reached
// after the okay delay (a check failing while its service starts is
// ignored).
const startPeriodLayer = `
services:
    slow:
        override: replace
        command: sleep 1000
        startup: enabled
        on-check-failure:
            up: restart
checks:
    up:
        override: replace
        period: 200ms
        threshold: 10
        exec:
            command: test -f @DIR@/ready
EXTRA`

// TestCheckStartPeriod: a failing check restarts its service at its
// threshold; the same check with a start-period fails many times over its
// threshold without restarting it, and once it has succeeded its next
// failure restarts the service.
func TestCheckStartPeriod(t *testing.T) {
	const restarted = `Service "slow" on-check-failure action is "restart", terminating process before restarting`
	t.Run("without", func(t *testing.T) {
		dir := newPebbleDir(t, map[string]string{"001-base.yaml": strings.Replace(startPeriodLayer, "EXTRA", "", 1)})
		d := startDaemon(t, dir, daemonOptions{}).withT(t)
		d.waitAutostart()
		d.waitLogLine(`Check "up" threshold 10 hit, triggering action and recovering`)
		d.waitLogLine(regexp.QuoteMeta(restarted))
		d.stop()
	})
	t.Run("with", func(t *testing.T) {
		dir := newPebbleDir(t, map[string]string{"001-base.yaml": strings.Replace(startPeriodLayer, "EXTRA", "        start-period: 1h\n", 1)})
		d := startDaemon(t, dir, daemonOptions{}).withT(t)
		d.waitAutostart()
		// Twelve failures, more than the threshold of 10: none counted.
		const uncounted = `Check "up" failure in its start-period (not counted)`
		testutil.WaitFor(t, readyTimeout, func() error {
			if n := strings.Count(d.stderr.String(), uncounted); n < 12 {
				return fmt.Errorf("%d failures in the start-period", n)
			}
			return nil
		})
		assert.NotContains(t, d.stderr.String(), restarted)
		assert.NotContains(t, d.stderr.String(), `threshold 10 hit`)
		assert.Equal(t, "active", d.serviceStatus("slow"))
		require.Equal(t, 1, strings.Count(d.stderr.String(), `Service "slow" starting`))

		// Its first success ends the start-period: the next failure counts.
		ready := filepath.Join(dir, "ready")
		writeFile(t, ready, "")
		c := d.client()
		testutil.WaitFor(t, readyTimeout, func() error {
			infos, err := c.Checks(t.Context(), &client.ChecksOptions{Names: []string{"up"}})
			if err != nil || len(infos) != 1 || infos[0].Successes == nil || *infos[0].Successes == 0 {
				return fmt.Errorf("no success yet: %v", err)
			}
			return nil
		})
		require.NoError(t, os.Remove(ready))
		d.waitLogLine(regexp.QuoteMeta(restarted))
		d.stop()
	})
}
