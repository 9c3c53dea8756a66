package servstate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// fakeClock is an Options.Now that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestPruneAge(t *testing.T) {
	clock := newFakeClock()
	old, _ := helperService(t, "old", "usr1")
	f := newFixture(t, newPlan(old, sh("run", "sleep 10")), func(o *Options) { o.Now = clock.now })
	ctx := context.Background()

	require.NoError(t, f.m.Start(ctx, "old", nil))
	require.NoError(t, f.m.Start(ctx, "run", nil))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := f.m.Buffer("old").LastLines(1); len(lines) != 1 || lines[0] != "ready" {
			return fmt.Errorf("output %q", lines)
		}
		return nil
	})
	require.NoError(t, f.m.Stop(ctx, "old", nil))
	stopped := f.info(t, "old")
	require.Equal(t, "inactive", stopped.Current)
	assert.Equal(t, clock.now(), stopped.CurrentSince)

	// Exactly the age is not more than the age.
	clock.add(defaultPruneAge)
	f.m.Prune()
	assert.Equal(t, stopped, f.info(t, "old"))
	assert.NotNil(t, f.m.Buffer("old"))

	clock.add(time.Second)
	f.m.Prune()
	assert.Equal(t, ServiceInfo{Name: "old", Startup: "disabled", Current: "inactive"}, f.info(t, "old"))
	assert.Nil(t, f.m.Buffer("old"))
	assert.Empty(t, f.m.Usage([]string{"old"}))
	tl := &logRecorder{t: t}
	require.NoError(t, f.m.Stop(ctx, "old", tl))
	assert.NoError(t, tl.has(`Service "old" has never been started.`))
	assert.EqualError(t, f.m.SendSignal([]string{"old"}, "SIGUSR1"), `cannot send signal to "old": service is not running`)

	// The running service is never pruned, however old.
	run := f.info(t, "run")
	assert.Equal(t, "active", run.Current)
	clock.add(365 * 24 * time.Hour)
	f.m.Prune()
	assert.Equal(t, run, f.info(t, "run"))

	// A later start makes a fresh record.
	require.NoError(t, f.m.Start(ctx, "old", nil))
	info := f.info(t, "old")
	assert.Equal(t, "active", info.Current)
	assert.Equal(t, 1, info.StartCount)
	assert.Equal(t, clock.now(), info.CurrentSince)
	buf := f.m.Buffer("old")
	require.NotNil(t, buf)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if lines, _ := buf.LastLines(10); len(lines) != 1 || lines[0] != "ready" {
			return fmt.Errorf("output %q", lines)
		}
		return nil
	})
	require.NoError(t, f.m.SendSignal([]string{"old"}, "SIGUSR1"))
	require.NoError(t, f.m.Stop(ctx, "old", nil))
}

func TestPruneMax(t *testing.T) {
	clock := newFakeClock()
	names := []string{"a", "b", "c", "d"}
	p := newPlan(sh("run", "sleep 10"))
	for _, n := range names {
		p.Services[n] = sh(n, "sleep 10")
	}
	f := newFixture(t, p, func(o *Options) {
		o.Now = clock.now
		o.PruneMax = 2
	})
	ctx := context.Background()
	require.NoError(t, f.m.Start(ctx, "run", nil))
	// Stopped in the order c, a, d, b, a minute apart.
	for _, n := range []string{"c", "a", "d", "b"} {
		require.NoError(t, f.m.Start(ctx, n, nil))
	}
	for _, n := range []string{"c", "a", "d", "b"} {
		clock.add(time.Minute)
		require.NoError(t, f.m.Stop(ctx, n, nil))
	}
	f.m.Prune()
	for _, n := range []string{"c", "a"} {
		assert.Equal(t, ServiceInfo{Name: n, Startup: "disabled", Current: "inactive"}, f.info(t, n))
		assert.Nil(t, f.m.Buffer(n))
	}
	for _, n := range []string{"d", "b"} {
		info := f.info(t, n)
		assert.Equal(t, 1, info.StartCount, n)
		assert.False(t, info.CurrentSince.IsZero(), n)
		assert.NotNil(t, f.m.Buffer(n))
	}
	assert.Equal(t, "active", f.info(t, "run").Current)
	f.m.Prune()
	assert.Equal(t, 1, f.info(t, "d").StartCount)
	assert.Equal(t, 1, f.info(t, "b").StartCount)
}

// TestPruneConcurrent prunes every millisecond, forgetting every stopped
// record at once, while services are started, stopped and listed; then
// requires the goroutines to be back after Close.
func TestPruneConcurrent(t *testing.T) {
	testutil.CheckLeaks(t)
	names := []string{"a", "b", "c"}
	p := newPlan()
	for _, n := range names {
		p.Services[n] = sh(n, "sleep 10")
	}
	m, err := New(Options{
		Dir:           t.TempDir(),
		OkayDelay:     10 * time.Millisecond,
		PruneAge:      time.Nanosecond,
		PruneInterval: time.Millisecond,
	})
	require.NoError(t, err)
	m.SetPlan(p)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				m.Services(nil)
				m.Usage(nil)
				m.Replan()
				m.SendSignal(names, "SIGCONT")
				m.CheckFailed("chk")
				m.Prune()
			}
		}()
	}
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := m.Start(ctx, n, nil); err != nil {
					errs <- fmt.Errorf("start %s: %w", n, err)
				}
				m.Buffer(n)
				if err := m.Stop(ctx, n, nil); err != nil {
					errs <- fmt.Errorf("stop %s: %w", n, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		for _, info := range m.Services(nil) {
			if info.StartCount != 0 || !info.CurrentSince.IsZero() {
				return fmt.Errorf("%s not forgotten: %+v", info.Name, info)
			}
		}
		return nil
	})
	assert.Empty(t, m.ActiveServices())
	m.Close()
	m.Prune() // after Close: nothing to do, no hang
}
