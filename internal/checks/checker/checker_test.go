package checker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.MainWithReaper(m) }

// runOnce runs the checker of cfg once, cut off after timeout.
func runOnce(t *testing.T, cfg *plan.Check, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	ck := New(cfg)
	defer ck.Close()
	return ck.Check(ctx)
}

// errorText is the message and details of a check failure.
func errorText(err error) string {
	var ce *Error
	if errors.As(err, &ce) && ce.Details != "" {
		return ce.Message + "; " + ce.Details
	}
	return err.Error()
}

func httpCfg(url string, headers map[string]string) *plan.Check {
	return &plan.Check{Name: "h", HTTP: &plan.HTTPCheck{URL: url, Headers: headers}}
}

func execCfg(command string) *plan.Check {
	return &plan.Check{Name: "e", Exec: &plan.ExecCheck{Command: command}}
}

// closedPort returns a loopback port where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestHTTPCheck(t *testing.T) {
	var gotHeader, gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader, gotHost = r.Header.Get("X-Probe"), r.Host
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(204)
		case "/lines":
			w.WriteHeader(503)
			for i := 1; i <= 7; i++ {
				fmt.Fprintf(w, "line %d\n", i)
			}
		case "/big":
			w.WriteHeader(500)
			w.Write([]byte(strings.Repeat("x", 10000)))
		case "/empty":
			w.WriteHeader(404)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer srv.Close()

	require.NoError(t, runOnce(t, httpCfg(srv.URL+"/ok", map[string]string{"X-Probe": "yes", "Host": "example.test"}), time.Second))
	assert.Equal(t, "yes", gotHeader)
	assert.Equal(t, "example.test", gotHost)
	require.NoError(t, runOnce(t, httpCfg(srv.URL+"/redirect", nil), time.Second))

	err := runOnce(t, httpCfg(srv.URL+"/lines", nil), time.Second)
	assert.Equal(t, "non-2xx status code 503", err.Error())
	assert.Equal(t, "non-2xx status code 503; line 1\nline 2\nline 3\nline 4\nline 5\n(...)", errorText(err))

	err = runOnce(t, httpCfg(srv.URL+"/big", nil), time.Second)
	assert.Equal(t, "non-2xx status code 500; "+strings.Repeat("x", 512), errorText(err))

	err = runOnce(t, httpCfg(srv.URL+"/empty", nil), time.Second)
	assert.Equal(t, "non-2xx status code 404", errorText(err))
}

func TestHTTPCheckBadTargets(t *testing.T) {
	port := closedPort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	err := runOnce(t, httpCfg(url, nil), time.Second)
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf(`Get "%s": dial tcp 127.0.0.1:%d: connect: connection refused`, url, port), err.Error())

	// A name that cannot resolve fails cleanly (at the latest when the
	// timeout cuts the lookup off).
	err = runOnce(t, httpCfg("http://no-such-host.invalid/", nil), 2*time.Second)
	require.Error(t, err)
	assert.Regexp(t, `no such host|server misbehaving|deadline exceeded`, err.Error())

	err = runOnce(t, httpCfg("://bad", nil), time.Second)
	assert.ErrorContains(t, err, "cannot build request")

	// A server that accepts but never answers: cut off by the timeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	start := time.Now()
	err = runOnce(t, httpCfg("http://"+l.Addr().String()+"/", nil), 200*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := &plan.Check{Name: "t", TCP: &plan.TCPCheck{Host: "127.0.0.1", Port: port}}
	require.NoError(t, runOnce(t, cfg, time.Second))

	// The host defaults to localhost.
	cfg = &plan.Check{Name: "t", TCP: &plan.TCPCheck{Port: port}}
	if err := runOnce(t, cfg, time.Second); err != nil {
		assert.Contains(t, err.Error(), "localhost") // no IPv4 localhost here
	}

	closed := closedPort(t)
	cfg = &plan.Check{Name: "t", TCP: &plan.TCPCheck{Host: "127.0.0.1", Port: closed}}
	assert.EqualError(t, runOnce(t, cfg, time.Second), fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", closed))
}

func TestExecCheck(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, runOnce(t, execCfg("/bin/true"), time.Second))

	err := runOnce(t, execCfg(`/bin/sh -c 'for i in 1 2 3 4 5 6 7; do echo out $i; done; echo err >&2; exit 3'`), 5*time.Second)
	assert.Equal(t, "exit status 3", err.Error())
	assert.Equal(t, "exit status 3; (...)\nout 4\nout 5\nout 6\nout 7\nerr", errorText(err))

	err = runOnce(t, execCfg("/bin/false"), time.Second)
	assert.Equal(t, "exit status 1", errorText(err))

	err = runOnce(t, execCfg("no-such-command-xyz"), time.Second)
	assert.EqualError(t, err, `exec: "no-such-command-xyz": executable file not found in $PATH`)

	// Environment (the check's own on top of the daemon's) and working
	// directory.
	t.Setenv("CHECK_DAEMON_VAR", "daemon")
	cfg := execCfg(`/bin/sh -c 'echo "$CHECK_DAEMON_VAR $CHECK_VAR $(pwd)"; exit 1'`)
	cfg.Exec.Environment = map[string]string{"CHECK_VAR": "mine"}
	cfg.Exec.WorkingDir = dir
	err = runOnce(t, cfg, 5*time.Second)
	assert.Equal(t, "exit status 1; daemon mine "+dir, errorText(err))
}

