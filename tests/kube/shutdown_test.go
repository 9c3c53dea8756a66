package kube

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logTime matches the time at the start of a daemon log line.
var logTime = regexp.MustCompile(`^(\S+Z) `)

// shutdownProblem checks the workload daemon's log of its shutdown: db got
// SIGTERM only once web (which requires it, and takes 0.3 s to stop) had
// stopped, and the service ignoring SIGTERM was killed at its kill-delay
// (3 s). It returns what is wrong, or nil.
func shutdownProblem(log string) error {
	events := []string{
		"Exiting on terminated signal.", "Stopping all running services.",
		"web stopping", `Service "web" stopped`, "db stopping", `Service "db" stopped`,
		"stubborn ignores SIGTERM", `Service "stubborn" stopped`,
	}
	times := map[string]time.Time{}
	for _, line := range strings.Split(log, "\n") {
		m := logTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return fmt.Errorf("log line %q: %v", line, err)
		}
		for _, event := range events {
			if strings.HasSuffix(line, event) {
				times[event] = at
			}
		}
	}
	for _, event := range events {
		if _, ok := times[event]; !ok {
			return fmt.Errorf("no %q in the log", event)
		}
	}
	if times["db stopping"].Before(times[`Service "web" stopped`]) {
		return errors.New("db got SIGTERM before web had stopped")
	}
	killedAfter := times[`Service "stubborn" stopped`].Sub(times["stubborn ignores SIGTERM"])
	if killedAfter < 2900*time.Millisecond || killedAfter >= 4500*time.Millisecond {
		return fmt.Errorf("stubborn service stopped %v after SIGTERM, want its kill-delay of 3s", killedAfter)
	}
	return nil
}

// shutdownLog is the end of a workload log of TestPod.
const shutdownLog = `2026-12-02T04:07:09.507Z [pebble] Exiting on terminated signal.
2026-12-02T04:07:09.507Z [pebble] Stopping all running services.
2026-12-02T04:07:09.547Z [stubborn] Terminated
2026-12-02T04:07:09.547Z [stubborn] stubborn ignores SIGTERM
2026-12-02T04:07:09.564Z [web] Terminated
2026-12-02T04:07:09.564Z [web] web stopping
2026-12-02T04:07:09.927Z [pebble] Service "web" stopped
2026-12-02T04:07:09.940Z [db] Terminated
2026-12-02T04:07:09.940Z [db] db stopping
2026-12-02T04:07:09.941Z [pebble] Service "db" stopped
2026-12-02T04:07:12.553Z [pebble] Service "stubborn" stopped
`

// TestShutdownProblem checks that the pod test's reading of the shutdown
// log accepts a good shutdown and catches each kind of bad one.
func TestShutdownProblem(t *testing.T) {
	require.NoError(t, shutdownProblem(shutdownLog))
	bad := map[string]string{
		// db signalled together with web, as a daemon would that stopped
		// all services at once.
		"db got SIGTERM before web had stopped": strings.Replace(shutdownLog, "09.940Z [db] db stopping", "09.565Z [db] db stopping", 1),
		// stubborn killed at once, or only at the fail-delay.
		"stubborn service stopped 6ms after SIGTERM":     strings.Replace(shutdownLog, "12.553Z [pebble] Service \"stubborn\"", "09.553Z [pebble] Service \"stubborn\"", 1),
		"stubborn service stopped 5.006s after SIGTERM":  strings.Replace(shutdownLog, "12.553Z [pebble] Service \"stubborn\"", "14.553Z [pebble] Service \"stubborn\"", 1),
		`no "Stopping all running services." in the log`: strings.Replace(shutdownLog, "Stopping all running services.", "", 1),
	}
	for want, log := range bad {
		err := shutdownProblem(log)
		require.Error(t, err, want)
		require.Contains(t, err.Error(), want)
	}
}
