package checks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/checks/checker"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestMain(m *testing.M) { testutil.MainWithReaper(m) }

// newChecker is the daemon's checker constructor.
func newChecker(c *plan.Check) Checker { return checker.New(c) }

// target is an HTTP server whose answer the test switches between 200 and
// 500; it counts the requests it gets.
type target struct {
	*httptest.Server
	status atomic.Int32
	hits   atomic.Int64
	first  atomic.Int64 // unix nanoseconds of the first request
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.status.Store(200)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tg.hits.Add(1) == 1 {
			tg.first.Store(time.Now().UnixNano())
		}
		code := int(tg.status.Load())
		w.WriteHeader(code)
		if code != 200 {
			fmt.Fprintf(w, "status %d\n", code)
		}
	}))
	t.Cleanup(tg.Close)
	return tg
}

// harness is a checks Manager on an in-memory changes manager. It records
// the failure handler's calls and the daemon log.
type harness struct {
	t   *testing.T
	chg *changes.Manager
	m   *Manager

	mu     sync.Mutex
	failed []string
	logs   []string
}

func newHarness(t *testing.T, store *statefile.Store) *harness {
	t.Helper()
	return newHarnessWith(t, changes.Options{Store: store})
}

// newHarnessWith is newHarness on a changes manager built with opts.
func newHarnessWith(t *testing.T, opts changes.Options) *harness {
	t.Helper()
	h := &harness{t: t}
	chg, err := changes.New(opts)
	require.NoError(t, err)
	h.chg = chg
	h.m = New(Options{Changes: chg, OnFailure: h, Logf: h.logf, NewChecker: newChecker})
	chg.Start()
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.m.Close()
	h.chg.Close()
}

func (h *harness) CheckFailed(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed = append(h.failed, name)
}

func (h *harness) logf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, fmt.Sprintf(format, args...))
}

func (h *harness) failures() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.failed...)
}

func (h *harness) logLines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.logs...)
}

// setPlan parses layer (with URL replaced by url) and applies it.
func (h *harness) setPlan(layer string, url string) *plan.Plan {
	h.t.Helper()
	l, err := plan.ParseLayer(1, "test", []byte(strings.ReplaceAll(layer, "URL", url)))
	require.NoError(h.t, err)
	p, err := plan.NewPlan([]*plan.Layer{l})
	require.NoError(h.t, err)
	h.m.SetPlan(p)
	return p
}

func (h *harness) info(name string) Info {
	h.t.Helper()
	infos := h.m.Checks(plan.UnsetLevel, []string{name})
	require.Len(h.t, infos, 1, "check %q", name)
	return infos[0]
}

func (h *harness) change(id string) changes.ChangeInfo {
	h.t.Helper()
	c, err := h.chg.Change(id)
	require.NoError(h.t, err)
	return c
}

// waitChange waits until a change is ready.
func (h *harness) waitChange(id string) changes.ChangeInfo {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	c, err := h.chg.Wait(ctx, id)
	require.NoError(h.t, err, "change %s", id)
	return c
}

// refresh runs a check through Refresh and returns the result.
func (h *harness) refresh(name string) RefreshResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	res, err := h.m.Refresh(ctx, name)
	require.NoError(h.t, err)
	return res
}

// taskLog returns the texts (without time) of a change's first task log.
func taskLog(c changes.ChangeInfo) []string {
	var out []string
	for _, e := range c.Tasks[0].Log {
		_, rest, _ := strings.Cut(e, " ")
		out = append(out, rest)
	}
	return out
}

// A long period: runs happen only when the test refreshes.
const manualLayer = `
checks:
    web:
        override: replace
        level: alive
        period: 1h
        timeout: 2s
        threshold: 3
        http:
            url: URL
`

