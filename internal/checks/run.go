package checks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
)

// refreshRequest asks a check's loop to run the check now.
type refreshRequest struct {
	result chan refreshResult // buffered: the loop never waits for the asker
}

type refreshResult struct {
	info Info
	err  error
}

// runTask is the handler of perform-check and recover-check tasks: the
// check's loop (behaviour.md §7.1, §7.4). It returns nil when the change is
// aborted or the manager closes (the task ends Done), and the last error
// when a perform-check hits its threshold (the task ends in Error).
func (m *Manager) runTask(ctx context.Context, t *changes.Task) error {
	m.mu.Lock()
	r := m.runs[t.ChangeID()]
	if r == nil {
		m.mu.Unlock()
		return nil // not a run of this daemon
	}
	if m.closed {
		m.endRunLocked(r)
		m.mu.Unlock()
		r.end()
		return nil
	}
	m.wg.Add(1)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.endRunLocked(r)
		m.mu.Unlock()
		r.end()
		m.wg.Done()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(m.ctx, cancel)()

	ck := m.newCk(r.cfg)
	defer ck.Close()
	period, timeout := r.cfg.EffectivePeriod(), r.cfg.EffectiveTimeout()
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		var req *refreshRequest
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case req = <-r.refresh:
			ticker.Reset(period)
		}
		err := runCheck(ctx, ck, timeout)
		if ctx.Err() != nil {
			if req != nil {
				req.result <- refreshResult{m.info(r.check), ctx.Err()}
			}
			return nil
		}
		end, taskErr := m.record(t, r, err)
		if req != nil {
			req.result <- refreshResult{m.info(r.check), err}
		}
		if end {
			return taskErr
		}
	}
}

// endRunLocked forgets a run whose loop is over. If nothing took over from
// it (the change was aborted from outside, through POST /v1/changes/{id},
// or the manager closed), the check is inactive, as after stop-checks.
func (m *Manager) endRunLocked(r *run) {
	if m.runs[r.changeID] == r {
		delete(m.runs, r.changeID)
	}
	if c := r.check; c.run == r {
		c.run = nil
		m.notifyLocked()
	}
}

// record counts one result of run r (behaviour.md §7.4) and reports whether
// the loop ends, with the error its task ends with.
func (m *Manager) record(t *changes.Task, r *run, err error) (end bool, taskErr error) {
	c := r.check
	threshold := r.cfg.EffectiveThreshold()
	m.mu.Lock()
	if c.run != r || m.closed {
		m.mu.Unlock()
		return true, nil // superseded meanwhile
	}
	if m.handedOver {
		m.mu.Unlock()
		return false, nil // the new daemon counts from the hand-over
	}
	m.notifyLocked() // the counters change below, under the same lock
	if err == nil {
		c.metricSuccesses++
		if r.kind == KindRecover {
			c.successes, c.failures = 1, 0
			m.startLocked(c, KindPerform, true, false)
			m.mu.Unlock()
			m.succeeded(c.name)
			return true, nil
		}
		c.successes++
		r.graceUntil = time.Time{} // the first success ends the start-period
		old := c.failures
		c.failures = 0
		m.mu.Unlock()
		m.succeeded(c.name)
		if old > 0 {
			t.Logf("succeeded after %s", plural(old, "failure", "failures"))
		}
		return false, nil
	}
	c.metricFailures++
	text := logText(err, c.private)
	if r.inStartPeriod(time.Now()) {
		m.mu.Unlock()
		m.logf("Check %q failure in its start-period (not counted): %v", c.name, err)
		t.Errorf("%s", text)
		return false, nil
	}
	c.failures++
	failures := c.failures
	m.mu.Unlock()

	m.logf("Check %q failure %d/%d: %v", c.name, failures, threshold, err)
	if r.kind == KindRecover || failures < threshold {
		t.Errorf("%s", text)
		return false, nil
	}
	m.logf("Check %q threshold %d hit, triggering action and recovering", c.name, threshold)
	if m.onFailure != nil {
		m.onFailure.CheckFailed(c.name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.run != r || m.closed {
		return true, nil // stopped while the actions ran
	}
	m.startLocked(c, KindRecover, true, false)
	return true, errors.New(text)
}

// succeeded tells the success handler; the caller holds no lock.
func (m *Manager) succeeded(check string) {
	if m.onSuccess != nil {
		m.onSuccess.CheckSucceeded(check)
	}
}

// info returns a snapshot of c.
func (m *Manager) info(c *check) Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.infoLocked()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// RefreshResult is the outcome of Refresh.
type RefreshResult struct {
	// Info is the check after the run.
	Info Info
	// Err is why the run failed (an *Error or a transport error; see
	// ErrorText), or ctx's error when ctx ended first; nil on success.
	Err error
}

// Refresh runs a check now and waits for the result (behaviour.md §7.7). An
// active check is run by its loop, and the result counts like a scheduled
// run; an inactive check is run once directly and nothing is recorded. An
// unknown name gives an error matching ErrNotFound.
func (m *Manager) Refresh(ctx context.Context, name string) (RefreshResult, error) {
	for {
		m.mu.Lock()
		c := m.checks[name]
		if c == nil {
			m.mu.Unlock()
			return RefreshResult{}, &NotFoundError{Names: []string{name}}
		}
		r, cfg, info := c.run, c.cfg, c.infoLocked()
		m.mu.Unlock()

		if r == nil {
			ck := m.newCk(cfg)
			err := runCheck(ctx, ck, cfg.EffectiveTimeout())
			ck.Close()
			return RefreshResult{Info: info, Err: err}, nil
		}
		req := &refreshRequest{result: make(chan refreshResult, 1)}
		select {
		case r.refresh <- req:
			select {
			case res := <-req.result:
				return RefreshResult{Info: res.info, Err: res.err}, nil
			case <-ctx.Done():
				return RefreshResult{Info: m.info(c), Err: ctx.Err()}, nil
			}
		case <-r.done:
			// That run ended (recovered, hit its threshold, or was
			// stopped); ask whatever drives the check now.
		case <-ctx.Done():
			return RefreshResult{Info: m.info(c), Err: ctx.Err()}, nil
		}
	}
}
