package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// logEntry is one JSON line of GET /v1/logs.
type logEntry struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Message string    `json:"message"`
}

// followLogs opens GET /v1/logs?follow=true&<query> on d and returns its
// entries as they arrive; the channel closes when the stream ends. The
// test's end closes the stream.
func followLogs(t *testing.T, d *harness.Daemon, query string) <-chan logEntry {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/logs?follow=true&"+query, nil)
	require.NoError(t, err)
	resp, err := logsClient(d).Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	entries := make(chan logEntry, 1<<16)
	go func() {
		defer close(entries)
		defer resp.Body.Close()
		r := bufio.NewReaderSize(resp.Body, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			var e logEntry
			if json.Unmarshal(line, &e) != nil {
				e.Message = "bad JSON line: " + string(line)
			}
			select {
			case entries <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return entries
}

// logsClient returns a client of d's socket for GET /v1/logs, whose
// answer is JSON lines rather than an envelope.
func logsClient(d *harness.Daemon) *http.Client {
	socket := filepath.Join(d.Dir, ".pebble.socket")
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
}

// getLogs returns the entries of GET /v1/logs?<query> on d.
func getLogs(t *testing.T, d *harness.Daemon, query string) []logEntry {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://localhost/v1/logs?"+query, nil)
	require.NoError(t, err)
	resp, err := logsClient(d).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var entries []logEntry
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var e logEntry
		require.NoError(t, dec.Decode(&e))
		entries = append(entries, e)
	}
	return entries
}

// messages returns the messages of entries.
func messages(entries []logEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Message
	}
	return out
}

// startDir starts a daemon on a fresh $PEBBLE holding the given shell
// scripts (name → text) and a layer defining a service of each name that
// runs its script, started only on request.
func startDir(t *testing.T, scripts map[string]string) *harness.Daemon {
	t.Helper()
	dir := run.NewDir(t, nil)
	layer := "services:\n"
	for name, text := range scripts {
		script := filepath.Join(dir, name+".sh")
		require.NoError(t, os.WriteFile(script, []byte(text), 0o644))
		layer += "    " + name + ":\n        override: replace\n        command: /bin/sh " + script + "\n"
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-svc.yaml"), []byte(layer), 0o644))
	return run.Start(t, dir)
}

// startService asks d to start service and waits until it has been
// started once (so that it has a log buffer for a follower to read),
// without waiting for the change.
func startService(t *testing.T, d *harness.Daemon, service string) {
	t.Helper()
	status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": []string{service}})
	require.Equal(t, 202, status, env.Message())
	testutil.WaitFor(t, 10*time.Second, func() error {
		status, env := d.MustRequest("GET", "/v1/services?names="+service, nil)
		var services []struct {
			Current string `json:"current"`
		}
		if status != 200 || json.Unmarshal(env.Result, &services) != nil || len(services) != 1 {
			return fmt.Errorf("cannot get service %q: %d %s", service, status, env.Result)
		}
		if services[0].Current == "inactive" {
			return fmt.Errorf("service %q not started yet", service)
		}
		return nil
	})
}

// nextEntry returns the next entry of a follower, failing the test if none
// comes within 20 seconds or the stream ends.
func nextEntry(t *testing.T, entries <-chan logEntry) logEntry {
	t.Helper()
	select {
	case e, ok := <-entries:
		require.True(t, ok, "follow stream ended")
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no entry from the follow stream within 20 s")
		return logEntry{}
	}
}

// truncatedBytes matches the marker of output a reader missed.
var truncatedBytes = regexp.MustCompile(`^\(\.\.\. output truncated: \d+ lines? \((\d+) bytes\) lost \.\.\.\)$`)

// TestLogsFollowLongLine: a follower of a service that writes a 1 MiB line
// in one go may fall behind the buffer (which grows for followers, up to
// 32 MiB, but not when a follower is slower still). It keeps reading the line
// where the buffer now starts, and the markers it gets say how many bytes
// it missed: what it received and what it was told it lost add up to the
// whole line, and it receives at least the end of the line that the
// buffer still holds. Before, the first overrun threw the rest of the line
// away without a count (9-22 % kept; Pebble 42-60 %).
func TestLogsFollowLongLine(t *testing.T) {
	const size = 1 << 20
	dir := run.NewDir(t, nil)
	script := filepath.Join(dir, "big.sh")
	gate := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(script, []byte("echo ready\nwhile [ ! -e "+gate+" ]; do sleep 0.01; done\n"+
		"head -c "+strconv.Itoa(size)+" /dev/zero | tr '\\000' x\necho\necho done\nexec sleep 300\n"), 0o644))
	layer := "services:\n    big:\n        override: replace\n        command: /bin/sh " + script + "\n"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-big.yaml"), []byte(layer), 0o644))
	d := run.Start(t, dir)
	startService(t, d, "big")
	// A follower only sees services that have a buffer when it starts: the
	// service waits for it before it writes the line.
	entries := followLogs(t, d, "n=-1")
	require.Equal(t, "ready", nextEntry(t, entries).Message)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))

	kept, cut, pieces := 0, 0, 0
	keptAfterLoss := 0 // bytes of the line received after the first marker
	lost := false
	for {
		e := nextEntry(t, entries)
		require.Equal(t, "big", e.Service)
		if e.Message == "done" {
			break
		}
		if strings.HasPrefix(e.Message, "(... output truncated") {
			// Pebble's marker has no count: then nothing adds up.
			if m := truncatedBytes.FindStringSubmatch(e.Message); m != nil {
				n, _ := strconv.Atoi(m[1])
				cut += n
			}
			lost = true
			continue
		}
		// The line is stored as lines of 64 KiB, continuations marked.
		msg := strings.TrimPrefix(e.Message, "(... continued ...) ")
		if lost {
			keptAfterLoss += len(msg)
		}
		require.Empty(t, strings.Trim(msg, "x"), "an entry of the long line holds more than x's")
		kept += len(msg)
		pieces++
	}
	t.Logf("figure: a follower of a 1 MiB line received %d bytes (%.1f %%) in %d entries, %d of them after falling behind, and was told %d bytes were lost",
		kept, 100*float64(kept)/size, pieces, keptAfterLoss, cut)
	// What was cut may include the prefixes of the line's 64 KiB parts,
	// when they were overwritten before the follower read them.
	assert.GreaterOrEqual(t, kept+cut, size, "bytes went missing without a word")
	assert.LessOrEqual(t, kept+cut, size+(size/(64<<10)+1)*64, "more bytes counted lost than the line had")
	if lost {
		// Once behind, it reads on where the buffer starts: at least
		// the buffer's worth of the line's end.
		assert.GreaterOrEqual(t, keptAfterLoss, 64<<10, "the follower threw away the rest of the line after falling behind")
	}
	d.Stop()
}

