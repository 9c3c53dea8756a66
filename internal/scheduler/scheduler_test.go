package scheduler

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/schedule"
	"github.com/pebble-project/pebble/internal/testutil"
)

func planOf(schedules map[string]string) *plan.Plan {
	p := &plan.Plan{Services: map[string]*plan.Service{}}
	for name, sched := range schedules {
		p.Services[name] = &plan.Service{Name: name, Command: "true", Schedule: sched}
	}
	return p
}

// TestScheduler: a due service is started, one whose last run is going is
// skipped and counted, an unchanged schedule keeps its due time across
// plans, and a removed one is forgotten.
func TestScheduler(t *testing.T) {
	started := make(chan string, 10)
	var busy atomic.Bool
	var changes atomic.Int32
	s := New(Options{
		Start: func(name string) (string, error) {
			started <- name
			return fmt.Sprint(changes.Add(1)), nil
		},
		Busy: func(string) bool { return busy.Load() },
		Logf: t.Logf,
	})
	defer s.Close()

	before := time.Now()
	s.SetPlan(planOf(map[string]string{"tick": "@every 1s", "plain": ""}))
	var info Info
	testutil.WaitFor(t, 5*time.Second, func() error {
		var ok bool
		if info, ok = s.Info("tick"); !ok {
			return fmt.Errorf("tick not scheduled yet")
		}
		return nil
	})
	assert.Equal(t, "@every 1s", info.Schedule)
	assert.WithinDuration(t, before.Add(time.Second), info.NextRun, 500*time.Millisecond)
	_, ok := s.Info("plain")
	assert.False(t, ok, "a service without schedule")

	select {
	case name := <-started:
		assert.Equal(t, "tick", name)
		assert.False(t, time.Now().Before(info.NextRun), "started before it was due")
	case <-time.After(5 * time.Second):
		t.Fatal("tick was not started")
	}

	// Its run still going at the next due time: skipped and counted.
	busy.Store(true)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if i, _ := s.Info("tick"); i.Skipped != 1 {
			return fmt.Errorf("skipped %d", i.Skipped)
		}
		return nil
	})
	assert.Empty(t, started, "a skipped run is not started")

	// The same schedule in a new plan keeps its due time and count.
	kept, _ := s.Info("tick")
	s.SetPlan(planOf(map[string]string{"tick": "@every 1s", "other": "@daily"}))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if _, ok := s.Info("other"); !ok {
			return fmt.Errorf("other not scheduled yet")
		}
		return nil
	})
	now, _ := s.Info("tick")
	assert.GreaterOrEqual(t, now.Skipped, kept.Skipped)
	assert.False(t, now.NextRun.Before(kept.NextRun))

	// A changed schedule starts afresh; a removed one is forgotten.
	s.SetPlan(planOf(map[string]string{"tick": "@every 1h"}))
	testutil.WaitFor(t, 5*time.Second, func() error {
		if _, ok := s.Info("other"); ok {
			return fmt.Errorf("other still scheduled")
		}
		return nil
	})
	i, ok := s.Info("tick")
	require.True(t, ok)
	assert.Equal(t, 0, i.Skipped)
	assert.Equal(t, "@every 1h", i.Schedule)
}

// TestUnchangedScheduleNotParsedAgain: a new plan with the same schedules
// keeps the parsed ones; parsing would allocate at least one Schedule per
// service.
func TestUnchangedScheduleNotParsedAgain(t *testing.T) {
	const n = 100
	schedules := make(map[string]string, n)
	for i := range n {
		schedules[fmt.Sprintf("svc%d", i)] = "*/5 * * * *"
	}
	p := planOf(schedules)
	s := &Scheduler{opts: Options{Logf: t.Logf}, entries: make(map[string]*entry)}
	s.pending = p
	s.adopt()
	require.Len(t, s.entries, n)
	first := s.entries["svc0"]
	allocs := testing.AllocsPerRun(10, func() {
		s.pending = p
		s.adopt()
	})
	assert.Same(t, first, s.entries["svc0"], "the entry is kept")
	assert.Less(t, allocs, float64(n), "schedules parsed again")
}

func TestFollowing(t *testing.T) {
	base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	every, _ := schedule.Parse("@every 2s")
	cron, _ := schedule.Parse("*/5 * * * *")
	// On time: one interval after the due time, not after now.
	assert.Equal(t, base.Add(2*time.Second), following(every, base, base.Add(30*time.Millisecond)))
	// Far behind: no burst of missed runs.
	assert.Equal(t, base.Add(12*time.Second), following(every, base, base.Add(10*time.Second)))
	assert.Equal(t, base.Add(5*time.Minute), following(cron, base, base.Add(time.Second)))
}
