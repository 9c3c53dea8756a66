package changes

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/testutil"
)

func ok(context.Context, *Task) error { return nil }

func TestSingleTaskDone(t *testing.T) {
	testutil.CheckLeaks(t)
	clock := newFakeClock()
	m := newManager(t, Options{Now: clock.Now})
	m.Register("noop", Kind{Run: func(ctx context.Context, task *Task) error {
		task.Logf("Service %q already started.", "a")
		return task.Set(map[string]int{"exit-code": 0})
	}})
	m.Start()
	info := m.Add(NewChange{Kind: "start", Summary: `Start service "a"`, Services: []string{"a"},
		Tasks: []TaskSpec{{Kind: "noop", Summary: `Start service "a"`}}})
	if info.ID != "1" || info.Kind != "start" || info.Tasks[0].ID != "1" {
		t.Fatalf("unexpected IDs in %+v", info)
	}
	if !info.SpawnTime.Equal(clock.Now()) {
		t.Errorf("spawn time %v, want %v", info.SpawnTime, clock.Now())
	}
	info = waitReady(t, m, info.ID)
	if info.Status != Done || !info.Ready || info.Err != "" {
		t.Errorf("change: status %v ready %v err %q", info.Status, info.Ready, info.Err)
	}
	if info.ReadyTime.IsZero() {
		t.Errorf("ready time not set")
	}
	task := info.Tasks[0]
	if task.Status != Done || task.ProgressDone != 1 || task.ProgressTotal != 1 || task.ReadyTime.IsZero() {
		t.Errorf("task: %+v", task)
	}
	want := clock.Now().Local().Format(time.RFC3339) + ` INFO Service "a" already started.`
	if len(task.Log) != 1 || task.Log[0] != want {
		t.Errorf("log = %q, want [%q]", task.Log, want)
	}
	if string(task.Data) != `{"exit-code":0}` {
		t.Errorf("data = %s", task.Data)
	}
}

func TestProgressAndNotStarted(t *testing.T) {
	m := newManager(t, Options{})
	m.Register("noop", Kind{Run: ok})
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "noop", Summary: "t"}}})
	// Not started: nothing runs.
	if info.Status != Do || info.Ready || info.Tasks[0].ProgressDone != 0 || !info.ReadyTime.IsZero() {
		t.Fatalf("before Start: %+v", info)
	}
	m.Start()
	if got := waitReady(t, m, info.ID); got.Status != Done {
		t.Errorf("after Start: %v", got.Status)
	}
}

func TestWaitForChain(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newManager(t, Options{})
	var mu sync.Mutex
	var order []string
	running := atomic.Int32{}
	m.Register("step", Kind{Run: func(ctx context.Context, task *Task) error {
		if running.Add(1) != 1 {
			t.Errorf("task %s runs concurrently with another", task.Summary())
		}
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		order = append(order, task.Summary())
		mu.Unlock()
		running.Add(-1)
		return nil
	}})
	m.Start()
	lane := m.NewLane()
	var tasks []TaskSpec
	for i := range 5 {
		spec := TaskSpec{Kind: "step", Summary: fmt.Sprint(i), Lanes: []int{lane}}
		if i > 0 {
			spec.WaitFor = []int{i - 1}
		}
		tasks = append(tasks, spec)
	}
	info := waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "chain", Tasks: tasks}).ID)
	if info.Status != Done {
		t.Fatalf("status %v", info.Status)
	}
	if got := strings.Join(order, ","); got != "0,1,2,3,4" {
		t.Errorf("order %s", got)
	}
}

func TestWaitForAll(t *testing.T) {
	// A restart: two stops, then a start that waits for both.
	m := newManager(t, Options{})
	g := newGate()
	m.Register("stop", Kind{Run: g.Run})
	started := make(chan struct{})
	m.Register("start", Kind{Run: func(context.Context, *Task) error { close(started); return nil }})
	m.Start()
	info := m.Add(NewChange{Kind: "restart", Summary: "r", Tasks: []TaskSpec{
		{Kind: "stop", Summary: "stop a", Lanes: []int{m.NewLane()}},
		{Kind: "stop", Summary: "stop b", Lanes: []int{m.NewLane()}},
		{Kind: "start", Summary: "start a", Lanes: []int{m.NewLane()}, WaitFor: []int{0, 1}},
	}})
	g.waitStarted(t)
	g.waitStarted(t)
	g.release <- nil
	select {
	case <-started:
		t.Fatal("start ran before both stops were done")
	case <-time.After(20 * time.Millisecond):
	}
	g.release <- nil
	if got := waitReady(t, m, info.ID); got.Status != Done {
		t.Errorf("status %v: %s", got.Status, taskStatuses(got))
	}
}

