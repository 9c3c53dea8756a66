// Package scheduler starts the plan's scheduled services at their due
// times (docs/schedules.md). It owns the timers: one goroutine keeps a due
// time per scheduled service and one timer armed for the earliest. When a
// service is due it is started as `pebble start` starts it (through
// Options.Start, a change the API and logs show), unless its last run is
// still going: that run is skipped and counted.
//
// The schedule package parses schedules and computes due times; this
// package only keeps time.
package scheduler

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/schedule"
)

// Options connect a Scheduler to the rest of the daemon.
type Options struct {
	// Start starts a service as `pebble start` does and returns the ID of
	// its change. It must not wait for the change.
	Start func(service string) (changeID string, err error)
	// Busy reports whether a run of the service is still going (active or
	// in backoff): a due time then skips the run.
	Busy func(service string) bool
	// Logf receives the daemon's log messages; nil discards them.
	Logf func(format string, args ...any)
}

// Info is what the API shows of a scheduled service.
type Info struct {
	// Schedule is the service's schedule: field.
	Schedule string
	// NextRun is the next due time.
	NextRun time.Time
	// Skipped is how many due times found the last run still going.
	Skipped int
}

// entry is one scheduled service.
type entry struct {
	sched *schedule.Schedule
	info  Info
}

// Scheduler keeps the due times of the plan's scheduled services. Its
// methods are safe for concurrent use.
type Scheduler struct {
	opts Options
	kick chan struct{} // a new plan is waiting in pending
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex
	pending *plan.Plan
	entries map[string]*entry // written only by the goroutine
	// scheduled says whether entries has any: Info, asked for every service of
	// every GET /v1/services, answers without the lock when none is
	// scheduled, the common case.
	scheduled atomic.Bool
}

// New starts a Scheduler with no scheduled services; SetPlan gives it some.
func New(opts Options) *Scheduler {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &Scheduler{
		opts:    opts,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		entries: make(map[string]*entry),
	}
	s.wg.Add(1)
	go s.loop()
	return s
}

// SetPlan takes the services' schedules from p. A service whose schedule
// is unchanged keeps its next due time and skip count; a new or changed one
// is next due at the schedule's first time after now. It does not block.
func (s *Scheduler) SetPlan(p *plan.Plan) {
	s.mu.Lock()
	s.pending = p
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Info returns the schedule of a service, if it has one.
func (s *Scheduler) Info(service string) (Info, bool) {
	if !s.scheduled.Load() {
		return Info{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[service]
	if !ok {
		return Info{}, false
	}
	return e.info, true
}

// Close stops the scheduler; no service is started after it returns.
func (s *Scheduler) Close() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
}

func (s *Scheduler) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.rearm(timer)
		select {
		case <-s.done:
			return
		case <-s.kick:
			s.adopt()
		case <-timer.C:
			s.fire(time.Now())
		}
	}
}

// rearm sets the timer to the earliest due time.
func (s *Scheduler) rearm(timer *time.Timer) {
	timer.Stop()
	var first time.Time
	s.mu.Lock()
	for _, e := range s.entries {
		if first.IsZero() || e.info.NextRun.Before(first) {
			first = e.info.NextRun
		}
	}
	s.mu.Unlock()
	if !first.IsZero() {
		timer.Reset(time.Until(first))
	}
}

// adopt applies the pending plan.
func (s *Scheduler) adopt() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	if p == nil {
		return
	}
	s.pending = nil
	next := make(map[string]*entry, len(s.entries))
	for name, svc := range p.Services {
		if old := s.entries[name]; old != nil && old.info.Schedule == svc.Schedule {
			next[name] = old // parsed already
			continue
		}
		sched, err := svc.ParsedSchedule()
		if err != nil {
			s.opts.Logf("Cannot schedule service %q: %v", name, err)
			continue
		}
		if sched == nil {
			continue
		}
		next[name] = &entry{sched: sched, info: Info{Schedule: svc.Schedule, NextRun: sched.Next(now)}}
	}
	s.entries = next
	s.scheduled.Store(len(next) > 0)
}

// fire runs every service due at now and moves its due time on.
func (s *Scheduler) fire(now time.Time) {
	s.mu.Lock()
	var due []string
	for name, e := range s.entries {
		if e.info.NextRun.After(now) {
			continue
		}
		due = append(due, name)
		e.info.NextRun = following(e.sched, e.info.NextRun, now)
	}
	s.mu.Unlock()
	for _, name := range due {
		s.run(name)
	}
}

// following is the due time after one that has come at now: for @every,
// one interval later, or, if the daemon fell that far behind, one interval
// after now (missed runs are not caught up); for cron, the next match
// after now.
func following(sched *schedule.Schedule, was, now time.Time) time.Time {
	if every := sched.Every(); every > 0 {
		if next := was.Add(every); next.After(now) {
			return next
		}
		return now.Add(every)
	}
	return sched.Next(now)
}

// run starts a due service, or skips the run if the last one is going.
func (s *Scheduler) run(name string) {
	if s.opts.Busy(name) {
		s.mu.Lock()
		n := 0
		if e := s.entries[name]; e != nil {
			e.info.Skipped++
			n = e.info.Skipped
		}
		s.mu.Unlock()
		s.opts.Logf("Service %q is due but its last run is still going: skipped (%d skipped so far)", name, n)
		return
	}
	id, err := s.opts.Start(name)
	if err != nil {
		s.opts.Logf("Cannot start scheduled service %q: %v", name, err)
		return
	}
	s.opts.Logf("Service %q is due: starting it with change %s", name, id)
}
