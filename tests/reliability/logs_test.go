package reliability

import (
	"bufio"
	"context"
	"encoding/json"
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
	socket := filepath.Join(d.Dir, ".pebble.socket")
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/v1/logs?follow=true&"+query, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
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
var truncatedBytes = regexp.MustCompile(`^\(\.\.\. output truncated: (\d+) bytes lost \.\.\.\)$`)

// TestLogsFollowLongLine: a follower of a service that writes a 1 MiB line
// in one go falls behind the 100 KiB buffer. It keeps reading the line
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
	status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": []string{"big"}})
	require.Equal(t, 202, status, env.Message())
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
		if lost {
			keptAfterLoss += len(e.Message)
		}
		require.Empty(t, strings.Trim(e.Message, "x"), "an entry of the long line holds more than x's")
		kept += len(e.Message)
		pieces++
	}
	t.Logf("figure: a follower of a 1 MiB line received %d bytes (%.1f %%) in %d entries, %d of them after falling behind, and was told %d bytes were lost",
		kept, 100*float64(kept)/size, pieces, keptAfterLoss, cut)
	// What was cut may include the line's prefix, when it was overwritten
	// before the follower read it.
	assert.GreaterOrEqual(t, kept+cut, size, "bytes went missing without a word")
	assert.LessOrEqual(t, kept+cut, size+64, "more bytes counted lost than the line had")
	if lost {
		// Once behind, it reads on where the buffer starts: at least
		// the buffer's worth of the line's end.
		assert.GreaterOrEqual(t, keptAfterLoss, 64<<10, "the follower threw away the rest of the line after falling behind")
	}
	d.Stop()
}