func TestIndependentTasksRunConcurrently(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newManager(t, Options{})
	const n = 200
	var wg sync.WaitGroup
	wg.Add(n)
	m.Register("start", Kind{Run: func(ctx context.Context, task *Task) error {
		wg.Done()
		wg.Wait() // returns only once all n handlers run at the same time
		return nil
	}})
	m.Start()
	var tasks []TaskSpec
	for i := range n {
		tasks = append(tasks, TaskSpec{Kind: "start", Summary: fmt.Sprint(i), Lanes: []int{m.NewLane()}})
	}
	info := waitReady(t, m, m.Add(NewChange{Kind: "start", Summary: "many", Tasks: tasks}).ID)
	if info.Status != Done {
		t.Errorf("status %v", info.Status)
	}
}

func TestFailurePropagationLanes(t *testing.T) {
	testutil.CheckLeaks(t)
	logs := &testLogf{}
	m := newManager(t, Options{Logf: logs.Logf})
	fail := func(ctx context.Context, task *Task) error {
		return errors.New("cannot start service: exited quickly with code 1")
	}
	g := newGate()
	ran := make(chan string, 10)
	m.Register("fail", Kind{Run: fail})
	m.Register("slow", Kind{Run: g.Run})
	m.Register("ok", Kind{Run: func(ctx context.Context, task *Task) error { ran <- task.Summary(); return nil }})
	m.Start()
	l1, l2 := m.NewLane(), m.NewLane()
	info := m.Add(NewChange{Kind: "start", Summary: "start all", Tasks: []TaskSpec{
		{Kind: "slow", Summary: "b1", Lanes: []int{l2}},                            // 0
		{Kind: "fail", Summary: "a1", Lanes: []int{l1}},                            // 1
		{Kind: "ok", Summary: "a2", Lanes: []int{l1}, WaitFor: []int{1}},           // 2
		{Kind: "ok", Summary: "b2", Lanes: []int{l2}, WaitFor: []int{0}},           // 3
		{Kind: "ok", Summary: "a3", Lanes: []int{l1}, WaitFor: []int{2}},           // 4
		{Kind: "ok", Summary: "c (waits a2)", Lanes: []int{l2}, WaitFor: []int{2}}, // 5: other lane, waits for a held task
		{Kind: "ok", Summary: "d", Lanes: []int{l1}, WaitFor: []int{0}},            // 6: lane 1, waits for lane 2 only
	}})
	g.waitStarted(t)
	testutil.WaitFor(t, 5*time.Second, func() error {
		c, _ := m.Change(info.ID)
		if c.Tasks[1].Status != Error {
			return fmt.Errorf("a1 is %v", c.Tasks[1].Status)
		}
		return nil
	})
	c, _ := m.Change(info.ID)
	if got, want := taskStatuses(c), "b1:Doing a1:Error a2:Hold b2:Do a3:Hold c (waits a2):Hold d:Hold"; got != want {
		t.Errorf("after failure:\n got %s\nwant %s", got, want)
	}
	if c.Status != Doing || c.Ready {
		t.Errorf("change %v while the other lane runs", c.Status)
	}
	// Every held task says which failure held it.
	reason := fmt.Sprintf("INFO Not run: task %s (a1) failed", c.Tasks[1].ID)
	for _, i := range []int{2, 4, 5, 6} {
		if log := c.Tasks[i].Log; len(log) != 1 || !strings.HasSuffix(log[0], reason) {
			t.Errorf("task %s log %q, want one entry ending %q", c.Tasks[i].Summary, log, reason)
		}
	}
	g.release <- nil
	c = waitReady(t, m, info.ID)
	if got, want := taskStatuses(c), "b1:Done a1:Error a2:Hold b2:Done a3:Hold c (waits a2):Hold d:Hold"; got != want {
		t.Errorf("at end:\n got %s\nwant %s", got, want)
	}
	if c.Status != Error {
		t.Errorf("change status %v", c.Status)
	}
	if want := "cannot perform the following tasks:\n- a1 (cannot start service: exited quickly with code 1)"; c.Err != want {
		t.Errorf("err = %q, want %q", c.Err, want)
	}
	if got := <-ran; got != "b2" {
		t.Errorf("ran %s", got)
	}
	// The task's goroutine logs its failure after recording it.
	testutil.WaitFor(t, 5*time.Second, func() error {
		if !slices.Contains(logs.Lines(), "Change 1 task (a1) failed: cannot start service: exited quickly with code 1") {
			return fmt.Errorf("daemon log: %q", logs.Lines())
		}
		return nil
	})
	if c.Tasks[2].ProgressDone != 1 || c.Tasks[2].ReadyTime.IsZero() {
		t.Errorf("held task progress/ready-time: %+v", c.Tasks[2])
	}
}

