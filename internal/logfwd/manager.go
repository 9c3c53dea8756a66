package logfwd

import (
	"context"
	"maps"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/plan"
)

// Defaults of Options (behaviour.md §9.4 for the batching).
const (
	DefaultFlushDelay = time.Second
	DefaultMaxBatch   = 100
	DefaultTimeout    = 10 * time.Second
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 10 * time.Second
)

// Options configure a Manager. The zero value of every field is valid.
type Options struct {
	// Logf receives the daemon's log messages; nil discards them.
	Logf func(format string, args ...any)
	// UserAgent is sent with HTTP requests, e.g. "pebble/v1.32.1".
	UserAgent string
	// Hostname is syslog's HOSTNAME field; "" means os.Hostname().
	Hostname string
	// FlushDelay is how long the first entry of a batch may wait before the
	// batch is sent; 0 means 1s.
	FlushDelay time.Duration
	// MaxBatch is how many entries make a batch that is sent at once; 0
	// means 100.
	MaxBatch int
	// Timeout bounds one request or connection attempt; 0 means 10s.
	Timeout time.Duration
	// BackoffMin and BackoffMax bound the wait before a failed batch is
	// tried again; it doubles from min to max. 0 means 1s and 10s.
	BackoffMin, BackoffMax time.Duration
}

// Status is a snapshot of the counters of one log target, as GET
// /v1/log-targets reports them.
type Status struct {
	// Name, Type and Location are the target's, from the plan.
	Name     string
	Type     string
	Location string
	// Services are the services whose output the target is forwarding now.
	Services []string
	// Sent counts entries the receiver accepted.
	Sent uint64
	// Dropped counts entries given up on: refused by the receiver (an
	// answer other than 429 or 5xx, or records an OTLP partial success
	// rejected), or still unsent when the target was removed or the daemon
	// stopped.
	Dropped uint64
	// LostBytes counts bytes of output that the services' buffers dropped
	// before the target could read them (the receiver was down or slow for
	// longer than the buffers hold).
	LostBytes uint64
	// Failures counts failed send attempts.
	Failures uint64
	// Pending is the number of entries read and not yet sent.
	Pending int
	// LastError is the latest failure, and LastErrorTime when it happened.
	LastError     string
	LastErrorTime time.Time
}

// Manager runs the log targets of the current plan. Its methods are safe
// for concurrent use.
type Manager struct {
	opts   Options
	logf   func(format string, args ...any)
	ctx    context.Context // ends every target's requests once Close gives up
	cancel context.CancelFunc

	mu      sync.Mutex
	plan    *plan.Plan
	buffers map[string]*logs.Buffer // services that have started at least once
	targets map[string]*target
	closed  bool
	wg      sync.WaitGroup
}

// New returns a Manager with no targets until SetPlan.
func New(opts Options) *Manager {
	if opts.FlushDelay <= 0 {
		opts.FlushDelay = DefaultFlushDelay
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = DefaultBackoffMin
	}
	if opts.BackoffMax < opts.BackoffMin {
		opts.BackoffMax = max(DefaultBackoffMax, opts.BackoffMin)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	m := &Manager{
		opts:    opts,
		logf:    opts.Logf,
		plan:    &plan.Plan{},
		buffers: make(map[string]*logs.Buffer),
		targets: make(map[string]*target),
	}
	if m.logf == nil {
		m.logf = func(string, ...any) {}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// SetPlan applies a new plan: targets are added, reconfigured or removed,
// and each target's services re-selected. A service newly selected is
// forwarded from its next line on. It does not block on any target.
func (m *Manager) SetPlan(p *plan.Plan) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.plan = p
	for name, t := range m.targets {
		if p.LogTargets[name] == nil {
			t.stop(time.Now().Add(finalFlushTime))
			delete(m.targets, name)
		}
	}
	for name, lt := range p.LogTargets {
		t := m.targets[name]
		if t == nil {
			t = newTarget(m, name)
			m.targets[name] = t
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				t.run()
			}()
		}
		t.configure(lt.Type, lt.Location)
		for svc, buf := range m.buffers {
			m.select_(t, lt, svc, buf)
		}
	}
}

// ServiceStarting tells the manager that a run of service is about to
// start writing into buf (servstate.Options.Starting): the targets that
// select it and are not reading it yet start at this point.
func (m *Manager) ServiceStarting(service string, buf *logs.Buffer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	old, known := m.buffers[service]
	m.buffers[service] = buf
	for name, t := range m.targets {
		// A service whose record was forgotten (behaviour.md §10.3) starts
		// again with a new buffer: targets still reading the old one move
		// to the new one.
		if known && old != buf {
			t.deselect(service)
		}
		m.select_(t, m.plan.LogTargets[name], service, buf)
	}
}

// select_ makes target t read service if lt selects it, and stop if not.
// m.mu must be held.
func (m *Manager) select_(t *target, lt *plan.LogTarget, service string, buf *logs.Buffer) {
	svc := m.plan.Services[service]
	cur, reading := t.selected[service]
	if lt == nil || svc == nil || !lt.Forwards(service) {
		t.deselect(service)
		return
	}
	labels := expandLabels(lt.Labels, svc.Environment)
	switch {
	case !reading:
		it := buf.NewIterator(0)
		t.selected[service] = selection{labels: labels, it: it}
		t.push(op{kind: opAdd, service: service, it: it, labels: labels})
	case !maps.Equal(cur.labels.values, labels.values):
		t.selected[service] = selection{labels: labels, it: cur.it}
		t.push(op{kind: opLabels, service: service, labels: labels})
	}
}

// Status returns the counters of every target, sorted by name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	targets := make([]*target, 0, len(m.targets))
	for _, t := range m.targets {
		targets = append(targets, t)
	}
	m.mu.Unlock()
	out := make([]Status, len(targets))
	for i, t := range targets {
		out[i] = t.status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// finalFlushTime bounds the flush of a target removed from the plan.
const finalFlushTime = 2 * time.Second

// Close sends what every target still has (behaviour.md §9.4: a short final
// flush on daemon stop) until ctx ends, then stops them. Entries left unsent
// are counted as dropped and logged.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(finalFlushTime)
	}
	for _, t := range m.targets {
		t.stop(deadline)
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(time.Until(deadline)):
	}
	m.cancel()
	<-done
}

// labelSet is the labels of one service on one target, with $VAR expanded.
// It is immutable once made, so batched entries can share it.
type labelSet struct {
	values map[string]string
	keys   []string // sorted
}

// expandLabels expands $VAR and ${VAR} in each value from the service's
// environment; undefined variables expand to "" (layers.md §5).
func expandLabels(labels, env map[string]string) *labelSet {
	ls := &labelSet{values: make(map[string]string, len(labels))}
	for k, v := range labels {
		ls.values[k] = os.Expand(v, func(name string) string { return env[name] })
	}
	ls.keys = slices.Sorted(maps.Keys(ls.values))
	return ls
}