// TestCountingThroughRefresh drives every run by hand and checks the
// counting rules of behaviour.md §7.4, the changes and the log lines.
func TestCountingThroughRefresh(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(manualLayer, tg.URL)

	info := h.info("web")
	perform := info.ChangeID
	require.NotEmpty(t, perform)
	assert.Equal(t, Info{Name: "web", Level: plan.AliveLevel, Startup: plan.CheckStartupEnabled, Status: StatusUp,
		Threshold: 3, ChangeID: perform}, info)
	c := h.change(perform)
	assert.Equal(t, KindPerform, c.Kind)
	assert.Equal(t, `Perform HTTP check "web"`, c.Summary)
	assert.Equal(t, KindPerform, c.Tasks[0].Kind)
	assert.Equal(t, `Perform HTTP check "web"`, c.Tasks[0].Summary)
	assert.Equal(t, changes.Doing, c.Status)

	res := h.refresh("web")
	require.NoError(t, res.Err)
	assert.Equal(t, 1, res.Info.Successes)

	// Fail once, then succeed: the counter resets and the task says so.
	tg.status.Store(500)
	res = h.refresh("web")
	assert.Equal(t, "non-2xx status code 500", res.Err.Error())
	assert.Equal(t, "non-2xx status code 500; status 500", ErrorText(res.Err))
	assert.Equal(t, StatusUp, res.Info.Status)
	assert.Equal(t, 1, res.Info.Failures)
	tg.status.Store(200)
	res = h.refresh("web")
	require.NoError(t, res.Err)
	assert.Equal(t, 0, res.Info.Failures)
	assert.Equal(t, 2, res.Info.Successes)
	assert.Equal(t, []string{"ERROR non-2xx status code 500; status 500", "INFO succeeded after 1 failure"}, taskLog(h.change(perform)))

	// Exactly threshold failures make it down, fire the actions once and
	// hand over to a recover-check change.
	tg.status.Store(500)
	for i := 1; i <= 2; i++ {
		res = h.refresh("web")
		assert.Equal(t, StatusUp, res.Info.Status, "failure %d", i)
		assert.Equal(t, i, res.Info.Failures)
		assert.Empty(t, h.failures())
	}
	res = h.refresh("web")
	assert.Equal(t, StatusDown, res.Info.Status)
	assert.Equal(t, 3, res.Info.Failures)
	assert.Equal(t, []string{"web"}, h.failures())
	recover := res.Info.ChangeID
	assert.NotEqual(t, perform, recover)
	assert.Equal(t, perform, res.Info.PrevChangeID)

	c = h.waitChange(perform)
	assert.Equal(t, changes.Error, c.Status)
	assert.Equal(t, "cannot perform the following tasks:\n"+
		"- Perform HTTP check \"web\" (non-2xx status code 500; status 500)\n"+
		"- Perform HTTP check \"web\" (non-2xx status code 500; status 500)\n"+
		"- Perform HTTP check \"web\" (non-2xx status code 500; status 500)\n"+
		"- Perform HTTP check \"web\" (non-2xx status code 500; status 500)", c.Err)
	rc := h.change(recover)
	assert.Equal(t, KindRecover, rc.Kind)
	assert.Equal(t, `Recover HTTP check "web"`, rc.Summary)
	assert.False(t, rc.Ready)

	// Still failing: counted beyond the threshold, no more actions.
	res = h.refresh("web")
	assert.Equal(t, 4, res.Info.Failures)
	assert.Equal(t, StatusDown, res.Info.Status)
	assert.Equal(t, []string{"web"}, h.failures())
	assert.Equal(t, []string{"ERROR non-2xx status code 500; status 500"}, taskLog(h.change(recover)))

	// The first success recovers.
	tg.status.Store(200)
	res = h.refresh("web")
	require.NoError(t, res.Err)
	assert.Equal(t, StatusUp, res.Info.Status)
	assert.Equal(t, 1, res.Info.Successes)
	assert.Equal(t, 0, res.Info.Failures)
	assert.Equal(t, recover, res.Info.PrevChangeID)
	perform2 := res.Info.ChangeID
	assert.NotContains(t, []string{perform, recover, ""}, perform2)
	assert.Equal(t, changes.Done, h.waitChange(recover).Status)
	assert.Equal(t, KindPerform, h.change(perform2).Kind)

	// A new episode fires the actions again.
	tg.status.Store(500)
	for i := 0; i < 3; i++ {
		h.refresh("web")
	}
	assert.Equal(t, []string{"web", "web"}, h.failures())

	logs := strings.Join(h.logLines(), "\n")
	assert.Contains(t, logs, `Check "web" failure 1/3: non-2xx status code 500`+"\n"+
		`Check "web" failure 2/3: non-2xx status code 500`+"\n"+
		`Check "web" failure 3/3: non-2xx status code 500`+"\n"+
		`Check "web" threshold 3 hit, triggering action and recovering`+"\n"+
		`Check "web" failure 4/3: non-2xx status code 500`)
	assert.NotContains(t, logs, "; status 500", "the daemon log carries the message only")

	m := h.m.Metrics()
	assert.Equal(t, []Metric{{Name: "web", Status: StatusDown, Successes: 3, Failures: 8}}, m)
}

