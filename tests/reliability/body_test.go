package reliability

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/tests/harness"
)

// TestHugeBodyCostBounded sends a 1 GiB body to /v1/layers, once with a
// Content-Length and once chunked, and prints how much the daemon's peak
// and current RSS grew (VmHWM, VmRSS) for each refusal, on a daemon of
// its own. Issue 17 measured
// 13 MB of growth for a request refused with 413 after 4 MiB (11 MiB
// here before the fix); what a refused request costs is bounded at 8 MiB:
// 0.1 MiB with a Content-Length, 4.5 MiB chunked.
func TestHugeBodyCostBounded(t *testing.T) {
	bound := int64(8 << 20)
	if run.Race {
		// The race detector's shadow memory multiplies the heap's cost
		// (a refused chunked body: 13 MiB, 62 MiB before the fix).
		bound *= 4
	}
	for _, chunked := range []bool{false, true} {
		name := "Content-Length"
		if chunked {
			name = "chunked"
		}
		t.Run(name, func(t *testing.T) {
			// A daemon of its own, warmed up with valid layers so that
			// the baseline holds what any request costs.
			d := run.Start(t, run.NewDir(t, nil))
			defer d.Stop()
			addLayer := func(label string) {
				status, env := d.MustRequest("POST", "/v1/layers", map[string]any{"action": "add", "label": label, "format": "yaml", "layer": "summary: " + label + "\n"})
				require.Equal(t, 200, status, env.Message())
			}
			for i := range 3 {
				addLayer(fmt.Sprintf("warm-up-%d", i))
			}
			peakBefore, rssBefore := d.PeakRSS(), rss(d)
			status, body := postHuge(t, d, 1<<30, chunked)
			assert.Equal(t, http.StatusRequestEntityTooLarge, status, body)
			assert.Contains(t, body, "request body too large: limit is 4194304 bytes")
			peak, now := d.PeakRSS()-peakBefore, rss(d)-rssBefore
			t.Logf("figure: a refused 1 GiB body (%s) grows the daemon's peak RSS by %.1f MiB, its RSS by %.1f MiB", name, mib(peak), mib(now))
			assert.Less(t, peak, bound, "a refused %s body costs the daemon too much memory", name)
			addLayer("after") // the daemon still takes valid requests
		})
	}
}

// postHuge streams a layer request of size bytes (a JSON object whose
// layer string is all 'a') to d's socket, with or without a
// Content-Length, and returns the status and body of the answer. It writes
// on a raw connection while it reads the answer, as the daemon answers
// before it has read the body.
func postHuge(t *testing.T, d *harness.Daemon, size int64, chunked bool) (int, string) {
	t.Helper()
	head := `{"action":"add","label":"huge","format":"yaml","layer":"`
	filler := &repeatReader{left: size - int64(len(head)) - 2}
	body := io.MultiReader(strings.NewReader(head), filler, strings.NewReader(`"}`))
	conn, err := net.Dial("unix", filepath.Join(d.Dir, ".pebble.socket"))
	require.NoError(t, err)
	header := fmt.Sprintf("POST /v1/layers HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", size)
	if chunked {
		header = "POST /v1/layers HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
	}
	written := make(chan error, 1)
	go func() {
		w := io.Writer(conn)
		if chunked {
			w = httputil.NewChunkedWriter(conn)
		}
		_, err := io.WriteString(conn, header)
		if err == nil {
			_, err = io.Copy(w, body)
		}
		written <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	conn.Close()
	<-written // the write fails once the daemon closes or we do
	assert.Less(t, filler.sent, size-int64(len(head)), "the daemon read the whole body")
	return resp.StatusCode, string(answer)
}

// repeatReader gives left bytes of 'a', a 64 KiB chunk at a time.
type repeatReader struct {
	left, sent int64
}

var chunk = bytes.Repeat([]byte("a"), 64<<10)

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, chunk[:min(int64(len(chunk)), r.left)])
	r.left -= int64(n)
	r.sent += int64(n)
	return n, nil
}

// rss is the daemon's current resident set size in bytes (VmRSS).
func rss(d *harness.Daemon) int64 {
	kb, _ := strconv.ParseInt(strings.TrimSuffix(harness.StatusField(d.PID(), "VmRSS"), " kB"), 10, 64)
	return kb << 10
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
