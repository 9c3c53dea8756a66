package statefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/testutil"
)

// smallDisk mounts a 1 MiB tmpfs for the test and returns its path; the
// test's cleanup unmounts it. It skips the test when not root.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs on %q: %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, 0) })
	return dir
}

// fillDisk writes a file at path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
			return
		}
	}
}

// pendingOnFullDisk opens a store on a small disk, saves n = 1, fills the
// disk and marks n = 2, not yet written; fill is the file that fills it.
func pendingOnFullDisk(t *testing.T) (s *Store, n *atomic.Int64, dir, path, fill string) {
	t.Helper()
	dir = smallDisk(t)
	path = filepath.Join(dir, ".pebble.state")
	s, n = openCounter(t, path)
	n.Store(1)
	require.NoError(t, s.Save(context.Background()))
	fill = filepath.Join(dir, "fill")
	fillDisk(t, fill)
	n.Store(2)
	s.MarkDirty()
	return s, n, dir, path, fill
}

// A write that fails while the disk is full is reported to the Syncs that
// wait for it, but not to later ones: the flusher retries it, and once
// space returns the next Sync succeeds, with nothing left behind.
func TestDiskFull(t *testing.T) {
	s, n, dir, path, fill := pendingOnFullDisk(t)
	err := s.Sync(context.Background())
	require.Error(t, err, "a write to a full disk fails")
	assert.Contains(t, err.Error(), "no space left on device")
	err = s.Sync(context.Background())
	require.Error(t, err, "still full: the retried write fails too")
	assert.JSONEq(t, `1`, string(readState(t, path)["n"]), "the file holds what was written before")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "a failed write leaves no temporary: %v", entries)

	// The flusher retries the failed write by itself while the disk is
	// full, and once space returns the retry writes what is pending,
	// without anyone asking; the next Sync succeeds.
	tried := s.attemptsSoFar()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s.attemptsSoFar() == tried {
			return fmt.Errorf("a failed write is not retried")
		}
		return nil
	})
	writes := s.Writes()
	start := time.Now()
	require.NoError(t, os.Remove(fill))
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s.Writes() == writes {
			return fmt.Errorf("the pending state is not written after space returned")
		}
		return nil
	})
	t.Logf("figure: the pending state was written %v after space returned", time.Since(start).Round(time.Millisecond))
	assert.JSONEq(t, `2`, string(readState(t, path)["n"]))
	n.Store(3)
	s.MarkDirty()
	require.NoError(t, s.Sync(context.Background()), "the first write after space returns succeeds")
	assert.JSONEq(t, `3`, string(readState(t, path)["n"]))
	require.NoError(t, s.Close())
}

// Once space returns, a Sync succeeds at once: the failure of an earlier
// write does not stick to the store.
func TestSyncAfterSpaceReturns(t *testing.T) {
	dir := smallDisk(t)
	path := filepath.Join(dir, ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	s.Register("x", func() any { return 1 })
	require.NoError(t, s.Save(context.Background()))
	fill := filepath.Join(dir, "fill")
	fillDisk(t, fill)
	s.MarkDirty()
	require.Error(t, s.Sync(context.Background()))
	require.NoError(t, os.Remove(fill))
	require.NoError(t, s.Sync(context.Background()), "a Sync after space returned does not report an earlier failure")
}

// Writable says no, with the file system's figures, once the disk has no
// room for another copy of the file, and yes again as soon as space
// returns; it never writes while the disk has room.
func TestWritable(t *testing.T) {
	dir := smallDisk(t)
	path := filepath.Join(dir, ".pebble.state")
	s, err := Open(path)
	require.NoError(t, err)
	defer s.Close()
	s.Register("x", func() any { return 1 })
	require.NoError(t, s.Save(context.Background()))
	writes := s.Writes()
	require.NoError(t, s.Writable(context.Background()))
	assert.Equal(t, writes, s.Writes(), "a healthy store is not written to find out")

	fill := filepath.Join(dir, "fill")
	fillDisk(t, fill)
	err = s.Writable(context.Background())
	require.Error(t, err, "a full disk is not writable")
	assert.ErrorIs(t, err, syscall.ENOSPC)
	t.Logf("while full: %v", err)
	require.NoError(t, os.Remove(fill))
	require.NoError(t, s.Writable(context.Background()), "writable as soon as space returns")
}

// While the latest write has failed, Writable tries a write at once rather
// than wait for the flusher's next retry: it fails while the disk is still
// full and succeeds, having written the pending state, once space returns.
func TestWritableRetriesAtOnce(t *testing.T) {
	s, _, _, path, fill := pendingOnFullDisk(t)
	require.Error(t, s.Sync(context.Background()))
	tried := s.attemptsSoFar()
	require.Error(t, s.Writable(context.Background()))
	assert.Greater(t, s.attemptsSoFar(), tried, "a failing store is tried again at once")
	require.NoError(t, os.Remove(fill))
	require.NoError(t, s.Writable(context.Background()))
	assert.JSONEq(t, `2`, string(readState(t, path)["n"]), "the pending state was written")
}

// Durable waits through failed writes until the state is on disk, where
// Sync gives up at the first failure.
func TestDurableWaitsForSpace(t *testing.T) {
	s, n, _, path, fill := pendingOnFullDisk(t)
	done := make(chan error, 1)
	go func() { done <- s.Durable(context.Background()) }()
	tried := s.attemptsSoFar()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s.attemptsSoFar() < tried+2 {
			return fmt.Errorf("%d writes tried, want two more than %d", s.attemptsSoFar(), tried)
		}
		return nil
	})
	select {
	case err := <-done:
		t.Fatalf("Durable returned %v while the disk is full", err)
	default:
	}
	require.NoError(t, os.Remove(fill))
	require.NoError(t, <-done)
	assert.JSONEq(t, `2`, string(readState(t, path)["n"]))

	ctx, cancel := context.WithCancel(context.Background())
	fillDisk(t, fill)
	n.Store(3)
	s.MarkDirty()
	cancel()
	assert.ErrorIs(t, s.Durable(ctx), context.Canceled, "Durable gives up when its context ends")
	require.NoError(t, os.Remove(fill))
}

// attemptsSoFar reports how many writes the flusher started.
func (s *Store) attemptsSoFar() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}