// TestScheduling runs a check on its own with a short period: the first run
// comes one period after the start, and a failing target reaches the
// threshold and recovers by itself.
func TestScheduling(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	start := time.Now()
	h.setPlan(`
checks:
    web:
        override: replace
        period: 100ms
        threshold: 2
        http:
            url: URL
`, tg.URL)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if n := tg.hits.Load(); n < 5 {
			return fmt.Errorf("%d hits", n)
		}
		return nil
	})
	assert.GreaterOrEqual(t, time.Unix(0, tg.first.Load()).Sub(start), 100*time.Millisecond)
	assert.Equal(t, StatusUp, h.info("web").Status)
	assert.GreaterOrEqual(t, h.info("web").Successes, 4)

	tg.status.Store(500)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s := h.info("web").Status; s != StatusDown {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	assert.Equal(t, []string{"web"}, h.failures())
	assert.False(t, h.m.Healthy(plan.UnsetLevel, nil))

	tg.status.Store(200)
	testutil.WaitFor(t, 10*time.Second, func() error {
		if s := h.info("web").Status; s != StatusUp {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	assert.True(t, h.m.Healthy(plan.UnsetLevel, nil))
	assert.Equal(t, []string{"web"}, h.failures(), "recovery fires nothing")
}

func TestRefreshInactive(t *testing.T) {
	tg := newTarget(t)
	tg.status.Store(500)
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    off:
        override: replace
        startup: disabled
        http:
            url: URL
`, tg.URL)
	info := h.info("off")
	assert.Equal(t, Info{Name: "off", Startup: plan.CheckStartupDisabled, Status: StatusInactive, Threshold: 3}, info)
	res := h.refresh("off")
	assert.Equal(t, "non-2xx status code 500; status 500", ErrorText(res.Err))
	assert.Equal(t, info, res.Info)
	assert.Equal(t, info, h.info("off"), "counters untouched")
	assert.Empty(t, h.chg.Changes(changes.SelectAll, ""), "no change made")

	_, err := h.m.Refresh(t.Context(), "nope")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestRefreshCancelled(t *testing.T) {
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    slow:
        override: replace
        period: 1h
        timeout: 30s
        exec:
            command: sleep 30
`, "")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res, err := h.m.Refresh(ctx, "slow")
	require.NoError(t, err)
	assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
	assert.Equal(t, StatusUp, res.Info.Status)
}

func TestStartStopChecks(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    a:
        override: replace
        period: 1h
        http:
            url: URL
    b:
        override: replace
        period: 1h
        startup: disabled
        tcp:
            port: 1
`, tg.URL)
	h.refresh("a")
	first := h.info("a").ChangeID

	_, err := h.m.StopChecks([]string{"a", "zz", "yy"})
	assert.EqualError(t, err, "cannot find checks in plan: yy, zz")
	assert.Equal(t, StatusUp, h.info("a").Status, "nothing stopped")

	stopped, err := h.m.StopChecks([]string{"b", "a", "a"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, stopped)
	info := h.info("a")
	assert.Equal(t, StatusInactive, info.Status)
	assert.Equal(t, "", info.ChangeID)
	assert.Equal(t, 1, info.Successes, "counters kept")
	assert.Equal(t, changes.Done, h.waitChange(first).Status)

	stopped, err = h.m.StopChecks([]string{"a"})
	require.NoError(t, err)
	assert.Empty(t, stopped)

	started, err := h.m.StartChecks([]string{"b", "a"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, started)
	info = h.info("a")
	assert.Equal(t, StatusUp, info.Status)
	assert.Equal(t, 0, info.Successes, "counters reset")
	assert.NotEqual(t, first, info.ChangeID)
	assert.Equal(t, `Perform TCP check "b"`, h.change(h.info("b").ChangeID).Summary)

	started, err = h.m.StartChecks([]string{"a"})
	require.NoError(t, err)
	assert.Empty(t, started)
	_, err = h.m.StartChecks([]string{"x"})
	assert.EqualError(t, err, "cannot find checks in plan: x")
}

// TestCheckChangesKeepPendingAndNameTheirCheck: however old, a check's
// change is never aborted by pruning, and its change-update notices carry
// the check's name (api.md §13.1).
func TestCheckChangesKeepPendingAndNameTheirCheck(t *testing.T) {
	tg := newTarget(t)
	h := newHarnessWith(t, changes.Options{AbortAge: time.Nanosecond})
	h.setPlan(manualLayer, tg.URL)
	h.refresh("web")
	id := h.info("web").ChangeID
	c := h.change(id)
	assert.Equal(t, map[string]string{"kind": KindPerform, "check-name": "web"}, c.NoticeData)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if age := time.Since(c.SpawnTime); age <= time.Nanosecond {
			return fmt.Errorf("change only %v old", age)
		}
		return nil
	})
	h.chg.Prune()
	assert.Equal(t, changes.Doing, h.change(id).Status, "a check's change is not aborted for its age")
	assert.Equal(t, StatusUp, h.info("web").Status)
	assert.Equal(t, id, h.info("web").ChangeID)
}

func TestPlanChanges(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	base := `
checks:
    same:
        override: replace
        period: 1h
        http:
            url: URL
    changed:
        override: replace
        period: 1h
        http:
            url: URL
    removed:
        override: replace
        period: 1h
        http:
            url: URL
    disabling:
        override: replace
        period: 1h
        http:
            url: URL
    stopped:
        override: replace
        period: 1h
        http:
            url: URL
`
	h.setPlan(base, tg.URL)
	ids := map[string]string{}
	for _, n := range []string{"same", "changed", "removed", "disabling", "stopped"} {
		h.refresh(n)
		ids[n] = h.info(n).ChangeID
	}
	_, err := h.m.StopChecks([]string{"stopped"})
	require.NoError(t, err)

	h.setPlan(`
checks:
    same:
        override: replace
        period: 1h
        http:
            url: URL
    changed:
        override: replace
        period: 1h
        threshold: 5
        http:
            url: URL
    disabling:
        override: replace
        period: 1h
        startup: disabled
        http:
            url: URL
    stopped:
        override: replace
        period: 1h
        http:
            url: URL
    new-off:
        override: replace
        startup: disabled
        http:
            url: URL
    new-on:
        override: replace
        period: 1h
        http:
            url: URL
`, tg.URL)

	same := h.info("same")
	assert.Equal(t, ids["same"], same.ChangeID, "unchanged check keeps running")
	assert.Equal(t, 1, same.Successes)

	changed := h.info("changed")
	assert.NotEqual(t, ids["changed"], changed.ChangeID)
	assert.Equal(t, 0, changed.Successes, "restarted with counters reset")
	assert.Equal(t, 5, changed.Threshold)
	assert.Equal(t, changes.Done, h.waitChange(ids["changed"]).Status)

	assert.Equal(t, changes.Done, h.waitChange(ids["removed"]).Status)
	assert.Empty(t, h.m.Checks(plan.UnsetLevel, []string{"removed"}))

	disabling := h.info("disabling")
	assert.Equal(t, ids["disabling"], disabling.ChangeID, "keeps running as it is")
	assert.Equal(t, plan.CheckStartupDisabled, disabling.Startup)

	assert.Equal(t, StatusUp, h.info("stopped").Status, "stopped enabled check started again")
	assert.Equal(t, StatusInactive, h.info("new-off").Status)
	assert.Equal(t, StatusUp, h.info("new-on").Status)

	// Replan starts inactive enabled checks only.
	_, err = h.m.StopChecks([]string{"same", "disabling"})
	require.NoError(t, err)
	assert.Equal(t, []string{"same"}, h.m.Replan())
	assert.Empty(t, h.m.Replan())
}

func TestHealthAggregation(t *testing.T) {
	h := newHarness(t, nil)
	mk := func(name string, level plan.CheckLevel, status Status) {
		c := &check{name: name, cfg: &plan.Check{Name: name, Level: level, Threshold: 1}}
		switch status {
		case StatusUp:
			c.run = &run{}
		case StatusDown:
			c.run = &run{}
			c.failures = 1
		}
		h.m.checks[name] = c
	}
	tests := []struct {
		checks  map[string][2]string // name → level, status
		level   plan.CheckLevel
		names   []string
		healthy bool
	}{
		{nil, "", nil, true},
		{map[string][2]string{"a": {"alive", "up"}}, "", nil, true},
		{map[string][2]string{"a": {"alive", "down"}}, "", nil, false},
		{map[string][2]string{"a": {"alive", "down"}}, "alive", nil, false},
		{map[string][2]string{"a": {"alive", "down"}}, "ready", nil, false},
		{map[string][2]string{"r": {"ready", "down"}}, "alive", nil, true},
		{map[string][2]string{"r": {"ready", "down"}}, "ready", nil, false},
		{map[string][2]string{"n": {"", "down"}}, "", nil, false},
		{map[string][2]string{"n": {"", "down"}}, "alive", nil, true},
		{map[string][2]string{"n": {"", "down"}}, "ready", nil, true},
		{map[string][2]string{"a": {"alive", "inactive"}}, "", nil, true},
		{map[string][2]string{"a": {"alive", "down"}, "b": {"alive", "up"}}, "", []string{"b"}, true},
		{map[string][2]string{"a": {"alive", "down"}, "b": {"alive", "up"}}, "", []string{"a", "b"}, false},
		{map[string][2]string{"a": {"alive", "down"}}, "", []string{"nope"}, true},
	}
	for i, tt := range tests {
		h.m.mu.Lock()
		h.m.checks = map[string]*check{}
		for name, ls := range tt.checks {
			mk(name, plan.CheckLevel(ls[0]), Status(ls[1]))
		}
		h.m.mu.Unlock()
		assert.Equal(t, tt.healthy, h.m.Healthy(tt.level, tt.names), "case %d: %v level %q names %v", i, tt.checks, tt.level, tt.names)
	}
	h.m.mu.Lock()
	h.m.checks = map[string]*check{}
	h.m.mu.Unlock()
}

func TestChecksFilter(t *testing.T) {
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    a:
        override: replace
        level: alive
        startup: disabled
        tcp:
            port: 1
    r:
        override: replace
        level: ready
        startup: disabled
        tcp:
            port: 1
    n:
        override: replace
        startup: disabled
        tcp:
            port: 1
`, "")
	names := func(infos []Info) []string {
		var out []string
		for _, i := range infos {
			out = append(out, i.Name)
		}
		return out
	}
	assert.Equal(t, []string{"a", "n", "r"}, names(h.m.Checks("", nil)))
	assert.Equal(t, []string{"a"}, names(h.m.Checks(plan.AliveLevel, nil)))
	assert.Equal(t, []string{"r"}, names(h.m.Checks(plan.ReadyLevel, nil)), "exact match")
	assert.Equal(t, []string{"n", "r"}, names(h.m.Checks("", []string{"r", "n", "x"})))
}

// TestRestart: a daemon that stops with a check running leaves its change
// Done; one that dies leaves it running, and the next daemon finishes it.
// Either way the next daemon starts a fresh change (behaviour.md §7.8).
func TestRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			tg := newTarget(t)
			path := filepath.Join(t.TempDir(), "state")
			store, err := statefile.Open(path)
			require.NoError(t, err)
			h := newHarness(t, store)
			h.setPlan(manualLayer, tg.URL)
			first := h.info("web").ChangeID
			if !crash {
				h.close()
			}
			require.NoError(t, store.Close()) // after a crash: what was on disk

			store, err = statefile.Open(path)
			require.NoError(t, err)
			defer store.Close()
			h2 := newHarness(t, store)
			c := h2.change(first)
			assert.True(t, c.Ready)
			assert.Equal(t, changes.Done, c.Status)
			h2.setPlan(manualLayer, tg.URL)
			second := h2.info("web").ChangeID
			assert.NotEqual(t, first, second)
			assert.Equal(t, changes.Doing, h2.change(second).Status)
		})
	}
}