// TestLogsUnterminatedLine: a running service that writes a line without
// its newline (a prompt) has it shown by GET /v1/logs and by a follower
// after a short wait; the follower gets what follows on the same line as
// its next entry, and a later reader the line whole. Before, such a line stayed invisible to every reader until its
// newline came.
func TestLogsUnterminatedLine(t *testing.T) {
	dir := run.NewDir(t, nil)
	ask, answer := filepath.Join(dir, "ask"), filepath.Join(dir, "answer")
	d := startDir(t, map[string]string{"prompt": "echo hello\n" +
		"while [ ! -e " + ask + " ]; do sleep 0.01; done\nprintf 'prompt> '\n" +
		"while [ ! -e " + answer + " ]; do sleep 0.01; done\necho answer\nexec sleep 300\n"})
	startService(t, d, "prompt")
	entries := followLogs(t, d, "n=-1")
	require.Equal(t, "hello", nextEntry(t, entries).Message)
	start := time.Now()
	require.NoError(t, os.WriteFile(ask, nil, 0o644))
	e := nextEntry(t, entries)
	took := time.Since(start)
	t.Logf("figure: a follower got an unterminated line %v after the service was told to write it", took.Round(time.Millisecond))
	assert.Less(t, took, 2*time.Second)
	assert.Equal(t, "prompt> ", e.Message)
	assert.Equal(t, "prompt", e.Service)
	assert.Equal(t, []string{"hello", "prompt> "}, messages(getLogs(t, d, "n=-1")))

	require.NoError(t, os.WriteFile(answer, nil, 0o644))
	assert.Equal(t, "answer", nextEntry(t, entries).Message)
	// A new reader finds the line whole.
	assert.Equal(t, []string{"hello", "prompt> answer"}, messages(getLogs(t, d, "n=-1")))
	d.Stop()
}

// TestLogsLastWords: services that end their output without a newline and
// exit, with a failure and with success, have those last words kept as a
// line of their own, for a follower and for GET /v1/logs, and the next run
// (the default restart) starts a new line. Before, the last words stayed
// invisible, then ran into the next run's first line.
func TestLogsLastWords(t *testing.T) {
	d := startDir(t, map[string]string{
		"fails":    "echo first\nprintf 'last words'\nexit 3\n",
		"succeeds": "echo first\nprintf 'last words'\nexit 0\n",
	})
	for _, service := range []string{"fails", "succeeds"} {
		t.Run(service, func(t *testing.T) {
			startService(t, d, service)
			entries := followLogs(t, d, "n=-1&services="+service)
			// The service restarts after each exit: wait for two runs.
			var got []string
			for len(got) < 4 {
				got = append(got, nextEntry(t, entries).Message)
			}
			t.Logf("figure: a follower of service %q read %q", service, got)
			assert.Equal(t, []string{"first", "last words", "first", "last words"}, got)
			read := messages(getLogs(t, d, "n=4&services="+service))
			assert.Equal(t, []string{"first", "last words", "first", "last words"}, read[len(read)-4:])
		})
	}
	d.Stop()
}
