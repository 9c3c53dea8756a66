package changes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 20, 10, 4, 40, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testLogf collects daemon log lines.
type testLogf struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLogf) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *testLogf) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// openStore opens a real state file in dir and closes it at cleanup.
func openStore(t testing.TB, dir string) *statefile.Store {
	t.Helper()
	st, err := statefile.Open(filepath.Join(dir, ".pebble.state"))
	if err != nil {
		t.Fatalf("cannot open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newManager builds a manager (Close at cleanup) without starting it.
func newManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// waitReady waits (at most 10 s) for a change to be ready.
func waitReady(t testing.TB, m *Manager, id string) ChangeInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait(%s): %v", id, err)
	}
	return info
}

// taskStatuses returns "summary:Status" for each task.
func taskStatuses(c ChangeInfo) string {
	var parts []string
	for _, t := range c.Tasks {
		parts = append(parts, t.Summary+":"+t.Status.String())
	}
	return strings.Join(parts, " ")
}

// gate is a handler that signals when it starts and returns when released
// (with the release error) or when its context ends (with ctx.Err()).
type gate struct {
	started chan string
	release chan error
}

func newGate() *gate {
	return &gate{started: make(chan string, 1000), release: make(chan error)}
}

func (g *gate) Run(ctx context.Context, t *Task) error {
	g.started <- t.Summary()
	select {
	case err := <-g.release:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) waitStarted(t testing.TB) string {
	t.Helper()
	select {
	case s := <-g.started:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not start")
		return ""
	}
}
