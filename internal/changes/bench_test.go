package changes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
)

// benchSetup opens a fresh store and a started manager in a new directory,
// with the timer stopped.
func benchSetup(b *testing.B, dir string, i int, run Handler) (*statefile.Store, *Manager) {
	b.StopTimer()
	defer b.StartTimer()
	sub := filepath.Join(dir, fmt.Sprint(i))
	if err := os.Mkdir(sub, 0o700); err != nil {
		b.Fatal(err)
	}
	st, err := statefile.Open(filepath.Join(sub, ".pebble.state"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	m.Register("start", Kind{Run: run})
	m.Start()
	return st, m
}

func benchTeardown(b *testing.B, st *statefile.Store, m *Manager) uint64 {
	b.StopTimer()
	defer b.StartTimer()
	m.Close()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return st.Writes()
}

// BenchmarkStartThousand runs one change of 1000 independent tasks (one lane
// each, like starting 1000 unrelated services) whose handler sleeps 5 ms,
// with the state file on disk. One op is Add, Wait and a final Sync.
func BenchmarkStartThousand(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	ctx := context.Background()
	sleep := func(ctx context.Context, t *Task) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	var writes uint64
	i := 0
	for b.Loop() {
		st, m := benchSetup(b, dir, i, sleep)
		i++
		tasks := make([]TaskSpec, n)
		for j := range tasks {
			tasks[j] = TaskSpec{Kind: "start", Summary: fmt.Sprintf("Start service \"svc%d\"", j), Lanes: []int{m.NewLane()}}
		}
		info := m.Add(NewChange{Kind: "start", Summary: "Start service \"svc0\" and 999 more", Tasks: tasks})
		if err := st.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		info, err := m.Wait(ctx, info.ID)
		if err != nil || info.Status != Done {
			b.Fatalf("%v %v", err, info.Status)
		}
		if err := st.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		writes += benchTeardown(b, st, m)
	}
	b.ReportMetric(float64(writes)/float64(i), "writes/op")
}

// BenchmarkSequentialThousand runs 1000 single-task changes one after the
// other (Add, then Wait), with the state file on disk; the state grows to
// 1000 ready changes. One op is the 1000 changes and a final Sync.
func BenchmarkSequentialThousand(b *testing.B) {
	benchSequential(b, false)
}

// BenchmarkSequentialThousandSynced is BenchmarkSequentialThousand with a
// Sync after each Add and after each Wait, as the API does before it answers.
func BenchmarkSequentialThousandSynced(b *testing.B) {
	benchSequential(b, true)
}

func benchSequential(b *testing.B, synced bool) {
	const n = 1000
	dir := b.TempDir()
	ctx := context.Background()
	var writes uint64
	i := 0
	for b.Loop() {
		st, m := benchSetup(b, dir, i, ok)
		i++
		for j := range n {
			info := m.Add(NewChange{Kind: "start", Summary: "Start service \"a\"", Services: []string{"a"},
				Tasks: []TaskSpec{{Kind: "start", Summary: fmt.Sprintf("Start service \"a%d\"", j), Lanes: []int{m.NewLane()}}}})
			if synced {
				if err := st.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := m.Wait(ctx, info.ID); err != nil {
				b.Fatal(err)
			}
			if synced {
				if err := st.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := st.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		writes += benchTeardown(b, st, m)
	}
	b.ReportMetric(float64(writes)/float64(i), "writes/op")
}

// BenchmarkSnapshot measures one snapshot of a state holding 1000 ready
// changes and one unready change of 1000 tasks of which one just moved.
func BenchmarkSnapshot(b *testing.B) {
	m, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for j := range 1000 {
		m.AddDone(NewChange{Kind: "start", Summary: "Start service \"a\"", Tasks: []TaskSpec{{Kind: "start", Summary: fmt.Sprint(j)}}})
	}
	tasks := make([]TaskSpec, 1000)
	for j := range tasks {
		tasks[j] = TaskSpec{Kind: "start", Summary: fmt.Sprint(j), Lanes: []int{m.NewLane()}}
	}
	big := m.Add(NewChange{Kind: "start", Summary: "big", Tasks: tasks})
	m.mu.Lock()
	t0 := m.changes[big.ID].tasks[0]
	m.mu.Unlock()
	m.snapshot()
	var size int
	for b.Loop() {
		t0.Logf("moved")
		// What the state file's flusher copies: the members between braces.
		file, _ := m.snapshot()[tasksKey].(statefile.Object).MarshalJSON()
		size = len(file)
	}
	b.ReportMetric(float64(size), "bytes")
}
