package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

var (
	logWriterOnce sync.Once
	logWriterPath string
)

// logWriter builds bench/logwriter, the numbered-line writer of the logs
// benchmark, once.
func logWriter(t *testing.T) string {
	logWriterOnce.Do(func() {
		dir, err := os.MkdirTemp(runRoot, "logwriter-")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "logwriter")
		out, err := exec.Command("go", "build", "-o", path, "../bench/logwriter").CombinedOutput()
		if err != nil {
			t.Fatalf("cannot build logwriter: %v\n%s", err, out)
		}
		logWriterPath = path
	})
	if logWriterPath == "" {
		t.Fatal("no logwriter")
	}
	return logWriterPath
}

// truncatedLines matches the entry a follower gets where it missed lines.
var truncatedLines = regexp.MustCompile(`^\(\.\.\. output truncated: (\d+) lines? \((\d+) bytes\) lost \.\.\.\)$`)

// numberedFollow follows the logs of service (which must exist) and
// returns the messages received until the line numbered last arrived.
// pause, if not nil, is called after each message with their count so
// far; the reader stops reading while it runs.
func numberedFollow(t *testing.T, d *daemon, service string, last int, start func(), pause func(n int)) []string {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/logs?follow=true&services="+service, nil)
	require.NoError(t, err)
	// The harness's client gives up on a body after a minute.
	resp, err := (&http.Client{Transport: d.http.Transport}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	start()
	want := strconv.Itoa(last) + " "
	var msgs []string
	r := bufio.NewReaderSize(resp.Body, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		require.NoError(t, err, "after %d messages", len(msgs))
		// Only the start of the message matters: a cheap parse keeps
		// the reader fast.
		_, msg, ok := bytes.Cut(line, []byte(`"message":"`))
		require.True(t, ok, "line %q", line)
		msg, _, _ = bytes.Cut(msg[:min(len(msg), 100)], []byte(`"`))
		msgs = append(msgs, string(msg))
		if strings.HasPrefix(msgs[len(msgs)-1], want) {
			return msgs
		}
		if pause != nil {
			pause(len(msgs))
		}
	}
}

// checkNumbered checks that msgs hold the numbered lines 1 to last, each
// once and in order, or where some are missing a marker saying exactly
// how many, and returns the number of lines reported missed.
func checkNumbered(t *testing.T, msgs []string, last int) (missed int) {
	prev, afterMarker := 0, false
	for i, msg := range msgs {
		if m := truncatedLines.FindStringSubmatch(msg); m != nil {
			k, _ := strconv.Atoi(m[1])
			prev += k
			missed += k
			afterMarker = true
			continue
		}
		num, _, _ := strings.Cut(msg, " ")
		if n, err := strconv.Atoi(num); err == nil && n == prev+1 {
			prev, afterMarker = n, false
			continue
		}
		// Only right after a marker: the rest of a line whose start was
		// lost, which the marker counted.
		require.True(t, afterMarker, "message %d is %.40q, after line %d", i, msg, prev)
		afterMarker = false
	}
	require.Equal(t, last, prev)
	return missed
}

// TestLogsFollowPaced: a follower of a service writing 100-byte lines at
// 50,000 lines/s receives every line, once and in order.
func TestLogsFollowPaced(t *testing.T) {
	const lines = 100000
	dir := newPebbleDir(t, nil)
	gate := filepath.Join(dir, "go")
	writeLayers(t, dir, map[string]string{"001-writer.yaml": fmt.Sprintf(`
services:
    w:
        override: replace
        command: %s -n %d -rate 50000 -size 100 -gate %s
`, logWriter(t), lines, gate)})
	d := startDaemon(t, dir, daemonOptions{})
	d.serviceAction("start", "w")
	msgs := numberedFollow(t, d, "w", lines, func() { writeFile(t, gate, "") }, nil)
	assert.Zero(t, checkNumbered(t, msgs, lines), "lines missed")
}

// TestLogsFollowStopped: a follower that stops reading while the service
// writes 40 MB (40,000 1000-byte lines, more than the 32 MiB a followed
// buffer grows to) misses lines, and is told exactly how many: every line
// is received or counted, once, in order.
func TestLogsFollowStopped(t *testing.T) {
	const lines = 40000
	dir := newPebbleDir(t, nil)
	gate, count := filepath.Join(dir, "go"), filepath.Join(dir, "count")
	writeLayers(t, dir, map[string]string{"001-writer.yaml": fmt.Sprintf(`
services:
    w:
        override: replace
        command: %s -n %d -rate 50000 -size 1000 -gate %s -count %s
`, logWriter(t), lines, gate, count)})
	d := startDaemon(t, dir, daemonOptions{})
	d.serviceAction("start", "w")
	msgs := numberedFollow(t, d, "w", lines, func() { writeFile(t, gate, "") }, func(n int) {
		if n == 5000 {
			// The follower stops reading until the service has
			// written everything.
			testutil.WaitFor(t, time.Minute, func() error {
				_, err := os.Stat(count)
				return err
			})
		}
	})
	missed := checkNumbered(t, msgs, lines)
	assert.NotZero(t, missed, "a stopped follower missed nothing")
	t.Logf("%d messages received, %d lines reported missed", len(msgs), missed)
}

// TestLogsFloodRSSFlat: a service writing 128 MiB as fast as it can, in
// 64 KiB writes, copied to the daemon's stdout too, leaves the daemon's
// memory flat: its peak RSS grows by far less than what went through (the
// bound allows for the shadow memory of a daemon built with -race: 28 MiB
// measured with it).
func TestLogsFloodRSSFlat(t *testing.T) {
	const lines = 1 << 20 // 128-byte lines: 128 MiB
	dir := newPebbleDir(t, nil)
	gate, count := filepath.Join(dir, "go"), filepath.Join(dir, "count")
	writeLayers(t, dir, map[string]string{"001-writer.yaml": fmt.Sprintf(`
services:
    w:
        override: replace
        command: %s -n %d -block -size 128 -gate %s -count %s
`, logWriter(t), lines, gate, count)})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--verbose"}, stdout: io.Discard})
	d.serviceAction("start", "w")
	pid := d.daemonPID()
	before := procStatusField(pid, "VmHWM")
	start := time.Now()
	writeFile(t, gate, "")
	testutil.WaitFor(t, 3*time.Minute, func() error {
		_, err := os.Stat(count)
		return err
	})
	// The last line is in the buffer: everything went through.
	want := strconv.Itoa(lines) + " "
	testutil.WaitFor(t, time.Minute, func() error {
		if es := d.logs("n=1&services=w"); len(es) != 1 || !strings.HasPrefix(es[0].Message, want) {
			return fmt.Errorf("last line %v", es)
		}
		return nil
	})
	took := time.Since(start)
	after := procStatusField(pid, "VmHWM")
	t.Logf("figure: 128 MiB written in %v (%.0f MB/s); daemon peak RSS %s before, %s after", took.Round(time.Millisecond), 128*1.048576/took.Seconds(), before, after)
	var kbBefore, kbAfter int
	fmt.Sscanf(before, "%d kB", &kbBefore)
	fmt.Sscanf(after, "%d kB", &kbAfter)
	require.NotZero(t, kbBefore)
	assert.Less(t, kbAfter-kbBefore, 48<<10, "peak RSS grew by %d kB", kbAfter-kbBefore)
}

// TestLogsFollowTimeOrder: a follower of several services gets their lines
// in the order a later read of the logs returns them, in time order, even
// though one service writes each of its lines in two parts with a pause
// between them while the others write whole lines meanwhile.
func TestLogsFollowTimeOrder(t *testing.T) {
	dir := newPebbleDir(t, nil)
	const lines = 150
	wait := `while [ ! -e @DIR@/go ]; do sleep 0.01; done; `
	writeLayers(t, dir, map[string]string{"001-base.yaml": fmt.Sprintf(`
services:
    a-split:
        override: replace
        command: /bin/sh -c '%[1]s for i in $(seq 1 %[2]d); do printf "a$i-"; sleep 0.002; printf "end\n"; done; exec sleep 1000'
        startup: enabled
    b-whole:
        override: replace
        command: /bin/sh -c '%[1]s for i in $(seq 1 %[2]d); do echo "b$i"; sleep 0.001; done; exec sleep 1000'
        startup: enabled
    c-whole:
        override: replace
        command: /bin/sh -c '%[1]s for i in $(seq 1 %[2]d); do echo "c$i"; sleep 0.001; done; exec sleep 1000'
        startup: enabled
`, wait, lines)})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	f := d.follow("n=0") // following once the response began
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), nil, 0o644))

	var followed []logEntry
	for len(followed) < 3*lines {
		followed = append(followed, f.next(t).entry)
	}
	for i := 1; i < len(followed); i++ {
		require.False(t, followed[i].Time.Before(followed[i-1].Time), "%v came after %v", followed[i], followed[i-1])
	}
	assert.Equal(t, logMessages(d.logs("n=-1")), logMessages(followed), "the follower's order is the logs' time order")
}
