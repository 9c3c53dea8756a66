package changes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Task is a task as its handler sees it. Its methods are safe for concurrent
// use.
type Task struct {
	m       *Manager
	change  *change
	id      string
	kind    string
	summary string
	lanes   []int
	waitFor []*Task // tasks that must be Done first
	halts   []*Task // tasks that wait for this one

	// Guarded by Manager.mu.
	pending   int // tasks in waitFor that are not Done yet
	status    Status
	data      json.RawMessage
	log       []string
	spawnTime time.Time
	readyTime time.Time
	json      []byte  // cached state file member; nil when stale
	foreign   foreign // what the state file had that this daemon does not use
}

// ID returns the task's ID.
func (t *Task) ID() string { return t.id }

// Kind returns the task's kind.
func (t *Task) Kind() string { return t.kind }

// Summary returns the task's summary.
func (t *Task) Summary() string { return t.summary }

// ChangeID returns the ID of the task's change.
func (t *Task) ChangeID() string { return t.change.id }

// Get decodes the task's data into v. It returns an error matching ErrNoData
// if the data was never set.
func (t *Task) Get(v any) error {
	t.m.mu.Lock()
	data := t.data
	t.m.mu.Unlock()
	if data == nil {
		return fmt.Errorf("cannot get data of task %s: %w", t.id, ErrNoData)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("cannot decode data of task %s: %w", t.id, err)
	}
	return nil
}

// Set replaces the task's data with v marshalled to JSON (for example
// {"exit-code": 0}).
func (t *Task) Set(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode data of task %s: %w", t.id, err)
	}
	t.m.mu.Lock()
	t.data = data
	t.json = nil
	t.m.mu.Unlock()
	t.m.markDirty()
	return nil
}

// Logf adds an INFO entry to the task's log.
func (t *Task) Logf(format string, args ...any) {
	t.addLog("INFO", fmt.Sprintf(format, args...))
}

// Errorf adds an ERROR entry to the task's log without failing the task (a
// check failure below its threshold, for example). ERROR entries of a task
// that ends in Error are listed in its change's Err.
func (t *Task) Errorf(format string, args ...any) {
	t.addLog("ERROR", fmt.Sprintf(format, args...))
}

func (t *Task) addLog(level, text string) {
	t.m.mu.Lock()
	t.addLogLocked(level, text)
	t.m.mu.Unlock()
	t.m.markDirty()
}

// addLogLocked appends a log entry, keeping the last maxLog.
func (t *Task) addLogLocked(level, text string) {
	entry := t.m.now().Local().Format(time.RFC3339) + " " + level + " " + text
	if len(t.log) >= maxLog {
		// Shift in place rather than reslicing, so the backing array does
		// not grow for a long-running task that logs often.
		copy(t.log, t.log[len(t.log)-maxLog+1:])
		t.log = t.log[:maxLog-1]
	}
	t.log = append(t.log, entry)
	t.json = nil
}

// cutLevel returns the text of a log entry if its level is level.
func cutLevel(entry, level string) (string, bool) {
	_, rest, ok := strings.Cut(entry, " ")
	if !ok {
		return "", false
	}
	lvl, text, ok := strings.Cut(rest, " ")
	if !ok || lvl != level {
		return "", false
	}
	return text, true
}

func (t *Task) infoLocked() TaskInfo {
	info := TaskInfo{
		ID:            t.id,
		Kind:          t.kind,
		Summary:       t.summary,
		Status:        t.status,
		Log:           slices.Clone(t.log),
		ProgressDone:  1,
		ProgressTotal: 1,
		SpawnTime:     t.spawnTime,
		ReadyTime:     t.readyTime,
		Data:          t.data,
	}
	if t.status == Do {
		info.ProgressDone = 0
	}
	return info
}

// launchLocked starts a task whose waits are satisfied. A task without a
// handler is completed at once.
func (m *Manager) launchLocked(t *Task) {
	k := m.kinds[t.kind]
	if k.Run == nil {
		t.addLogLocked("INFO", fmt.Sprintf("no handler for task %q, task ignored", t.kind))
		m.completeLocked(t, nil)
		return
	}
	m.runLocked(t, k.Run)
}

// runLocked marks t Doing and runs h for it.
func (m *Manager) runLocked(t *Task, h Handler) {
	c := t.change
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithCancel(m.ctx)
	}
	m.setStatusLocked(t, Doing)
	m.wg.Add(1)
	go m.run(c.ctx, t, h)
}

// run runs one handler and records its result.
func (m *Manager) run(ctx context.Context, t *Task, h Handler) {
	defer m.wg.Done()
	err := h(ctx, t)
	m.mu.Lock()
	if err != nil && m.closed {
		// Interrupted by Close: leave the task as it is, so the next daemon
		// resolves it as interrupted.
		m.mu.Unlock()
		return
	}
	m.completeLocked(t, err)
	m.updateLocked(t.change)
	m.mu.Unlock()
	if err != nil {
		m.logf("Change %s task (%s) failed: %v", t.change.id, t.summary, err)
	}
	m.markDirty()
	m.deliver()
}

// completeLocked records a task's result: Done starts the tasks that were
// waiting only for it; Error puts the tasks that can no longer run on Hold.
// The caller calls updateLocked on the change afterwards.
func (m *Manager) completeLocked(t *Task, err error) {
	if err != nil {
		t.addLogLocked("ERROR", err.Error())
		m.setStatusLocked(t, Error)
		m.holdAfterLocked(t)
		return
	}
	m.setStatusLocked(t, Done)
	for _, h := range t.halts {
		h.pending--
		if h.pending == 0 && h.status == Do && m.started && !m.closed {
			m.launchLocked(h)
		}
	}
}

// holdAfterLocked puts on Hold the tasks that a failure of t stops: the tasks
// of t's lanes (of the whole change if t has none) that have not started, and
// every not-started task that waits, directly or not, for t or for a task so
// held. Each held task's log says which failure held it.
func (m *Manager) holdAfterLocked(t *Task) {
	queue := []*Task{t}
	reason := fmt.Sprintf("Not run: task %s (%s) failed", t.id, t.summary)
	hold := func(u *Task) {
		if u.status == Do || u.status == Wait {
			u.addLogLocked("INFO", reason)
			m.setStatusLocked(u, Hold)
			queue = append(queue, u)
		}
	}
	for _, u := range t.change.tasks {
		if len(t.lanes) == 0 || sharesLane(t.lanes, u.lanes) {
			hold(u)
		}
	}
	for len(queue) > 0 {
		u := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, h := range u.halts {
			hold(h)
		}
	}
}

func sharesLane(a, b []int) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
