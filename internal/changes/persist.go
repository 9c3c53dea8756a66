package changes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/statefile"
)

// Changes and tasks are kept in the state file the way Pebble keeps them, so
// either daemon reads what the other wrote (statefile's package comment):
//
//	"changes": {"1": {"id": "1", "kind": "start", ..., "task-ids": ["1"]}, ...},
//	"tasks": {"1": {"id": "1", ..., "change": "1", "data": {"api-data": {...}}}, ...},
//	"last-change-id": 12, "last-task-id": 40, "last-lane-id": 7
//
// Statuses are the integers of behaviour.md §10.1. A change's status is 0
// unless it was set explicitly (AddDone); it is derived again on load. The
// "data" objects of changes and tasks have Pebble's entries: a change's
// services are "service-names", its NoticeData "notice-data" (without the
// kind, which is added when a notice is recorded), KeepPending is
// "check-no-prune", and the Data of a change or a task is "api-data", the
// entry Pebble's API shows. Fields and data entries this daemon does not use
// (Pebble's "doing-time", a start task's "service-request", ...) are kept as
// they were loaded and written back unchanged.

// The top-level keys of the state file this package owns.
const (
	changesKey    = "changes"
	tasksKey      = "tasks"
	lastChangeKey = "last-change-id"
	lastTaskKey   = "last-task-id"
	lastLaneKey   = "last-lane-id"
)

// stateKeys are the keys registered with the store.
var stateKeys = []string{changesKey, tasksKey, lastChangeKey, lastTaskKey, lastLaneKey}

// Entries of the "data" object of a change or task.
const (
	servicesDataKey    = "service-names"
	noticeDataKey      = "notice-data"
	keepPendingDataKey = "check-no-prune"
	apiDataKey         = "api-data"
)

type changeJSON struct {
	ID         string                     `json:"id"`
	Kind       string                     `json:"kind"`
	Summary    string                     `json:"summary"`
	Status     Status                     `json:"status"`
	Clean      bool                       `json:"clean,omitempty"`
	Data       map[string]json.RawMessage `json:"data,omitempty"`
	TaskIDs    []string                   `json:"task-ids,omitempty"`
	SpawnTime  time.Time                  `json:"spawn-time"`
	ReadyTime  time.Time                  `json:"ready-time,omitzero"`
	NoticeSeen Status                     `json:"last-recorded-notice-status,omitempty"`
}

type taskJSON struct {
	ID        string                     `json:"id"`
	Kind      string                     `json:"kind"`
	Summary   string                     `json:"summary"`
	Status    Status                     `json:"status"`
	Clean     bool                       `json:"clean,omitempty"`
	Data      map[string]json.RawMessage `json:"data,omitempty"`
	Lanes     []int                      `json:"lanes,omitempty"`
	WaitTasks []string                   `json:"wait-tasks,omitempty"`
	HaltTasks []string                   `json:"halt-tasks,omitempty"`
	Log       []string                   `json:"log,omitempty"`
	Change    string                     `json:"change"`
	SpawnTime time.Time                  `json:"spawn-time"`
	ReadyTime time.Time                  `json:"ready-time,omitzero"`
}

// knownChangeFields and knownTaskFields are the JSON names of the fields
// above; everything else in a loaded object is foreign.
var (
	knownChangeFields = jsonNames(changeJSON{})
	knownTaskFields   = jsonNames(taskJSON{})
)

// foreign is what a loaded change or task holds that this daemon does not
// use, kept to be written back as it was.
type foreign struct {
	fields map[string]json.RawMessage // object members
	data   map[string]json.RawMessage // entries of "data"
}

// snapshot returns the daemon's keys of the state file. Under the lock it
// only re-encodes the changes and tasks that moved since the previous
// snapshot and collects references to the cached encodings (which are never
// modified, only replaced); the state file's flusher copies them into the
// file's buffer after the lock is released.
func (m *Manager) snapshot() statefile.Fields {
	m.mu.Lock()
	changeParts := make([][]byte, 0, len(m.order))
	taskParts := make([][]byte, 0, m.snapParts)
	for _, c := range m.order {
		changeParts = append(changeParts, m.changeJSONLocked(c))
		for _, t := range c.tasks {
			taskParts = append(taskParts, t.jsonLocked())
		}
	}
	m.snapParts = len(taskParts)
	fields := statefile.Fields{
		lastChangeKey: m.lastChange,
		lastTaskKey:   m.lastTask,
		lastLaneKey:   m.lastLane,
	}
	m.mu.Unlock()

	fields[changesKey] = statefile.Object(changeParts)
	fields[tasksKey] = statefile.Object(taskParts)
	return fields
}

// member returns the encoding of v as the object member `"id":v`, with the
// foreign fields added.
func member(id string, v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	key, _ := json.Marshal(id)
	out := append(key, ':')
	out = append(out, b[:len(b)-1]...)
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		k, _ := json.Marshal(name)
		out = append(append(append(out, ','), k...), ':')
		out = append(out, extra[name]...)
	}
	return append(out, '}'), nil
}

