package changes

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
)

// A daemon that took over from an upgraded one carries the changes on: a
// running task of a kind with Resume is resumed, the task waiting for it
// runs, a running task without Resume is resolved as interrupted and what
// waits for it is held.
func TestTookOverResumes(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	st1 := openStore(t, dir)
	m1, err := New(Options{Store: st1})
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan string, 2)
	block := func(ctx context.Context, task *Task) error {
		running <- task.Summary()
		<-ctx.Done()
		return ctx.Err()
	}
	m1.Register("svc", Kind{Run: block})
	m1.Register("other", Kind{Run: block})
	m1.NewLane()
	m1.NewLane()
	info := m1.Add(NewChange{Kind: "start", Summary: "s", Tasks: []TaskSpec{
		{Kind: "svc", Summary: "a", Lanes: []int{1}},
		{Kind: "svc", Summary: "b", Lanes: []int{1}, WaitFor: []int{0}},
		{Kind: "other", Summary: "c", Lanes: []int{2}},
		{Kind: "svc", Summary: "d", Lanes: []int{2}, WaitFor: []int{2}},
	}})
	m1.Start()
	<-running
	<-running
	// The exec: the handlers never return, the state file has them Doing.
	m1.Close()
	if err := st1.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := newManager(t, Options{Store: openStore(t, dir), TookOver: true})
	ran := make(chan string, 4)
	m2.Register("svc", Kind{
		Run:    func(_ context.Context, task *Task) error { ran <- "run " + task.Summary(); return nil },
		Resume: func(_ context.Context, task *Task) error { ran <- "resume " + task.Summary(); return nil },
	})
	m2.Register("other", Kind{Run: block, Interrupted: "cannot go on"})
	m2.Start()
	got := waitReady(t, m2, info.ID)
	if want := "a:Done b:Done c:Error d:Hold"; taskStatuses(got) != want {
		t.Errorf("carried on: %s, want %s", taskStatuses(got), want)
	}
	close(ran)
	var calls []string
	for c := range ran {
		calls = append(calls, c)
	}
	sort.Strings(calls)
	if want := "resume a, run b"; strings.Join(calls, ", ") != want {
		t.Errorf("handlers: %s, want %s", strings.Join(calls, ", "), want)
	}
	if log := got.Tasks[0].Log; len(log) != 1 || !strings.HasSuffix(log[0], " INFO Resumed by the upgraded daemon") {
		t.Errorf("resumed task log: %q", log)
	}
	if log := got.Tasks[2].Log; len(log) != 1 || !strings.HasSuffix(log[0], " ERROR interrupted by an upgrade of the daemon, not retrying") {
		t.Errorf("interrupted task log: %q", log)
	}
	if log := got.Tasks[3].Log; len(log) != 1 || !strings.HasSuffix(log[0], " INFO Not run: task 3 (c) failed") {
		t.Errorf("held task log: %q", log)
	}
}
