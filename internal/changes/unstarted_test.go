package changes

import (
	"context"
	"strings"
	"testing"

	"github.com/pebble-project/pebble/internal/testutil"
)

// A task that could have run but had not started when the daemon stopped
// gets its kind's Unstarted error; the tasks behind it go on Hold and say
// why in their log.
func TestRestartUnstarted(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	st1 := openStore(t, dir)
	m1, err := New(Options{Store: st1})
	if err != nil {
		t.Fatal(err)
	}
	// Never started: the tasks stay Do, as if the daemon died at once.
	info := m1.Add(NewChange{Kind: "workflow", Summary: "w", Tasks: []TaskSpec{
		{Kind: "step", Summary: "first"},
		{Kind: "step", Summary: "second", WaitFor: []int{0}},
		{Kind: "plain", Summary: "other"},
	}})
	m1.Close()
	if err := st1.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := newManager(t, Options{Store: openStore(t, dir)})
	ran := make(chan string, 3)
	run := func(_ context.Context, task *Task) error { ran <- task.Summary(); return nil }
	m2.Register("step", Kind{Run: run, Unstarted: "not started before the daemon stopped"})
	m2.Register("plain", Kind{Run: run})
	m2.Start()
	got := waitReady(t, m2, info.ID)
	if want := "first:Error second:Hold other:Hold"; taskStatuses(got) != want {
		t.Errorf("resolved: %s, want %s", taskStatuses(got), want)
	}
	if got.Status != Error || got.Err != "cannot perform the following tasks:\n- first (not started before the daemon stopped)" {
		t.Errorf("change: %v %q", got.Status, got.Err)
	}
	for _, tk := range got.Tasks[1:] {
		if len(tk.Log) != 1 || !strings.HasSuffix(tk.Log[0], " INFO Not run: the daemon stopped before this task started") {
			t.Errorf("held task %q log: %q", tk.Summary, tk.Log)
		}
	}
	select {
	case s := <-ran:
		t.Errorf("task %q of the old change ran", s)
	default:
	}
}