// changeJSONLocked returns the cached member encoding of a change, made
// again after the change moved.
func (m *Manager) changeJSONLocked(c *change) []byte {
	if c.json != nil {
		return c.json
	}
	cj := changeJSON{
		ID:        c.id,
		Kind:      c.kind,
		Summary:   c.summary,
		Status:    c.explicit,
		Clean:     c.status.Ready(),
		TaskIDs:   make([]string, len(c.tasks)),
		SpawnTime: c.spawnTime,
		ReadyTime: c.readyTime,
		// Every status the change reached has had its change-update
		// notice, so Pebble need not record one again.
		NoticeSeen: c.status,
	}
	for i, t := range c.tasks {
		cj.TaskIDs[i] = t.id
	}
	data, err := changeData(c)
	if err != nil {
		// Only Data can fail to encode; keep the rest of the change.
		m.logf("Cannot encode data of change %s: %v", c.id, err)
		delete(data, apiDataKey)
	}
	cj.Data = data
	b, err := member(c.id, cj, c.foreign.fields)
	if err != nil {
		panic(fmt.Sprintf("changes: cannot encode change %s: %v", c.id, err))
	}
	c.json = b
	return b
}

// changeData returns the "data" object of a change. If Data cannot be
// encoded, it returns the object without it and the error.
func changeData(c *change) (map[string]json.RawMessage, error) {
	out := maps.Clone(c.foreign.data)
	set := func(key string, v any) {
		if out == nil {
			out = make(map[string]json.RawMessage, 2)
		}
		out[key], _ = json.Marshal(v)
	}
	if len(c.services) > 0 {
		set(servicesDataKey, c.services)
	}
	if len(c.noticeData) > 0 {
		extra := maps.Clone(c.noticeData)
		delete(extra, "kind")
		if len(extra) > 0 {
			set(noticeDataKey, extra)
		}
	}
	if c.keepPending {
		set(keepPendingDataKey, true)
	}
	if len(c.data) > 0 {
		b, err := json.Marshal(c.data)
		if err != nil {
			return out, err
		}
		set(apiDataKey, json.RawMessage(b))
	}
	return out, nil
}

func (t *Task) jsonLocked() []byte {
	if t.json != nil {
		return t.json
	}
	tj := taskJSON{
		ID:        t.id,
		Kind:      t.kind,
		Summary:   t.summary,
		Status:    t.status,
		Clean:     t.status.Ready(),
		Lanes:     t.lanes,
		WaitTasks: taskIDs(t.waitFor),
		HaltTasks: taskIDs(t.halts),
		Log:       t.log,
		Change:    t.change.id,
		SpawnTime: t.spawnTime,
		ReadyTime: t.readyTime,
	}
	if len(t.data) > 0 || len(t.foreign.data) > 0 {
		tj.Data = maps.Clone(t.foreign.data)
		if tj.Data == nil {
			tj.Data = make(map[string]json.RawMessage, 1)
		}
		if len(t.data) > 0 {
			tj.Data[apiDataKey] = t.data
		}
	}
	b, err := member(t.id, tj, t.foreign.fields)
	if err != nil {
		// Data is always produced by json.Marshal, so this cannot happen.
		panic(fmt.Sprintf("changes: cannot encode task %s: %v", t.id, err))
	}
	t.json = b
	return b
}

func taskIDs(tasks []*Task) []string {
	if len(tasks) == 0 {
		return nil
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.id
	}
	return ids
}

// load rebuilds the changes of a loaded state file. Unfinished changes are
// left for Start to resolve.
func (m *Manager) load(st *statefile.Store) error {
	var changes map[string]json.RawMessage
	var tasks map[string]json.RawMessage
	for key, v := range map[string]any{
		changesKey: &changes, tasksKey: &tasks,
		lastChangeKey: &m.lastChange, lastTaskKey: &m.lastTask, lastLaneKey: &m.lastLane,
	} {
		if raw := st.Loaded(key); raw != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				return fmt.Errorf("cannot load changes from state file: invalid %q: %w", key, err)
			}
		}
	}
	ids := slices.SortedFunc(maps.Keys(changes), compareIDs)
	for _, id := range ids {
		if err := m.loadChange(id, changes[id], tasks); err != nil {
			return fmt.Errorf("cannot load changes from state file: %w", err)
		}
	}
	return nil
}

// compareIDs orders numeric IDs by value.
func compareIDs(a, b string) int {
	if d := atoi(a) - atoi(b); d != 0 {
		return d
	}
	return bytes.Compare([]byte(a), []byte(b))
}