// TestExecCheckContextEnvironment: a service-context's workload
// environment, then its environment-file, read at every run, then the
// check's own (envfile.Layered); a file that cannot be read fails the run
// with an error naming the file, never its content.
func TestExecCheckContextEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "svc.env")
	require.NoError(t, os.WriteFile(file, []byte("B=file\nC=file\n"), 0o600))
	cfg := execCfg(`/bin/sh -c 'echo "$A $B $C"; exit 1'`)
	cfg.Exec.ContextEnvironment = map[string]string{"A": "workload", "B": "workload", "C": "workload"}
	cfg.Exec.ContextEnvironmentFile = file
	cfg.Exec.Environment = map[string]string{"C": "own"}
	ck := New(cfg)
	defer ck.Close()
	assert.Equal(t, "exit status 1; workload file own", errorText(ck.Check(t.Context())))

	// Read again at the next run.
	require.NoError(t, os.WriteFile(file, []byte("B=rotated\n"), 0o600))
	assert.Equal(t, "exit status 1; workload rotated own", errorText(ck.Check(t.Context())))

	require.NoError(t, os.WriteFile(file, []byte("B=s3cret\ns3cret-line\n"), 0o600))
	assert.EqualError(t, ck.Check(t.Context()), `cannot read environment-file "`+file+`": line 2: expected KEY=VALUE`)

	require.NoError(t, os.Remove(file))
	assert.EqualError(t, ck.Check(t.Context()), "cannot read environment-file: open "+file+": no such file or directory")
}

func TestExecCheckTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The grandchild would outlive a kill of the shell alone.
	cfg := execCfg(`/bin/sh -c 'sleep 60 & echo $! > ` + pidFile + `; wait'`)
	start := time.Now()
	err := runOnce(t, cfg, 300*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	waitGone(t, pid)
}

func TestExecCheckSweepsGroupOnExit(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := execCfg(`/bin/sh -c 'sleep 60 > /dev/null 2>&1 & echo $! > ` + pidFile + `'`)
	require.NoError(t, runOnce(t, cfg, 5*time.Second))
	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	waitGone(t, pid)
}

// waitGone waits until pid no longer exists (the reaper collects it).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecCheckFloodOfOutput(t *testing.T) {
	// 20 MB of output: the details stay within 512 bytes and 5 lines.
	cfg := execCfg(`/bin/sh -c 'yes yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy | head -c 20000000; exit 2'`)
	err := runOnce(t, cfg, 20*time.Second)
	var ce *Error
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, "exit status 2", ce.Message)
	assert.LessOrEqual(t, len(ce.Details), maxDetailBytes+len("(...)\n"))
	assert.Equal(t, 6, strings.Count(ce.Details, "\n")+1)
	assert.True(t, strings.HasPrefix(ce.Details, "(...)\n"))
}

func TestExecCheckCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ck := New(execCfg("sleep 60"))
	done := make(chan error, 1)
	go func() { done <- ck.Check(ctx) }()
	time.AfterFunc(100*time.Millisecond, cancel)
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled exec check did not return")
	}
}

func TestExecCheckBadConfig(t *testing.T) {
	err := runOnce(t, execCfg(`echo "unclosed`), time.Second)
	assert.EqualError(t, err, "cannot parse command: EOF found when expecting closing quote")
	cfg := execCfg("/bin/true")
	cfg.Exec.User = "no-such-user-xyz"
	err = runOnce(t, cfg, time.Second)
	assert.EqualError(t, err, "user: unknown user no-such-user-xyz")
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	b.Write([]byte("abc"))
	assert.Equal(t, "abc", b.String())
	b.Write([]byte(strings.Repeat("x", 510)))
	assert.Equal(t, "bc"+strings.Repeat("x", 510), b.String())
	b.Write([]byte(strings.Repeat("y", 600)))
	assert.Equal(t, strings.Repeat("y", 512), b.String())
}

