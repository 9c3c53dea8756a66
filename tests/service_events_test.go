package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

// eventBound is how soon after a service transition a waiting long-poll
// must return its notice (issue 12).
const eventBound = 100 * time.Millisecond

// polledNotice is one answer of a service-update long-poll.
type polledNotice struct {
	sent, received time.Time
	n              *client.Notice
}

// pollServiceUpdates follows the service-update notice of service with
// long-polls, as a charm would, until stop is closed.
func pollServiceUpdates(t *testing.T, c *client.Client, service string, stop <-chan struct{}) (<-chan polledNotice, <-chan struct{}) {
	out := make(chan polledNotice, 100)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	go func() {
		defer close(done)
		var after time.Time
		for {
			sent := time.Now()
			ns, err := c.WaitNotices(ctx, 10*time.Second, &client.NoticesOptions{
				Types: []client.NoticeType{client.ServiceUpdateNotice}, Keys: []string{service}, After: after,
			})
			received := time.Now()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				t.Errorf("service-update long-poll: %v", err)
				return
			}
			for _, n := range ns {
				after = n.LastRepeated
				out <- polledNotice{sent, received, n}
			}
		}
	}()
	return out, done
}

// TestServiceUpdateNotices: a long-poll waiting on a crash-looping service's
// service-update notice gets every transition (starting, started, exited
// with its code, backoff, started again, stopping, exited by SIGTERM,
// stopped) within 100 ms, timed from the process's own exit stamp, from the
// stop request, and from the times the daemon recorded.
func TestServiceUpdateNotices(t *testing.T) {
	dir := newPebbleDir(t, nil)
	// The first run stamps its exit just before exiting with code 3; the
	// second runs until stopped.
	writeScript(t, dir, "crash.sh", `
echo start >> @DIR@/runs
if [ "$(wc -l < @DIR@/runs)" -le 1 ]; then
    sleep 1.5
    echo $(date +%s%N) > @DIR@/exit-stamp
    exit 3
fi
exec sleep 1000
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    crash:
        override: replace
        command: /bin/sh @DIR@/crash.sh
        on-failure: restart
        backoff-delay: 1s
`})
	d := startDaemon(t, dir, daemonOptions{})
	c := d.client()
	stop := make(chan struct{})
	polled, done := pollServiceUpdates(t, c, "crash", stop)
	defer func() { close(stop); <-done }()

	// occurrence[i] is the first answer that counted occurrence i+1.
	var occurrence []polledNotice
	var mu sync.Mutex
	await := func(n int) {
		t.Helper()
		testutil.WaitFor(t, 20*time.Second, func() error {
			for {
				select {
				case p := <-polled:
					mu.Lock()
					for len(occurrence) < p.n.Occurrences {
						occurrence = append(occurrence, p)
					}
					mu.Unlock()
					continue
				default:
				}
				break
			}
			mu.Lock()
			defer mu.Unlock()
			if len(occurrence) < n {
				return fmt.Errorf("%d service-update occurrences seen, want %d", len(occurrence), n)
			}
			return nil
		})
	}

	require.Equal(t, "Done", d.waitChange(d.serviceAction("start", "crash")).Status)
	await(8 - 4) // starting, started, exited, backoff
	await(5)     // started again after the backoff
	require.Equal(t, "Done", d.waitChange(d.serviceAction("stop", "crash")).Status)
	await(8) // stopping, exited, stopped

	raw, err := os.ReadFile(filepath.Join(dir, "exit-stamp"))
	require.NoError(t, err)
	stamp, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	require.NoError(t, err)
	exitAt := time.Unix(0, stamp)
	want := []struct {
		event, field, value string
		stamp               time.Time // the process's own stamp of the event, if any
	}{
		{"starting", "", "", time.Time{}},
		{"started", "", "", time.Time{}},
		{"exited", "exit-code", "3", exitAt},
		{"backoff", "exit-code", "3", exitAt},
		{"started", "", "", time.Time{}},
		{"stopping", "", "", time.Time{}},
		{"exited", "signal", "SIGTERM", time.Time{}},
		{"stopped", "", "", time.Time{}},
	}
	var worst time.Duration
	var known time.Time // the recorded time of the latest occurrence seen on its own
	for i, w := range want {
		p := occurrence[i]
		// Occurrence i+1 happened at its recorded time when the answer
		// shows it as the latest; when it was coalesced with a later one,
		// after the process's stamp of it, or else at or after the
		// previous occurrence's time.
		alone := p.n.Occurrences == i+1
		if alone {
			known = p.n.LastRepeated
		} else if !w.stamp.IsZero() {
			known = w.stamp
		}
		// It reached a long-poll that was waiting for it, or was answered
		// at once to the poll sent after it.
		from := known
		if p.sent.After(from) {
			from = p.sent
		}
		delay := p.received.Sub(from)
		t.Logf("occurrence %d (%s): returned %v after the event (answer: %d occurrences, %v)", i+1, w.event, delay.Round(10*time.Microsecond), p.n.Occurrences, p.n.LastData)
		assert.Less(t, delay, eventBound, "occurrence %d (%s)", i+1, w.event)
		worst = max(worst, delay)
		if alone {
			assert.Equal(t, w.event, p.n.LastData["event"], "occurrence %d", i+1)
			if w.field != "" {
				assert.Equal(t, w.value, p.n.LastData[w.field], "occurrence %d: %v", i+1, p.n.LastData)
			}
		}
	}
	// The exit, timed from the process's own stamp taken just before it.
	exitDelay := occurrence[2].received.Sub(exitAt)
	t.Logf("process exit stamp → long-poll returned the exited notice: %v", exitDelay.Round(10*time.Microsecond))
	assert.Less(t, exitDelay, eventBound)
	t.Logf("service transition → waiting long-poll returned its notice: worst %v over %d transitions", worst.Round(10*time.Microsecond), len(want))

	// The same notice through a listing without a type filter and the CLI.
	all, err := c.Notices(t.Context(), nil)
	require.NoError(t, err)
	var found *client.Notice
	for _, n := range all {
		if n.Type == client.ServiceUpdateNotice {
			found = n
		}
	}
	require.NotNil(t, found, "service-update notice listed without a type filter: %v", all)
	assert.Equal(t, "crash", found.Key)
	assert.Nil(t, found.UserID, "service-update notices are public")
	assert.Equal(t, 8, found.Occurrences)
	assert.Equal(t, map[string]string{"event": "stopped"}, found.LastData)
	assert.Regexp(t, `(?m)^`+found.ID+` +public +service-update +crash +\S+ +\S+ +8$`, d.mustPebble("notices", "--abs-time"))
	d.stop()
}
