package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
	"github.com/pebble-project/pebble/internal/testutil"
)

func TestPersistenceRoundTrip(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	ctx := context.Background()

	// First daemon.
	st1 := openStore(t, dir)
	m1, err := New(Options{Store: st1})
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	m1.Register("start", Kind{Run: g.Run})
	m1.Register("exec", Kind{Run: g.Run})
	m1.Register("ok", Kind{Run: func(ctx context.Context, task *Task) error {
		task.Logf("did it")
		return task.Set(map[string]int{"exit-code": 0})
	}})
	m1.Register("old", Kind{Run: g.Run})
	m1.Start()
	lane := m1.NewLane()
	done := waitReady(t, m1, m1.Add(NewChange{Kind: "k", Summary: "finished", Services: []string{"x"},
		Data: map[string]any{"key": "value"}, NoticeData: map[string]string{"check-name": "c1"}, KeepPending: true,
		Tasks: []TaskSpec{{Kind: "ok", Summary: "ok task", Lanes: []int{lane}}}}).ID)
	running := m1.Add(NewChange{Kind: "start", Summary: "unfinished", Tasks: []TaskSpec{
		{Kind: "start", Summary: "start a", Lanes: []int{lane}},
		{Kind: "start", Summary: "start b", Lanes: []int{lane}, WaitFor: []int{0}},
		{Kind: "exec", Summary: "exec", Lanes: []int{m1.NewLane()}},
		{Kind: "old", Summary: "old kind", Lanes: []int{m1.NewLane()}},
	}})
	for range 3 {
		g.waitStarted(t)
	}
	m1.Close()
	if err := st1.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st1.Close(); err != nil {
		t.Fatal(err)
	}

	// The file has Pebble's layout.
	data, err := os.ReadFile(filepath.Join(dir, ".pebble.state"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Changes    map[string]changeJSON `json:"changes"`
		Tasks      map[string]taskJSON   `json:"tasks"`
		LastChange int                   `json:"last-change-id"`
		LastTask   int                   `json:"last-task-id"`
		LastLane   int                   `json:"last-lane-id"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if file.LastChange != 2 || file.LastTask != 5 || file.LastLane != 3 || len(file.Changes) != 2 || len(file.Tasks) != 5 {
		t.Fatalf("file: %s", data)
	}
	if c := file.Changes[done.ID]; string(c.Data["service-names"]) != `["x"]` || string(c.Data["api-data"]) != `{"key":"value"}` ||
		string(c.Data["notice-data"]) != `{"check-name":"c1"}` || string(c.Data["check-no-prune"]) != `true` ||
		!slices.Equal(c.TaskIDs, []string{"1"}) || !c.Clean || c.Status != Default {
		t.Errorf("finished change in file: %+v", c)
	}
	if tk := file.Tasks["1"]; string(tk.Data["api-data"]) != `{"exit-code":0}` || tk.Change != done.ID || tk.Status != Done {
		t.Errorf("finished task in file: %+v", tk)
	}
	if tk := file.Tasks["3"]; !slices.Equal(tk.WaitTasks, []string{"2"}) || !slices.Equal(file.Tasks["2"].HaltTasks, []string{"3"}) {
		t.Errorf("wait/halt tasks in file: %+v %+v", tk, file.Tasks["2"])
	}

	// Second daemon over the same file.
	st2 := openStore(t, dir)
	logs := &testLogf{}
	m2 := newManager(t, Options{Store: st2, Logf: logs.Logf})
	// Before Start, loaded changes are as they were.
	before, err := m2.Change(running.ID)
	if err != nil || taskStatuses(before) != "start a:Doing start b:Do exec:Doing old kind:Doing" {
		t.Fatalf("loaded: %v %s", err, taskStatuses(before))
	}
	started := make(chan string, 10)
	record := func(ctx context.Context, task *Task) error { started <- task.Summary(); return nil }
	m2.Register("start", Kind{Run: record, Interrupted: "service already started, not retrying"})
	m2.Register("exec", Kind{Run: record})
	m2.Register("ok", Kind{Run: record})
	m2.Start()

	got := waitReady(t, m2, done.ID)
	if got.Status != Done || got.Summary != "finished" || !slices.Equal(got.Services, []string{"x"}) ||
		got.Data["key"] != "value" || !got.ReadyTime.Equal(done.ReadyTime) || !got.SpawnTime.Equal(done.SpawnTime) ||
		!maps.Equal(got.NoticeData, done.NoticeData) {
		t.Errorf("finished change after reload: %+v\nwas %+v", got, done)
	}
	if tk := got.Tasks[0]; string(tk.Data) != `{"exit-code":0}` || len(tk.Log) != 1 || !strings.HasSuffix(tk.Log[0], " INFO did it") {
		t.Errorf("finished task after reload: %+v", tk)
	}

	got = waitReady(t, m2, running.ID)
	if want := "start a:Error start b:Hold exec:Done old kind:Done"; taskStatuses(got) != want {
		t.Errorf("resolved: %s, want %s", taskStatuses(got), want)
	}
	if got.Status != Error || got.Err != "cannot perform the following tasks:\n- start a (service already started, not retrying)" {
		t.Errorf("resolved change: %v %q", got.Status, got.Err)
	}
	if log := got.Tasks[3].Log; len(log) != 1 || !strings.HasSuffix(log[0], ` INFO no handler for task "old", task ignored`) {
		t.Errorf("unknown kind log: %q", log)
	}
	// The failure is logged after it is recorded.
	testutil.WaitFor(t, 5*time.Second, func() error {
		if !slices.Contains(logs.Lines(), "Change 2 task (start a) failed: service already started, not retrying") {
			return fmt.Errorf("daemon log: %q", logs.Lines())
		}
		return nil
	})
	select {
	case s := <-started:
		t.Errorf("task %q of the old change ran", s)
	default:
	}

	// IDs continue.
	if lane := m2.NewLane(); lane != 4 {
		t.Errorf("lane %d, want 4", lane)
	}
	next := waitReady(t, m2, m2.Add(NewChange{Kind: "k", Summary: "new", Tasks: []TaskSpec{{Kind: "ok", Summary: "n"}}}).ID)
	if next.ID != "3" || next.Tasks[0].ID != "6" || next.Status != Done {
		t.Errorf("new change: %s/%s %v", next.ID, next.Tasks[0].ID, next.Status)
	}
	if s := <-started; s != "n" {
		t.Errorf("ran %q", s)
	}

	// The resolution was persisted.
	if err := st2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m2.Close()
	st2.Close()
	st3 := openStore(t, dir)
	m3 := newManager(t, Options{Store: st3})
	got, err = m3.Change(running.ID)
	if err != nil || got.Status != Error || taskStatuses(got) != "start a:Error start b:Hold exec:Done old kind:Done" {
		t.Errorf("third load: %v %v %s", err, got.Status, taskStatuses(got))
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".pebble.state")
	if err := os.WriteFile(path, []byte(`{"data":{"patch-level":2},"changes":{"1":{"id":"1","task-ids":["1"]}},"tasks":{"1":{"id":"1","change":"1","status":77}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	if _, err := New(Options{Store: st}); err == nil || !strings.Contains(err.Error(), "invalid status 77") {
		t.Errorf("New: %v", err)
	}
}

func TestSnapshotCachesReadyChanges(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	m := newManager(t, Options{Store: st})
	m.Register("ok", Kind{Run: ok})
	m.Start()
	id := waitReady(t, m, m.Add(NewChange{Kind: "k", Summary: "s", Tasks: []TaskSpec{{Kind: "ok", Summary: "t"}}}).ID).ID
	first, _ := m.snapshot()[changesKey].(statefile.Object).MarshalJSON()
	m.mu.Lock()
	cached := m.changes[id].json
	m.mu.Unlock()
	if cached == nil {
		t.Fatal("ready change not cached")
	}
	second, _ := m.snapshot()[changesKey].(statefile.Object).MarshalJSON()
	m.mu.Lock()
	same := &m.changes[id].json[0] == &cached[0]
	m.mu.Unlock()
	if !same || string(first) != string(second) {
		t.Errorf("snapshot re-encoded an unchanged change")
	}
	if !json.Valid(first) {
		t.Errorf("invalid JSON: %s", first)
	}
}

func TestPrune(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, Options{Now: clock.Now, MaxReady: 3})
	g := newGate()
	m.Register("ok", Kind{Run: ok})
	m.Register("slow", Kind{Run: g.Run})
	m.Start()
	add := func(kind string, taskKind string) string {
		nc := NewChange{Kind: kind, Summary: kind}
		if taskKind != "" {
			nc.Tasks = []TaskSpec{{Kind: taskKind, Summary: "t"}}
		}
		return m.Add(nc).ID
	}
	old := add("k", "ok")
	waitReady(t, m, old)
	stale := add("start", "slow") // never finishes on its own
	// Changes created with KeepPending are never aborted for their age,
	// whatever their kind.
	keep := func(kind string) string {
		return m.Add(NewChange{Kind: kind, Summary: kind, KeepPending: true,
			Tasks: []TaskSpec{{Kind: "slow", Summary: "t"}}}).ID
	}
	check := keep("perform-check")
	recover := keep("k")
	for range 3 {
		g.waitStarted(t)
	}
	clock.Advance(8 * 24 * time.Hour)
	var recent []string
	for range 4 {
		id := add("k", "ok")
		waitReady(t, m, id)
		recent = append(recent, id)
		clock.Advance(time.Minute)
	}
	m.Prune()
	present := func(id string) bool {
		_, err := m.Change(id)
		return err == nil
	}
	if present(old) {
		t.Errorf("ready change older than 7 days kept")
	}
	if present(recent[0]) || !present(recent[1]) || !present(recent[3]) {
		t.Errorf("MaxReady 3 not applied: %v", m.Changes(SelectReady, ""))
	}
	if _, _, err := m.Task(waitReady(t, m, recent[3]).Tasks[0].ID); err != nil {
		t.Errorf("task of kept change: %v", err)
	}
	if c, _ := m.Change(stale); c.Status != Doing {
		t.Errorf("8-day-old unready change: %v", c.Status)
	}

	clock.Advance(7 * 24 * time.Hour) // stale is now 15 days old
	m.Prune()
	c := waitReady(t, m, stale)
	if c.Status != Error || taskStatuses(c) != "t:Error" {
		t.Errorf("15-day-old change after prune: %v %s", c.Status, taskStatuses(c))
	}
	for _, id := range []string{check, recover} {
		if c, _ := m.Change(id); c.Status != Doing {
			t.Errorf("KeepPending change %s was aborted: %v", c.Kind, c.Status)
		}
	}
	// Ready changes 7 days old are gone too, also their tasks.
	if present(recent[3]) {
		t.Errorf("old ready change kept")
	}
	if _, _, err := m.Task("5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("task of pruned change: %v", err)
	}
	g.release <- nil
	g.release <- nil
}

// pebbleCheckState is a check's changes as Pebble v1.32.1 writes them
// (taken from a real file), with a data entry and a field no Pebble has.
const pebbleCheckState = `{"data":{"patch-level":2},
"changes":{"1":{"id":"1","kind":"perform-check","summary":"Perform exec check \"chk\"","status":0,"clean":true,
 "data":{"check-no-prune":true,"notice-data":{"check-name":"chk"},"future-entry":[1, 2]},"task-ids":["1"],
 "spawn-time":"2026-12-02T04:00:00.574675077Z","ready-time":"2026-12-02T04:00:00.993756587Z",
 "last-recorded-notice-status":9,"future-field":{"x":true}}},
"tasks":{"1":{"id":"1","kind":"perform-check","summary":"Perform exec check \"chk\"","status":9,"waited-status":0,"clean":true,
 "data":{"check-details":{"name":"chk","failures":1,"successes":0,"proceed":true}},
 "log":["2026-12-02T04:00:00Z ERROR exit status 1"],"change":"1",
 "spawn-time":"2026-12-02T04:00:00.574524141Z","ready-time":"2026-12-02T04:00:00.993755525Z","doing-time":367230920}},
"last-change-id":1,"last-task-id":1,"last-lane-id":0}`

// TestPebbleDataRoundTrip: what Pebble keeps in a change's and a task's data
// is read into the change, and what this daemon does not use is written
// back unchanged.
func TestPebbleDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".pebble.state")
	if err := os.WriteFile(path, []byte(pebbleCheckState), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	m := newManager(t, Options{Store: st})
	got, err := m.Change("1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Error || got.NoticeData["check-name"] != "chk" || got.NoticeData["kind"] != "perform-check" || got.Data != nil {
		t.Errorf("loaded change: %+v", got)
	}
	if tk := got.Tasks[0]; tk.Data != nil || len(tk.Log) != 1 {
		t.Errorf("loaded task: %+v (its check-details are not API data)", tk)
	}
	m.mu.Lock()
	keep := m.changes["1"].keepPending
	m.mu.Unlock()
	if !keep {
		t.Errorf("check-no-prune not read")
	}

	m.markDirty()
	if err := st.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	var was, now struct {
		Changes map[string]map[string]json.RawMessage
		Tasks   map[string]map[string]json.RawMessage
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(pebbleCheckState), &was); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &now); err != nil {
		t.Fatal(err)
	}
	for what, pair := range map[string][2]map[string]json.RawMessage{
		"change": {was.Changes["1"], now.Changes["1"]},
		"task":   {was.Tasks["1"], now.Tasks["1"]},
	} {
		for field, raw := range pair[0] {
			if !jsonEqual(raw, pair[1][field]) {
				t.Errorf("%s field %q: wrote %s, was %s", what, field, pair[1][field], raw)
			}
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