func TestDetailLines(t *testing.T) {
	assert.Equal(t, "", firstLines("  \n"))
	assert.Equal(t, "a\nb", firstLines("a\nb\n"))
	assert.Equal(t, "1\n2\n3\n4\n5\n(...)", firstLines("1\n2\n3\n4\n5\n6\n7"))
	assert.Equal(t, "1\n2\n3\n4\n5", lastLines("1\n2\n3\n4\n5\n"))
	assert.Equal(t, "(...)\n3\n4\n5\n6\n7", lastLines("1\n2\n3\n4\n5\n6\n7"))
}

func TestHTTPCheckReusesConnection(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write([]byte("part 1\n"))
			w.(http.Flusher).Flush()
			w.Write([]byte("part 2\n"))
		}
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	run := func(path string) int64 {
		before := conns.Load()
		ck := New(httpCfg(srv.URL+path, nil))
		defer ck.Close()
		assert.True(t, ck.(*httpChecker).direct)
		for i := 0; i < 5; i++ {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			require.NoError(t, ck.Check(ctx))
			cancel()
		}
		return conns.Load() - before
	}
	assert.Equal(t, int64(1), run("/"), "one connection for all runs")
	// A body of unknown length is not read on: its connection is dropped.
	assert.Equal(t, int64(5), run("/chunked"))
}

// rawServer answers every request on a connection with reply, then closes
// the connection if closeAfter is set. It counts connections.
func rawServer(t *testing.T, reply string, closeAfter bool) (addr string, conns *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	conns = &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					req.Body.Close()
					io.WriteString(c, reply)
					if closeAfter {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String(), conns
}

func TestHTTPCheckServerClosesIdleConnection(t *testing.T) {
	// The server closes each connection after its answer without saying
	// so: the next run finds the kept connection dead and redials.
	addr, conns := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true)
	ck := New(httpCfg("http://"+addr+"/", nil))
	defer ck.Close()
	for i := 0; i < 4; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		require.NoError(t, ck.Check(ctx), "run %d", i)
		cancel()
	}
	assert.Equal(t, int64(4), conns.Load())
}

func TestHTTPCheckRawAnswers(t *testing.T) {
	tests := []struct {
		reply string
		err   string
	}{
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", ""},
		{"HTTP/1.0 200 OK\r\n\r\nold server", ""},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", ""},
		{"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nbusy\n\r\n0\r\n\r\n", "non-2xx status code 503; busy"},
		{"garbage\r\n\r\n", `malformed HTTP response "garbage"`},
	}
	for _, tt := range tests {
		addr, _ := rawServer(t, tt.reply, false)
		ck := New(httpCfg("http://"+addr+"/", nil))
		for i := 0; i < 2; i++ {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			err := ck.Check(ctx)
			cancel()
			if tt.err == "" {
				assert.NoError(t, err, "%q", tt.reply)
			} else {
				require.Error(t, err, "%q", tt.reply)
				assert.Contains(t, errorText(err), tt.err)
			}
		}
		ck.Close()
	}
}

func TestHTTPCheckBodyTimeout(t *testing.T) {
	// Headers come at once, the body never ends: the run is cut off.
	addr, _ := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome", false)
	ck := New(httpCfg("http://"+addr+"/", nil))
	defer ck.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.NoError(t, ck.Check(ctx), "a 2xx answer is a success")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Nil(t, ck.(*httpChecker).conn, "the half-read connection is not kept")
}

func TestHTTPCheckCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	ck := New(httpCfg("http://"+l.Addr().String()+"/", nil))
	defer ck.Close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	err = ck.Check(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestHTTPCheckTLSGoesThroughClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ck := New(httpCfg(srv.URL, nil))
	defer ck.Close()
	assert.False(t, ck.(*httpChecker).direct)
	err := ck.Check(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Get "`+srv.URL+`": tls: failed to verify certificate`)
}

func TestExecCheckAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a check as another user")
	}
	cfg := execCfg(`/bin/sh -c 'echo "$(id -u) $(id -g) $(id -G)"; exit 1'`)
	cfg.Exec.User = "nobody"
	cfg.Exec.WorkingDir = "/"
	err := runOnce(t, cfg, 5*time.Second)
	uid, gid := 65534, 65534
	if u, lerr := user.Lookup("nobody"); lerr == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	assert.Equal(t, fmt.Sprintf("exit status 1; %d %d %d", uid, gid, gid), errorText(err), "no supplementary groups")
}