// TestCloseDuringRun: closing the manager ends a running exec check at once.
func TestCloseDuringRun(t *testing.T) {
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    slow:
        override: replace
        period: 50ms
        exec:
            command: sleep 30
`, "")
	id := h.info("slow").ChangeID
	time.Sleep(150 * time.Millisecond) // let a run start; not an assertion
	start := time.Now()
	h.m.Close()
	assert.Less(t, time.Since(start), 5*time.Second)
	h.chg.Close()
	assert.Equal(t, changes.Done, h.change(id).Status)
}

// TestChangeAbortedFromOutside: aborting a check's change through the
// changes API stops the check, as stop-checks does; refresh then runs it
// directly.
func TestChangeAbortedFromOutside(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(manualLayer, tg.URL)
	id := h.info("web").ChangeID
	_, err := h.chg.Abort(id)
	require.NoError(t, err)
	assert.Equal(t, changes.Done, h.waitChange(id).Status)
	testutil.WaitFor(t, 5*time.Second, func() error {
		if s := h.info("web").Status; s != StatusInactive {
			return fmt.Errorf("status %s", s)
		}
		return nil
	})
	res := h.refresh("web")
	require.NoError(t, res.Err)
	assert.Equal(t, StatusInactive, res.Info.Status)
	assert.Equal(t, []string{"web"}, h.m.Replan())
}

// TestRefreshAfterClose: a refresh after Close does not wait for a loop
// that has ended.
func TestRefreshAfterClose(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(manualLayer, tg.URL)
	h.m.Close()
	res := h.refresh("web")
	require.NoError(t, res.Err)
}

// TestChanged: the channel of Changed is closed by each recorded result, a
// stop, a start and a new plan, and not otherwise.
func TestChanged(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(`
checks:
    a:
        override: replace
        period: 1h
        http:
            url: URL
`, tg.URL)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := h.m.Changed()
	assert.False(t, closed(ch), "nothing happened yet")
	h.refresh("a")
	assert.True(t, closed(ch), "a success")
	tg.status.Store(500)
	ch = h.m.Changed()
	h.refresh("a")
	assert.True(t, closed(ch), "a failure")
	ch = h.m.Changed()
	_, err := h.m.StopChecks([]string{"a"})
	require.NoError(t, err)
	assert.True(t, closed(ch), "a stop")
	ch = h.m.Changed()
	_, err = h.m.StartChecks([]string{"a"})
	require.NoError(t, err)
	assert.True(t, closed(ch), "a start")
	ch = h.m.Changed()
	h.setPlan(`
checks:
    a:
        override: replace
        period: 1h
        threshold: 1
        http:
            url: URL
`, tg.URL)
	assert.True(t, closed(ch), "a new plan")
	assert.False(t, closed(h.m.Changed()))
}
