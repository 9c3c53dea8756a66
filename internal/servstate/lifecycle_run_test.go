package servstate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/testutil"
)

func init() {
	// notify sends $PEBBLE_TEST_NOTIFY (with "\n" for "|") to
	// $NOTIFY_SOCKET, from a child process when $PEBBLE_TEST_CHILD is set,
	// then sleeps.
	helpers["notify"] = func() {
		if os.Getenv("PEBBLE_TEST_CHILD") == "1" {
			exe, _ := os.Executable()
			c := exec.Command(exe)
			c.Env = append(os.Environ(), "PEBBLE_TEST_CHILD=0")
			if err := c.Start(); err != nil {
				panic(err)
			}
			writePID()
			select {}
		}
		writePID()
		sendNotify(os.Getenv("NOTIFY_SOCKET"), strings.ReplaceAll(os.Getenv("PEBBLE_TEST_NOTIFY"), "|", "\n"))
		select {}
	}
}

func sendNotify(addr, msg string) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	return err
}

// notifyEnv returns the NOTIFY_SOCKET a running process was given.
func notifyEnv(t *testing.T, pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	require.NoError(t, err)
	for kv := range strings.SplitSeq(string(data), "\x00") {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	t.Fatalf("process %d has no NOTIFY_SOCKET", pid)
	return ""
}

func TestNotifyReadiness(t *testing.T) {
	svc, _ := helperService(t, "db", "notify")
	svc.Environment["PEBBLE_TEST_NOTIFY"] = "STATUS=accepting connections|READY=1"
	svc.Readiness = &plan.Readiness{Notify: true}
	f := newFixture(t, newPlan(svc), nil)
	require.NoError(t, f.m.Start(context.Background(), "db", nil))
	info := f.info(t, "db")
	assert.Equal(t, StatusActive, info.Current)
	assert.Equal(t, "ready", info.Readiness)
	assert.Equal(t, "accepting connections", info.StatusText)
	require.NoError(t, f.log.has(`Service "db" is ready`))
}

func TestNotifyFromChildProcess(t *testing.T) {
	svc, _ := helperService(t, "db", "notify")
	svc.Environment["PEBBLE_TEST_NOTIFY"] = "READY=1"
	svc.Environment["PEBBLE_TEST_CHILD"] = "1"
	svc.Readiness = &plan.Readiness{Notify: true}
	f := newFixture(t, newPlan(svc), nil)
	require.NoError(t, f.m.Start(context.Background(), "db", nil))
	assert.Equal(t, "ready", f.info(t, "db").Readiness)
}

// A datagram from a process outside the service's tree is dropped: here
// the test itself sends READY=1, and the start times out.
func TestNotifyFromStrangerIgnored(t *testing.T) {
	svc, pidfile := helperService(t, "db", "notify")
	svc.Environment["PEBBLE_TEST_NOTIFY"] = "STATUS=booting"
	svc.Readiness = &plan.Readiness{Notify: true}
	svc.StartTimeout = plan.OptionalDuration{Value: 3 * time.Second, IsSet: true}
	f := newFixture(t, newPlan(svc), nil)
	started := make(chan error, 1)
	go func() { started <- f.m.Start(context.Background(), "db", nil) }()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if info := f.info(t, "db"); info.StatusText != "booting" {
			return fmt.Errorf("status text %q", info.StatusText)
		}
		return nil
	})
	pid := readPIDs(pidfile)[0]
	require.NoError(t, sendNotify(notifyEnv(t, pid), "READY=1"))
	testutil.WaitFor(t, 5*time.Second, func() error {
		return f.log.has(fmt.Sprintf("Cannot accept notify message for service %q from PID %d: not one of its processes", "db", os.Getpid()))
	})
	assert.Equal(t, "waiting", f.info(t, "db").Readiness)
	err := <-started
	assert.EqualError(t, err, `cannot start service "db": not ready within 3s`)
	assert.Equal(t, "timed-out", f.info(t, "db").Readiness)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if processExists(pid) {
			return fmt.Errorf("process %d still runs", pid)
		}
		return nil
	})
	assert.Equal(t, StatusInactive, f.info(t, "db").Current)
}

func TestCheckReadiness(t *testing.T) {
	svc, _ := helperService(t, "db", "sleep")
	svc.Readiness = &plan.Readiness{Check: "up"}
	f := newFixture(t, newPlan(svc), nil)
	f.m.CheckSucceeded("up") // before the start: does not count
	started := make(chan error, 1)
	go func() { started <- f.m.Start(context.Background(), "db", nil) }()
	testutil.WaitFor(t, 5*time.Second, func() error {
		if r := f.info(t, "db").Readiness; r != "waiting" {
			return fmt.Errorf("readiness %q", r)
		}
		return nil
	})
	f.m.CheckSucceeded("other")
	select {
	case err := <-started:
		t.Fatalf("start ended before the check passed: %v", err)
	default:
	}
	f.m.CheckSucceeded("up")
	require.NoError(t, <-started)
	assert.Equal(t, "ready", f.info(t, "db").Readiness)
}

func TestOneshotRun(t *testing.T) {
	fail := &plan.Service{Name: "fail", Type: plan.TypeOneshot, Command: `/bin/sh -c 'echo half way; exit 3'`}
	ok := &plan.Service{Name: "ok", Type: plan.TypeOneshot, Command: `/bin/sh -c 'sleep 0.3; echo migrated'`}
	f := newFixture(t, newPlan(fail, ok), nil)
	tl := &logRecorder{t: t}

	before := time.Now()
	require.NoError(t, f.m.Start(context.Background(), "ok", tl))
	assert.GreaterOrEqual(t, time.Since(before), 300*time.Millisecond, "the start waits for the exit")
	info := f.info(t, "ok")
	assert.Equal(t, StatusInactive, info.Current)
	require.NotNil(t, info.Oneshot)
	assert.Equal(t, 0, info.Oneshot.ExitCode)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if out := f.info(t, "ok").Oneshot.Output; out != "migrated\n" {
			return fmt.Errorf("output %q", out)
		}
		return nil
	})
	// autostart and replan leave it; a start runs it again.
	require.NoError(t, f.m.StartUnlessSucceeded(context.Background(), "ok", tl))
	require.NoError(t, tl.has(`Service "ok" already succeeded, not running it again.`))
	assert.Equal(t, 1, f.info(t, "ok").StartCount)
	require.NoError(t, f.m.Start(context.Background(), "ok", tl))
	assert.Equal(t, 2, f.info(t, "ok").StartCount)

	err := f.m.Start(context.Background(), "fail", tl)
	assert.EqualError(t, err, `cannot start service "fail": exited with code 3, last output: "half way"`)
	require.NoError(t, tl.has("Most recent service output:\n    half way"))
	info = f.info(t, "fail")
	assert.Equal(t, StatusError, info.Current)
	assert.Equal(t, 3, info.Oneshot.ExitCode)
	assert.Equal(t, 1, info.StartCount, "not restarted")
	// autostart and replan run a failed one-shot again.
	assert.Error(t, f.m.StartUnlessSucceeded(context.Background(), "fail", tl))
	assert.Equal(t, 2, f.info(t, "fail").StartCount)
}
