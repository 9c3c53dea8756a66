package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// waitersPerKind is how many change waits and how many notice long-polls
// are pending when SIGTERM arrives; a daemon built with -race answers
// several times slower than the second of grace allows for so many, so it
// gets a fifth of them.
func waitersPerKind() int {
	if run.Race {
		return 100
	}
	return 500
}

// waiterAnswer is what one waiter read before its connection closed.
type waiterAnswer struct {
	status int
	env    struct {
		Type   string          `json:"type"`
		Result json.RawMessage `json:"result"`
	}
	err error // the response was cut off or is not a JSON envelope
}

// TestShutdownAnswersWaiters sends SIGTERM while 500 clients wait on a
// change that is not ready and 500 long-poll notices that never come: each
// must get a well-formed answer before its connection closes (the change
// wait an error saying the daemon is stopping, the long-poll the notices so
// far: none), not a dropped connection, and the daemon must still exit
// within its shutdown budget.
func TestShutdownAnswersWaiters(t *testing.T) {
	waitersPerKind := waitersPerKind()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	need := uint64(2*waitersPerKind + 200)
	require.GreaterOrEqual(t, lim.Cur, need, "the test needs a file descriptor per waiter (ulimit -n)")

	dir := run.NewDir(t, nil)
	d := run.Start(t, dir)
	// An exec whose websockets nobody connects stays pending for its
	// 5 s connect window: a change that is not ready at SIGTERM.
	status, env := d.MustRequest("POST", "/v1/exec", map[string]any{"command": []string{"true"}})
	require.Equal(t, 202, status, env.Message())
	socket := filepath.Join(dir, ".pebble.socket")
	paths := map[string]string{
		"change": "/v1/changes/" + env.Change + "/wait?timeout=60s",
		"notice": "/v1/notices?types=custom&keys=example.com/never&timeout=60s",
	}

	answers := map[string][]chan waiterAnswer{}
	for kind, path := range paths {
		for range waitersPerKind {
			conn, err := net.Dial("unix", socket)
			require.NoError(t, err)
			t.Cleanup(func() { conn.Close() })
			_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: pebble\r\n\r\n", path)
			require.NoError(t, err)
			ch := make(chan waiterAnswer, 1)
			go func() { ch <- readAnswer(conn) }()
			answers[kind] = append(answers[kind], ch)
		}
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		// A connection the daemon has not accepted yet is reset when
		// the listener closes, request unread: that is no waiter.
		if n := acceptedConns(t, d.PID(), socket); n < 2*waitersPerKind {
			return fmt.Errorf("the daemon accepted %d of %d waiters' connections", n, 2*waitersPerKind)
		}
		return nil
	})

	start := time.Now()
	d.Signal(syscall.SIGTERM)
	assert.Equal(t, 0, d.WaitExit())
	took := time.Since(start)

	answered := map[string]int{}
	for kind, chans := range answers {
		for i, ch := range chans {
			a := <-ch
			if a.err != nil {
				if answered[kind+" dropped"] == 0 {
					t.Errorf("%s waiter %d: %v", kind, i, a.err)
				}
				answered[kind+" dropped"]++
				continue
			}
			answered[kind]++
			switch kind {
			case "change":
				var res struct {
					Message string `json:"message"`
					Ready   bool   `json:"ready"`
				}
				json.Unmarshal(a.env.Result, &res)
				if !(a.status == 200 && res.Ready) && !(a.status == 500 && res.Message == "daemon is stopping") {
					t.Errorf("change waiter %d: %d %s", i, a.status, a.env.Result)
				}
			case "notice":
				if a.status != 200 || string(a.env.Result) != "[]" {
					t.Errorf("notice waiter %d: %d %s", i, a.status, a.env.Result)
				}
			}
		}
	}
	t.Logf("figure: %d of %d waiters got a well-formed answer at SIGTERM (change waits %d/%d, notice long-polls %d/%d); shutdown took %v",
		answered["change"]+answered["notice"], 2*waitersPerKind, answered["change"], waitersPerKind, answered["notice"], waitersPerKind, took.Round(time.Millisecond))
	assert.Equal(t, waitersPerKind, answered["change"], "change waiters answered")
	assert.Equal(t, waitersPerKind, answered["notice"], "notice waiters answered")
	assert.NoFileExists(t, socket)
}

// readAnswer reads one HTTP response and its JSON envelope from conn.
func readAnswer(conn net.Conn) waiterAnswer {
	var a waiterAnswer
	conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		a.err = fmt.Errorf("no response: %w", err)
		return a
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.err = fmt.Errorf("response cut off: %w", err)
		return a
	}
	if err := json.Unmarshal(body, &a.env); err != nil || (a.env.Type != "sync" && a.env.Type != "error") {
		a.err = fmt.Errorf("not a JSON envelope: %q", body)
	}
	return a
}

// acceptedConns is how many connections to the UNIX socket at path the
// daemon pid has accepted: its file descriptors on server ends of that
// socket, which carry the path in /proc/net/unix.
func acceptedConns(t *testing.T, pid int, path string) int {
	data, err := os.ReadFile("/proc/net/unix")
	require.NoError(t, err)
	serverEnds := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path; St 03 is connected.
		f := strings.Fields(line)
		if len(f) == 8 && f[5] == "03" && f[7] == path {
			serverEnds["socket:["+f[6]+"]"] = true
		}
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && serverEnds[target] {
			n++
		}
	}
	return n
}
