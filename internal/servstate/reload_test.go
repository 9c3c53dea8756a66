package servstate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReloadSignal: reload-signal reaches the running process, which keeps
// its PID and state.
func TestReloadSignal(t *testing.T) {
	svc, _ := helperService(t, "svc", "signals")
	svc.ReloadSignal = "SIGHUP"
	f := newFixture(t, newPlan(svc), nil)
	ctx := context.Background()
	require.NoError(t, f.m.Start(ctx, "svc", nil))
	waitLine(t, f.m.Buffer("svc"), "ready")
	pid := f.info(t, "svc").PID

	require.NoError(t, f.m.CanReload("svc"))
	tl := &logRecorder{t: t}
	require.NoError(t, f.m.Reload(ctx, "svc", tl))
	waitLine(t, f.m.Buffer("svc"), "got SIGHUP")
	assert.NoError(t, tl.has(`Sent SIGHUP to service "svc"`))
	assert.NoError(t, f.log.has(`Sending SIGHUP to service "svc" to reload it`))
	info := f.info(t, "svc")
	assert.Equal(t, pid, info.PID)
	assert.Equal(t, StatusActive, info.Current)
	assert.Equal(t, 1, info.StartCount)
}

// TestReloadCommand: reload-command runs with the service's environment
// and working directory; the service keeps its PID. A failing command fails
// the reload with its exit code and output.
func TestReloadCommand(t *testing.T) {
	dir := t.TempDir()
	svc, _ := helperService(t, "svc", "sleep")
	svc.Environment["MARK"] = "m1"
	svc.WorkingDir = dir
	svc.ReloadCommand = `/bin/sh -c 'echo "$MARK $(pwd)" > reloaded'`
	bad, _ := helperService(t, "bad", "sleep")
	bad.ReloadCommand = `/bin/sh -c 'echo line1; echo bad config >&2; exit 3'`
	f := newFixture(t, newPlan(svc, bad), nil)
	ctx := context.Background()
	require.NoError(t, f.m.Start(ctx, "svc", nil))
	pid := f.info(t, "svc").PID

	tl := &logRecorder{t: t}
	require.NoError(t, f.m.Reload(ctx, "svc", tl))
	data, err := os.ReadFile(filepath.Join(dir, "reloaded"))
	require.NoError(t, err)
	assert.Equal(t, "m1 "+dir+"\n", string(data))
	assert.NoError(t, tl.has(`Service "svc" reload-command exited with code 0`))
	assert.Equal(t, pid, f.info(t, "svc").PID)

	require.NoError(t, f.m.Start(ctx, "bad", nil))
	tl = &logRecorder{t: t}
	err = f.m.Reload(ctx, "bad", tl)
	assert.EqualError(t, err, `cannot reload service "bad": reload-command exited with code 3; its last output line: bad config`)
	assert.NoError(t, tl.has("Most recent service output:\n    line1\n    bad config"))
	assert.Equal(t, StatusActive, f.info(t, "bad").Current)
}

// TestReloadAbort: cancelling the reload kills a reload-command that hangs.
func TestReloadAbort(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	svc.ReloadCommand = "/bin/sleep 1000"
	f := newFixture(t, newPlan(svc), nil)
	require.NoError(t, f.m.Start(context.Background(), "svc", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := f.m.Reload(ctx, "svc", nil)
	assert.EqualError(t, err, `cannot reload service "svc": reload-command aborted: context deadline exceeded`)
}

func TestCannotReload(t *testing.T) {
	plain, _ := helperService(t, "plain", "sleep")
	idle, _ := helperService(t, "idle", "sleep")
	idle.ReloadSignal = "SIGHUP"
	f := newFixture(t, newPlan(plain, idle), nil)
	require.NoError(t, f.m.Start(context.Background(), "plain", nil))

	assert.EqualError(t, f.m.CanReload("plain"), `cannot reload service "plain": no reload-signal or reload-command`)
	assert.True(t, errors.Is(f.m.CanReload("plain"), ErrNoReload))
	assert.EqualError(t, f.m.CanReload("idle"), `cannot reload service "idle": service is not running`)
	assert.True(t, errors.Is(f.m.CanReload("nope"), ErrNotFound))
	assert.EqualError(t, f.m.Reload(context.Background(), "idle", nil), `cannot reload service "idle": service is not running`)
}