func TestFailureWithoutLanesHoldsAll(t *testing.T) {
	m := newManager(t, Options{})
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Register("fail", Kind{Run: func(context.Context, *Task) error { return errors.New("boom") }})
	m.Register("ok", Kind{Run: ok})
	m.Start()
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{
		{Kind: "slow", Summary: "slow"},
		{Kind: "ok", Summary: "after slow", WaitFor: []int{0}},
		{Kind: "fail", Summary: "fail"},
	}})
	g.waitStarted(t)
	testutil.WaitFor(t, 5*time.Second, func() error {
		c, _ := m.Change(info.ID)
		if got := taskStatuses(c); got != "slow:Doing after slow:Hold fail:Error" {
			return errors.New(got)
		}
		return nil
	})
	g.release <- nil
	c := waitReady(t, m, info.ID)
	if got := taskStatuses(c); got != "slow:Done after slow:Hold fail:Error" || c.Status != Error {
		t.Errorf("%v: %s", c.Status, got)
	}
}

func TestErrText(t *testing.T) {
	m := newManager(t, Options{})
	m.Register("check", Kind{Run: func(ctx context.Context, task *Task) error {
		task.Logf("not an error")
		task.Errorf("dial tcp: connection refused")
		task.Errorf("dial tcp: timeout")
		return errors.New("threshold 3 hit")
	}})
	m.Register("fail", Kind{Run: func(context.Context, *Task) error { return errors.New("second") }})
	m.Start()
	info := waitReady(t, m, m.Add(NewChange{Kind: "perform-check", Summary: "s", Tasks: []TaskSpec{
		{Kind: "check", Summary: "Perform HTTP check \"c\"", Lanes: []int{1}},
		{Kind: "fail", Summary: "other", Lanes: []int{2}},
	}}).ID)
	want := "cannot perform the following tasks:\n" +
		"- Perform HTTP check \"c\" (dial tcp: connection refused)\n" +
		"- Perform HTTP check \"c\" (dial tcp: timeout)\n" +
		"- Perform HTTP check \"c\" (threshold 3 hit)\n" +
		"- other (second)"
	if info.Err != want {
		t.Errorf("err:\n%s\nwant:\n%s", info.Err, want)
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) (INFO|ERROR) `)
	for _, e := range info.Tasks[0].Log {
		if !re.MatchString(e) {
			t.Errorf("bad log entry %q", e)
		}
	}
}

func TestLogKeepsLastTen(t *testing.T) {
	m := newManager(t, Options{})
	m.Register("chatty", Kind{Run: func(ctx context.Context, task *Task) error {
		for i := range 15 {
			task.Logf("line %d", i)
		}
		return nil
	}})
	m.Start()
	info := waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "chatty", Summary: "t"}}}).ID)
	log := info.Tasks[0].Log
	if len(log) != 10 || !strings.HasSuffix(log[0], "INFO line 5") || !strings.HasSuffix(log[9], "INFO line 14") {
		t.Errorf("log = %q", log)
	}
}

func TestAbortRunning(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newManager(t, Options{})
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Register("stubborn", Kind{Run: func(ctx context.Context, task *Task) error {
		<-ctx.Done()
		return nil // finishes its work despite the abort
	}})
	m.Register("ok", Kind{Run: ok})
	m.Start()
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{
		{Kind: "slow", Summary: "slow", Lanes: []int{1}},
		{Kind: "stubborn", Summary: "stubborn", Lanes: []int{2}},
		{Kind: "ok", Summary: "next", Lanes: []int{1}, WaitFor: []int{0}},
	}})
	g.waitStarted(t)
	testutil.WaitFor(t, 5*time.Second, func() error {
		c, _ := m.Change(info.ID)
		if c.Tasks[1].Status != Doing {
			return fmt.Errorf("stubborn is %v", c.Tasks[1].Status)
		}
		return nil
	})
	ab, err := m.Abort(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ab.Status != Abort || taskStatuses(ab) != "slow:Abort stubborn:Abort next:Hold" {
		t.Errorf("right after abort: %v %s", ab.Status, taskStatuses(ab))
	}
	c := waitReady(t, m, info.ID)
	if c.Status != Error || taskStatuses(c) != "slow:Error stubborn:Done next:Hold" {
		t.Errorf("after abort: %v %s", c.Status, taskStatuses(c))
	}
	if want := "cannot perform the following tasks:\n- slow (context canceled)"; c.Err != want {
		t.Errorf("err %q", c.Err)
	}
	_, err = m.Abort(info.ID)
	if !errors.Is(err, ErrNothingPending) || err.Error() != "cannot abort change 1 with nothing pending" {
		t.Errorf("second abort: %v", err)
	}
	_, err = m.Abort("99")
	if !errors.Is(err, ErrNotFound) || err.Error() != `cannot find change with id "99"` {
		t.Errorf("abort unknown: %v", err)
	}
}

func TestAbortBeforeStartHoldsEverything(t *testing.T) {
	m := newManager(t, Options{})
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "x", Summary: "a"}}})
	ab, err := m.Abort(info.ID)
	if err != nil || ab.Status != Hold || !ab.Ready || ab.ReadyTime.IsZero() {
		t.Fatalf("abort: %v %+v", err, ab)
	}
	waitReady(t, m, info.ID)
}

// waitFunc is Manager.Wait as a stack trace names it: the tests of waiting
// wait until their waiters are parked in it, so that they test the wait and
// not an early return.
const waitFunc = "internal/changes.(*Manager).Wait"

func TestWaitTimeoutAndCancel(t *testing.T) {
	testutil.CheckLeaks(t)
	m := newManager(t, Options{})
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Start()
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "slow", Summary: "a"}}})
	g.waitStarted(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := m.Wait(ctx, info.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: %v", err)
	}
	if _, err := m.Wait(context.Background(), "42"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}

	// A thousand waiters that go away while waiting leave nothing behind.
	waitersCtx, cancelWaiters := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Wait(waitersCtx, info.ID)
			errs <- err
		}()
	}
	testutil.WaitBlockedIn(t, 10*time.Second, 1000, waitFunc)
	cancelWaiters()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter: %v", err)
		}
	}

	// A waiter that stays sees the change when it is ready.
	got := make(chan ChangeInfo, 1)
	go func() {
		c, _ := m.Wait(context.Background(), info.ID)
		got <- c
	}()
	testutil.WaitBlockedIn(t, 10*time.Second, 1, waitFunc)
	g.release <- nil
	select {
	case c := <-got:
		if c.Status != Done {
			t.Errorf("waiter saw %v", c.Status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter not woken")
	}
}

func TestWaitReturnsOnClose(t *testing.T) {
	m := newManager(t, Options{})
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "x", Summary: "a"}}})
	done := make(chan error, 1)
	go func() {
		_, err := m.Wait(context.Background(), info.ID)
		done <- err
	}()
	testutil.WaitBlockedIn(t, 10*time.Second, 1, waitFunc)
	m.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close: %v", err)
	}
}

func TestNoHandler(t *testing.T) {
	m := newManager(t, Options{})
	m.Register("ok", Kind{Run: ok})
	m.Start()
	info := waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{
		{Kind: "mystery", Summary: "a"},
		{Kind: "ok", Summary: "b", WaitFor: []int{0}},
	}}).ID)
	if info.Status != Done || taskStatuses(info) != "a:Done b:Done" {
		t.Fatalf("%v %s", info.Status, taskStatuses(info))
	}
	if log := info.Tasks[0].Log; len(log) != 1 || !strings.HasSuffix(log[0], ` INFO no handler for task "mystery", task ignored`) {
		t.Errorf("log %q", log)
	}
}

func TestAddWithoutTasks(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, Options{Now: clock.Now})
	m.Start()
	hold := m.Add(NewChange{Kind: "replan", Summary: "Replan - no services"})
	if hold.Status != Hold || !hold.Ready || hold.ReadyTime.IsZero() || hold.Tasks != nil {
		t.Errorf("task-less Add: %+v", hold)
	}
	done := m.AddDone(NewChange{Kind: "replan", Summary: "Replan - no services"})
	if done.Status != Done || !done.Ready || !done.ReadyTime.Equal(clock.Now()) || done.ID != "2" {
		t.Errorf("AddDone: %+v", done)
	}
	if _, err := m.Abort(done.ID); !errors.Is(err, ErrNothingPending) {
		t.Errorf("abort done: %v", err)
	}
}

func TestChangesSelectAndService(t *testing.T) {
	m := newManager(t, Options{})
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Start()
	a := m.Add(NewChange{Kind: "start", Summary: "a", Services: []string{"a"}, Tasks: []TaskSpec{{Kind: "slow", Summary: "a"}}})
	b := m.AddDone(NewChange{Kind: "replan", Summary: "b", Services: []string{"a", "b"}})
	c := m.Add(NewChange{Kind: "start", Summary: "c", Services: []string{"c"}})
	ids := func(cs []ChangeInfo) string {
		var s []string
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		sel     Select
		service string
		want    string
	}{
		{SelectInProgress, "", a.ID},
		{SelectReady, "", b.ID + "," + c.ID},
		{SelectAll, "", a.ID + "," + b.ID + "," + c.ID},
		{SelectAll, "a", a.ID + "," + b.ID},
		{SelectReady, "b", b.ID},
		{SelectAll, "zzz", ""},
	}
	for _, tt := range tests {
		if got := ids(m.Changes(tt.sel, tt.service)); got != tt.want {
			t.Errorf("Changes(%d, %q) = %s, want %s", tt.sel, tt.service, got, tt.want)
		}
	}
	g.waitStarted(t)
	g.release <- nil
	waitReady(t, m, a.ID)
}

func TestTaskLookupAndData(t *testing.T) {
	m := newManager(t, Options{})
	type req struct {
		Name string `json:"name"`
	}
	got := make(chan string, 1)
	m.Register("exec", Kind{Run: func(ctx context.Context, task *Task) error {
		var r req
		if err := task.Get(&r); err != nil {
			return err
		}
		got <- r.Name + " " + task.Kind() + " " + task.ChangeID() + " " + task.ID()
		return task.Set(map[string]int{"exit-code": 3})
	}})
	m.Register("nodata", Kind{Run: func(ctx context.Context, task *Task) error {
		var r req
		return task.Get(&r)
	}})
	m.Start()
	info := waitReady(t, m, m.Add(NewChange{Kind: "exec", Summary: "s", Tasks: []TaskSpec{
		{Kind: "exec", Summary: "x", Data: req{Name: "echo"}},
	}}).ID)
	if s := <-got; s != "echo exec 1 1" {
		t.Errorf("handler saw %q", s)
	}
	ti, ci, err := m.Task(info.Tasks[0].ID)
	if err != nil || ci.ID != info.ID || string(ti.Data) != `{"exit-code":3}` {
		t.Errorf("Task: %v %+v %+v", err, ti, ci)
	}
	if _, _, err := m.Task("77"); !errors.Is(err, ErrNotFound) || err.Error() != `cannot find task with id "77"` {
		t.Errorf("unknown task: %v", err)
	}
	info = waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "nodata", Summary: "n"}}}).ID)
	if info.Status != Error || !strings.Contains(info.Err, "no data") {
		t.Errorf("Get without data: %v %q", info.Status, info.Err)
	}
}

func TestOnStatus(t *testing.T) {
	var mu sync.Mutex
	var events []string
	var m *Manager
	m = newManager(t, Options{OnStatus: func(c ChangeInfo) {
		mu.Lock()
		events = append(events, c.ID+":"+c.Status.String())
		mu.Unlock()
		// The hook may call back into the manager.
		if _, err := m.Change(c.ID); err != nil {
			t.Errorf("Change from hook: %v", err)
		}
	}})
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Register("fail", Kind{Run: func(context.Context, *Task) error { return errors.New("x") }})
	m.Start()
	a := m.Add(NewChange{Kind: "k", Summary: "a", Tasks: []TaskSpec{{Kind: "slow", Summary: "a"}}})
	g.waitStarted(t)
	g.release <- nil
	waitReady(t, m, a.ID)
	b := waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "b", Tasks: []TaskSpec{{Kind: "fail", Summary: "b"}}}).ID)
	c := m.Add(NewChange{Kind: "k", Summary: "c", Tasks: []TaskSpec{{Kind: "slow", Summary: "c"}}})
	g.waitStarted(t)
	m.Abort(c.ID)
	waitReady(t, m, c.ID)
	m.AddDone(NewChange{Kind: "k", Summary: "d"})
	want := []string{"1:Do", "1:Done", b.ID + ":Do", b.ID + ":Error", c.ID + ":Do", c.ID + ":Abort", c.ID + ":Error", "4:Done"}
	testutil.WaitFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(events, want) {
			return fmt.Errorf("events %q, want %q", events, want)
		}
		return nil
	})
}

func TestCloseIdempotentAndNoLeak(t *testing.T) {
	testutil.CheckLeaks(t)
	m, err := New(Options{PruneInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	m.Register("slow", Kind{Run: g.Run})
	m.Start()
	info := m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "slow", Summary: "a"}, {Kind: "slow", Summary: "b"}}})
	g.waitStarted(t)
	g.waitStarted(t)
	m.Close()
	m.Close()
	// Handlers interrupted by Close leave their tasks running, for the next
	// daemon to resolve.
	c, _ := m.Change(info.ID)
	if taskStatuses(c) != "a:Doing b:Doing" {
		t.Errorf("after Close: %s", taskStatuses(c))
	}
	// Nothing runs after Close.
	c = m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "slow", Summary: "c"}}})
	if c.Status != Do {
		t.Errorf("Add after Close: %v", c.Status)
	}
}

// TestNoticeData: the data of a change's change-update notices is its kind
// plus what its creator gave, as OnStatus and every snapshot see it.
func TestNoticeData(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]map[string]string{}
	m := newManager(t, Options{OnStatus: func(c ChangeInfo) {
		mu.Lock()
		seen[c.ID] = append(seen[c.ID], c.NoticeData)
		mu.Unlock()
	}})
	m.Register("ok", Kind{Run: ok})
	m.Start()
	plain := waitReady(t, m, m.Add(NewChange{Kind: "start", Summary: "s", Tasks: []TaskSpec{{Kind: "ok", Summary: "t"}}}).ID)
	named := waitReady(t, m, m.Add(NewChange{Kind: "perform-check", Summary: "s",
		NoticeData: map[string]string{"check-name": "web", "kind": "ignored"},
		Tasks:      []TaskSpec{{Kind: "ok", Summary: "t"}}}).ID)
	if want := map[string]string{"kind": "start"}; !reflect.DeepEqual(plain.NoticeData, want) {
		t.Errorf("notice data %v, want %v", plain.NoticeData, want)
	}
	if want := map[string]string{"kind": "perform-check", "check-name": "web"}; !reflect.DeepEqual(named.NoticeData, want) {
		t.Errorf("notice data %v, want %v", named.NoticeData, want)
	}
	testutil.WaitFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		want := map[string][]map[string]string{
			plain.ID: {plain.NoticeData, plain.NoticeData},
			named.ID: {named.NoticeData, named.NoticeData},
		}
		if !reflect.DeepEqual(seen, want) {
			return fmt.Errorf("OnStatus saw %v, want %v", seen, want)
		}
		return nil
	})
}
