package logger

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLineFormat: every line is the timestamp, "[pebble]" and the message
// with exactly one newline, whichever way it is written.
func TestLineFormat(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, false)
	l.now = func() time.Time { return time.Date(2026, 1, 20, 2, 18, 26, 921500000, time.FixedZone("X", 3600)) }
	l.Noticef("Started %s.\n\n", "daemon")
	l.Notice([]byte("GET /v1/services 1.2ms 200 (http+unix)"))
	l.Debugf("hidden")
	l.SecurityEvent("WARN", "authz_admin:0,add_layer", "Adding layer x")
	assert.Equal(t, "2026-01-20T01:18:26.921Z [pebble] Started daemon.\n"+
		"2026-01-20T01:18:26.921Z [pebble] GET /v1/services 1.2ms 200 (http+unix)\n"+
		`2026-01-20T01:18:26.921Z [pebble] {"type":"security","datetime":"2026-01-20T01:18:26Z","level":"WARN","event":"authz_admin:0,add_layer","description":"Adding layer x","appid":"pebble"}`+"\n",
		out.String())

	out.Reset()
	l.debug = true
	l.Debugf("shown %d", 1)
	assert.Equal(t, "2026-01-20T01:18:26.921Z [pebble] DEBUG shown 1\n", out.String())
}

// TestStamp: the timestamp is TimeFormat in UTC, also across seconds
// (the text of each second is kept for the lines that follow in it).
func TestStamp(t *testing.T) {
	l := New(nil, false)
	base := time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)
	for _, d := range []time.Duration{0, 7 * time.Millisecond, 999 * time.Millisecond, time.Second, 1999 * time.Millisecond, 2*time.Second + 50*time.Millisecond, -time.Hour} {
		at := base.Add(d).In(time.FixedZone("X", -7200))
		assert.Equal(t, at.UTC().Format(TimeFormat), string(l.appendStamp(nil, at)), "%v", d)
	}
}

// TestLinesWhole: lines written at once from many goroutines come out
// whole, each in one write.
func TestLinesWhole(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for range 50 {
				l.Noticef("%s", strings.Repeat(string(rune('a'+i)), 100+i))
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Len(t, got, 1000)
	for _, line := range got {
		_, msg, ok := strings.Cut(line, " [pebble] ")
		if assert.True(t, ok, line) {
			assert.Equal(t, strings.Repeat(msg[:1], 100+int(msg[0]-'a')), msg)
		}
	}
}
