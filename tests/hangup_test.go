package tests

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// TestClientHangupsLeakNothing: thousands of clients that hang up at once
// (before sending a full request, or while their change-wait is pending)
// leave the daemon's file descriptors at their baseline. A handler still
// blocked for a gone client keeps its connection's descriptor open, so the
// descriptor count, measured from outside, also catches leaked handler
// goroutines.
func TestClientHangupsLeakNothing(t *testing.T) {
	const (
		requests    = 10000
		concurrency = 200
		slack       = 4
	)
	dir := newPebbleDir(t, nil)
	writeStubborn(t, dir, "2m")
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	stubborn := readPID(t, filepath.Join(dir, "stubborn.pid"))

	// A stop that stays pending for the whole test: the service ignores
	// SIGTERM and its kill-delay is long.
	pending := d.serviceAction("stop", "stubborn")
	status, env := d.request("GET", "/v1/changes/"+pending, nil)
	require.Equal(t, 200, status)
	require.Contains(t, string(env.Result), `"ready":false`)

	pid := d.daemonPID()
	baseline := settledFDs(t, pid)
	t.Logf("daemon fd baseline: %d", baseline)

	hangups := []func(net.Conn) error{
		// Connect and leave.
		func(net.Conn) error { return nil },
		// Half a request line.
		func(c net.Conn) error {
			_, err := c.Write([]byte("GET /v1/changes HTTP/1.1\r\nHo"))
			return err
		},
		// A complete wait on the pending change, then gone.
		func(c net.Conn) error {
			_, err := fmt.Fprintf(c, "GET /v1/changes/%s/wait?timeout=1h HTTP/1.1\r\nHost: localhost\r\n\r\n", pending)
			return err
		},
		// A body announced but not sent.
		func(c net.Conn) error {
			_, err := c.Write([]byte("POST /v1/services HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"action\":"))
			return err
		},
		// A complete request whose response is never read.
		func(c net.Conn) error {
			_, err := c.Write([]byte("GET /v1/changes?select=all HTTP/1.1\r\nHost: localhost\r\n\r\n"))
			return err
		},
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		next     atomic.Int64
		failures atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= requests || ctx.Err() != nil {
					return
				}
				if err := hangUp(ctx, d.socket, hangups[i%int64(len(hangups))]); err != nil {
					failures.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the hang-ups did not finish in time")
	require.Zero(t, failures.Load(), "connections that failed: first error: %v", firstErr)
	t.Logf("%d hang-ups in %v", requests, time.Since(start))

	var fds int
	testutil.WaitFor(t, 15*time.Second, func() error {
		n, err := countFDs(pid)
		if err != nil {
			return err
		}
		fds = n
		if n > baseline+slack {
			return fmt.Errorf("daemon has %d fds open, baseline %d", n, baseline)
		}
		return nil
	})
	t.Logf("daemon fds after the hang-ups: %d", fds)

	// The daemon still works, and the pending change was not disturbed.
	status, env = d.request("GET", "/v1/changes/"+pending, nil)
	require.Equal(t, 200, status)
	assert.Contains(t, string(env.Result), `"ready":false`)
	require.NoError(t, syscall.Kill(stubborn, syscall.SIGKILL))
	assert.Equal(t, "Done", d.waitChange(pending).Status)
	d.stop()
}

// hangUp opens a connection to the socket, does one thing and closes it.
// Dialling is retried (until ctx ends) while the listen backlog is full:
// connections closed by the client stay queued until the daemon accepts
// them, so a slow daemon (a -race build) fills the backlog without leaking.
func hangUp(ctx context.Context, socket string, do func(net.Conn) error) error {
	var dialer net.Dialer
	var conn net.Conn
	var err error
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		conn, err = dialer.DialContext(ctx, "unix", socket)
		if err == nil || ctx.Err() != nil || !errors.Is(err, syscall.EAGAIN) {
			break
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	// A write may race with the server closing a bad request; only the
	// connect matters here.
	do(conn)
	return nil
}

// settledFDs waits until the fd count of pid is the same on consecutive
// reads and returns it.
func settledFDs(t testing.TB, pid int) int {
	t.Helper()
	prev := -1
	var n int
	testutil.WaitFor(t, 5*time.Second, func() error {
		var err error
		n, err = countFDs(pid)
		if err != nil {
			return err
		}
		if n != prev {
			prev = n
			return fmt.Errorf("fd count still changing (%d)", n)
		}
		return nil
	})
	return n
}