// loadChange rebuilds one change and its tasks.
func (m *Manager) loadChange(id string, raw json.RawMessage, tasks map[string]json.RawMessage) error {
	var cj changeJSON
	fields, err := decodeObject(raw, &cj, knownChangeFields)
	switch {
	case err != nil:
		return fmt.Errorf("invalid change %q: %w", id, err)
	case cj.ID != id:
		return fmt.Errorf("invalid change %q: its id is %q", id, cj.ID)
	}
	c := &change{
		id:        cj.ID,
		kind:      cj.Kind,
		summary:   cj.Summary,
		explicit:  cj.Status,
		spawnTime: cj.SpawnTime,
		readyTime: cj.ReadyTime,
		tasks:     make([]*Task, len(cj.TaskIDs)),
		ready:     make(chan struct{}),
		foreign:   foreign{fields: fields},
	}
	if err := decodeChangeData(c, cj.Data); err != nil {
		return fmt.Errorf("invalid data of change %q: %w", id, err)
	}
	m.lastChange = max(m.lastChange, atoi(c.id))
	byID := make(map[string]*Task, len(cj.TaskIDs))
	waits := make(map[*Task][]string, len(cj.TaskIDs))
	for i, tid := range cj.TaskIDs {
		t, waitIDs, err := m.loadTask(c, tid, tasks[tid])
		if err != nil {
			return err
		}
		byID[tid], c.tasks[i] = t, t
		waits[t] = waitIDs
	}
	for _, t := range c.tasks {
		for _, w := range waits[t] {
			dep := byID[w]
			if dep == nil {
				return fmt.Errorf("task %q waits for task %q, which is not in change %q", t.id, w, c.id)
			}
			t.waitFor = append(t.waitFor, dep)
			dep.halts = append(dep.halts, t)
			if dep.status != Done {
				t.pending++
			}
		}
	}
	c.status = c.derive()
	if c.status.Ready() {
		if c.readyTime.IsZero() {
			c.readyTime = m.now()
		}
		close(c.ready)
	} else {
		m.leftovers = append(m.leftovers, c)
	}
	m.changes[c.id] = c
	m.order = append(m.order, c)
	return nil
}

// decodeChangeData sets a change's services, NoticeData, KeepPending and
// Data from its "data" object and keeps the other entries as foreign.
func decodeChangeData(c *change, data map[string]json.RawMessage) error {
	for key, v := range map[string]any{
		servicesDataKey:    &c.services,
		noticeDataKey:      &c.noticeData,
		keepPendingDataKey: &c.keepPending,
		apiDataKey:         &c.data,
	} {
		if raw, ok := data[key]; ok {
			if err := json.Unmarshal(raw, v); err != nil {
				return fmt.Errorf("invalid %q: %w", key, err)
			}
			delete(data, key)
		}
	}
	if c.noticeData != nil {
		c.noticeData["kind"] = c.kind
	}
	if len(data) > 0 {
		c.foreign.data = data
	}
	return nil
}

// loadTask rebuilds one task of a change being loaded and returns the IDs
// of the tasks it waits for, which the caller links.
func (m *Manager) loadTask(c *change, id string, raw json.RawMessage) (*Task, []string, error) {
	if raw == nil {
		return nil, nil, fmt.Errorf("change %q lists task %q, which is missing", c.id, id)
	}
	if _, dup := m.tasks[id]; dup {
		return nil, nil, fmt.Errorf("task %q appears twice", id)
	}
	var tj taskJSON
	fields, err := decodeObject(raw, &tj, knownTaskFields)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("invalid task %q: %w", id, err)
	case tj.ID != id || tj.Change != c.id:
		return nil, nil, fmt.Errorf("invalid task %q: its id is %q and its change %q", id, tj.ID, tj.Change)
	case tj.Status <= Default || tj.Status >= nStatus:
		return nil, nil, fmt.Errorf("task %q has invalid status %d", id, tj.Status)
	}
	t := &Task{
		m:         m,
		change:    c,
		id:        tj.ID,
		kind:      tj.Kind,
		summary:   tj.Summary,
		lanes:     tj.Lanes,
		status:    tj.Status,
		data:      tj.Data[apiDataKey],
		log:       tj.Log,
		spawnTime: tj.SpawnTime,
		readyTime: tj.ReadyTime,
		foreign:   foreign{fields: fields},
	}
	delete(tj.Data, apiDataKey)
	if len(tj.Data) > 0 {
		t.foreign.data = tj.Data
	}
	if len(t.log) > maxLog {
		t.log = t.log[len(t.log)-maxLog:]
	}
	c.counts[t.status]++
	m.tasks[t.id] = t
	m.lastTask = max(m.lastTask, atoi(t.id))
	for _, l := range t.lanes {
		m.lastLane = max(m.lastLane, l)
	}
	return t, tj.WaitTasks, nil
}

// decodeObject decodes a JSON object into v and returns its members whose
// names are not in known.
func decodeObject(raw json.RawMessage, v any, known map[string]bool) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	maps.DeleteFunc(all, func(name string, _ json.RawMessage) bool { return known[name] })
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// jsonNames returns the JSON member names of a struct's fields.
func jsonNames(v any) map[string]bool {
	typ := reflect.TypeOf(v)
	names := make(map[string]bool, typ.NumField())
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
