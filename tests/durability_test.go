package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// TestToldSurvivesSIGKILL: what a client was told — a notice's ID, an
// identity added, a change started — is on disk before the answer, so a
// daemon killed right after answering (SIGKILL, no shutdown) still has it
// when started again. The route table's durability flag does this in one
// place (internal/daemon).
func TestToldSurvivesSIGKILL(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep 1000
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var notice struct {
		ID string `json:"id"`
	}
	d.sync("POST", "/v1/notices", strings.NewReader(`{"action":"add","type":"custom","key":"example.com/told"}`), &notice)
	require.NotEmpty(t, notice.ID)
	d.sync("POST", "/v1/identities", strings.NewReader(`{"action":"add","identities":{"dave":{"access":"read","local":{"user-id":4242}}}}`), nil)
	change := d.serviceAction("start", "svc")
	d.signal(syscall.SIGKILL)
	d.waitExit(exitTimeout)

	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var got struct {
		Key string `json:"key"`
	}
	d.sync("GET", "/v1/notices/"+notice.ID, nil, &got)
	assert.Equal(t, "example.com/told", got.Key)
	var ids map[string]any
	d.sync("GET", "/v1/identities", nil, &ids)
	assert.Contains(t, ids, "dave")
	var chg struct {
		Kind string `json:"kind"`
	}
	d.sync("GET", "/v1/changes/"+change, nil, &chg)
	assert.Equal(t, "start", chg.Kind)
}

// TestAnswerWaitsForStateFile makes the state file unwritable (a directory
// where the file goes, so the atomic rename fails even for root, with room
// on the disk). The write that finds out waits for its answer until the
// state is on disk; once a write has failed, later writes are refused with a
// 500 before they change anything; reads keep working. Once the file can be
// written again, the waiting write is answered 200 and the next write
// succeeds at once.
func TestAnswerWaitsForStateFile(t *testing.T) {
	dir := newPebbleDir(t, nil)
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	statePath := filepath.Join(dir, ".pebble.state")
	testutil.WaitFor(t, readyTimeout, func() error {
		_, err := os.Stat(statePath)
		return err
	})
	require.NoError(t, os.Remove(statePath))
	require.NoError(t, os.Mkdir(statePath, 0o700))

	notice := func(ctx context.Context, key string) (int, envelope, error) {
		body := `{"action":"add","type":"custom","key":"example.com/` + key + `"}`
		return harness.Do(ctx, d.http, "POST", "/v1/notices", strings.NewReader(body))
	}
	type answer struct {
		status int
		err    error
	}
	first := make(chan answer, 1)
	go func() {
		status, _, err := notice(t.Context(), "first")
		first <- answer{status, err}
	}()
	// Probes with a short timeout: one that arrives before the first
	// write has failed waits like the first; once the failure is known,
	// a write is refused at once.
	testutil.WaitFor(t, readyTimeout, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		status, env, err := notice(ctx, "refused")
		if err != nil {
			return err
		}
		if status != 500 || !strings.Contains(apiErrorOf(env).Message, "cannot save state, so nothing was changed: ") {
			return fmt.Errorf("status %d: %s", status, env.Result)
		}
		return nil
	})
	for _, path := range []string{"/v1/changes?select=all", "/v1/notices", "/v1/services", "/v1/system-info", "/v1/plan?format=yaml"} {
		status, env := d.request("GET", path, nil)
		assert.Equal(t, 200, status, "%s: %s", path, env.Result)
	}
	select {
	case a := <-first:
		t.Fatalf("the write that found the state unwritable was answered before it was saved: %d %v", a.status, a.err)
	default:
	}

	require.NoError(t, os.Remove(statePath))
	a := <-first
	require.NoError(t, a.err)
	assert.Equal(t, 200, a.status, "the waiting write is answered once it is on disk")
	status, env, err := notice(t.Context(), "after")
	require.NoError(t, err)
	assert.Equal(t, 200, status, "the first write after the repair: %s", env.Result)
	data, err := os.ReadFile(statePath)
	require.NoError(t, err)
	assert.Contains(t, string(data), "example.com/first")
	assert.Contains(t, string(data), "example.com/after")
}
