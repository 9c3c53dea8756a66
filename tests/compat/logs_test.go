package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/pebble/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogs reads and follows logs with Canonical's client, including lines
// of binary output that the daemon must keep within the client's 5 KiB line
// buffer.
func TestLogs(t *testing.T) {
	d := startDaemon(t, map[string]string{"001-talker.yaml": `
services:
    talker:
        override: replace
        command: /bin/sh -c "echo one; echo '<two> & three'; head -c 4000 /dev/urandom | tr '\\000\\n' '\\001\\002'; echo; while [ ! -e @DIR@/more ]; do sleep 0.01; done; echo four; exec sleep 1000"
        startup: enabled
`})
	// The service writes its first three lines at once, but the daemon may
	// read them in more than one go: wait until all three are there.
	var got []client.LogEntry
	waitFor(t, 20*time.Second, func() error {
		got = nil
		err := d.client.Logs(&client.LogsOptions{N: -1, WriteLog: func(e client.LogEntry) error {
			got = append(got, e)
			return nil
		}})
		if err == nil && len(got) < 3 {
			err = fmt.Errorf("%d log entries so far, want 3", len(got))
		}
		return err
	})
	assert.Equal(t, "talker", got[0].Service)
	assert.Equal(t, "one", got[0].Message)
	assert.Equal(t, "<two> & three", got[1].Message)
	assert.WithinDuration(t, time.Now(), got[0].Time, time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- d.client.FollowLogs(ctx, &client.LogsOptions{Services: []string{"talker"}, N: 1, WriteLog: func(e client.LogEntry) error {
			followed <- e.Message
			return nil
		}})
	}()
	// The last buffered line comes first: the follower is then connected,
	// and sees the next line as it is written.
	select {
	case <-followed:
	case <-time.After(20 * time.Second):
		t.Fatal("follower got nothing")
	}
	require.NoError(t, os.WriteFile(filepath.Join(d.dir, "more"), nil, 0o644))
	// The rest of the binary line may come first: its escaped JSON is
	// split into several entries.
	for msg := ""; msg != "four"; {
		select {
		case msg = <-followed:
		case <-time.After(20 * time.Second):
			t.Fatal("follower did not see the new line")
		}
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("FollowLogs did not return after cancel")
	}
	d.stop()
}

func logHas(d *daemon, msg string) error {
	var msgs []string
	err := d.client.Logs(&client.LogsOptions{N: -1, WriteLog: func(e client.LogEntry) error {
		msgs = append(msgs, e.Message)
		return nil
	}})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m == msg {
			return nil
		}
	}
	return fmt.Errorf("no %q in logs %q", msg, strings.Join(msgs, "|"))
}
