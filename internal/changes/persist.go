package changes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The "changes" section of the state file is one JSON object:
//
//	{"last-change-id": 12, "last-task-id": 40, "last-lane-id": 7,
//	 "changes": [{"id": "1", "kind": "start", ..., "tasks": [{...}, ...]}, ...]}
//
// Changes are in creation order and hold their tasks. Statuses are the
// integers of behaviour.md §10.1. A change's status is not stored unless it
// was set explicitly (AddDone); it is derived again on load.

type sectionJSON struct {
	LastChange int          `json:"last-change-id"`
	LastTask   int          `json:"last-task-id"`
	LastLane   int          `json:"last-lane-id"`
	Changes    []changeJSON `json:"changes"`
}

type changeHeadJSON struct {
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Summary   string         `json:"summary"`
	Status    Status         `json:"status,omitempty"`
	Services  []string       `json:"services,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	SpawnTime time.Time      `json:"spawn-time"`
	ReadyTime time.Time      `json:"ready-time,omitzero"`
}

type changeJSON struct {
	changeHeadJSON
	Tasks []taskJSON `json:"tasks"`
}

type taskJSON struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Summary   string          `json:"summary"`
	Status    Status          `json:"status"`
	Data      json.RawMessage `json:"data,omitempty"`
	Lanes     []int           `json:"lanes,omitempty"`
	WaitFor   []string        `json:"wait-tasks,omitempty"`
	Log       []string        `json:"log,omitempty"`
	SpawnTime time.Time       `json:"spawn-time"`
	ReadyTime time.Time       `json:"ready-time,omitzero"`
}

// Separators of the pre-marshalled section.
var (
	jsonComma     = []byte(",")
	jsonTasksOpen = []byte(`,"tasks":[`)
	jsonClose     = []byte("]}")
)

// snapshot returns the section as pre-marshalled JSON. Under the lock it only
// re-encodes the tasks and change headers that changed since the previous
// snapshot and collects references to the cached encodings (which are never
// modified, only replaced); the copying happens after the lock is released.
// A ready change never changes again, so it is cached whole.
func (m *Manager) snapshot() any {
	m.mu.Lock()
	parts := make([][]byte, 0, m.snapParts+16)
	parts = append(parts, fmt.Appendf(nil, `{"last-change-id":%d,"last-task-id":%d,"last-lane-id":%d,"changes":[`,
		m.lastChange, m.lastTask, m.lastLane))
	for i, c := range m.order {
		if i > 0 {
			parts = append(parts, jsonComma)
		}
		switch {
		case c.json != nil:
			parts = append(parts, c.json)
		case c.status.Ready():
			parts = append(parts, m.changeJSONLocked(c))
		default:
			parts = m.appendChangeLocked(parts, c)
		}
	}
	parts = append(parts, jsonClose)
	m.snapParts = len(parts)
	m.mu.Unlock()

	return json.RawMessage(bytes.Join(parts, nil))
}

// appendChangeLocked appends the pieces of a change's encoding to parts.
func (m *Manager) appendChangeLocked(parts [][]byte, c *change) [][]byte {
	parts = append(parts, m.headJSONLocked(c), jsonTasksOpen)
	for i, t := range c.tasks {
		if i > 0 {
			parts = append(parts, jsonComma)
		}
		parts = append(parts, t.jsonLocked())
	}
	return append(parts, jsonClose)
}

// changeJSONLocked returns the encoding of a change as one slice, and caches
// it until the change moves again.
func (m *Manager) changeJSONLocked(c *change) []byte {
	if c.json != nil {
		return c.json
	}
	c.json = bytes.Join(m.appendChangeLocked(nil, c), nil)
	return c.json
}

// headJSONLocked returns the cached encoding of a change's fields other than
// its tasks, without the closing brace.
func (m *Manager) headJSONLocked(c *change) []byte {
	if c.head != nil {
		return c.head
	}
	head := changeHeadJSON{
		ID:        c.id,
		Kind:      c.kind,
		Summary:   c.summary,
		Status:    c.explicit,
		Services:  c.services,
		Data:      c.data,
		SpawnTime: c.spawnTime,
		ReadyTime: c.readyTime,
	}
	b, err := json.Marshal(head)
	if err != nil {
		// Only Data can fail to encode; keep the rest of the change.
		m.logf("Cannot encode data of change %s: %v", c.id, err)
		head.Data = nil
		b, _ = json.Marshal(head)
	}
	c.head = b[:len(b)-1]
	return c.head
}

func (t *Task) jsonLocked() []byte {
	if t.json != nil {
		return t.json
	}
	var waits []string
	if len(t.waitFor) > 0 {
		waits = make([]string, len(t.waitFor))
		for i, w := range t.waitFor {
			waits[i] = w.id
		}
	}
	b, err := json.Marshal(taskJSON{
		ID:        t.id,
		Kind:      t.kind,
		Summary:   t.summary,
		Status:    t.status,
		Data:      t.data,
		Lanes:     t.lanes,
		WaitFor:   waits,
		Log:       t.log,
		SpawnTime: t.spawnTime,
		ReadyTime: t.readyTime,
	})
	if err != nil {
		// Data is always produced by json.Marshal, so this cannot happen.
		panic(fmt.Sprintf("changes: cannot encode task %s: %v", t.id, err))
	}
	t.json = b
	return b
}

// load rebuilds the changes of a loaded section. Unfinished changes are left
// for Start to resolve.
func (m *Manager) load(raw json.RawMessage) error {
	var sec sectionJSON
	if err := json.Unmarshal(raw, &sec); err != nil {
		return fmt.Errorf("cannot load changes from state file: %w", err)
	}
	m.lastChange, m.lastTask, m.lastLane = sec.LastChange, sec.LastTask, sec.LastLane
	for _, cj := range sec.Changes {
		if _, dup := m.changes[cj.ID]; dup {
			return fmt.Errorf("cannot load changes from state file: change %q appears twice", cj.ID)
		}
		c := &change{
			id:        cj.ID,
			kind:      cj.Kind,
			summary:   cj.Summary,
			services:  cj.Services,
			data:      cj.Data,
			explicit:  cj.Status,
			spawnTime: cj.SpawnTime,
			readyTime: cj.ReadyTime,
			tasks:     make([]*Task, len(cj.Tasks)),
			ready:     make(chan struct{}),
		}
		m.lastChange = max(m.lastChange, atoi(c.id))
		byID := make(map[string]*Task, len(cj.Tasks))
		for i, tj := range cj.Tasks {
			if _, dup := m.tasks[tj.ID]; dup {
				return fmt.Errorf("cannot load changes from state file: task %q appears twice", tj.ID)
			}
			if tj.Status <= Default || tj.Status >= nStatus {
				return fmt.Errorf("cannot load changes from state file: task %q has invalid status %d", tj.ID, tj.Status)
			}
			t := &Task{
				m:         m,
				change:    c,
				id:        tj.ID,
				kind:      tj.Kind,
				summary:   tj.Summary,
				lanes:     tj.Lanes,
				status:    tj.Status,
				data:      tj.Data,
				log:       tj.Log,
				spawnTime: tj.SpawnTime,
				readyTime: tj.ReadyTime,
			}
			if len(t.log) > maxLog {
				t.log = t.log[len(t.log)-maxLog:]
			}
			for _, w := range tj.WaitFor {
				dep := byID[w]
				if dep == nil {
					return fmt.Errorf("cannot load changes from state file: task %q waits for unknown task %q", tj.ID, w)
				}
				t.waitFor = append(t.waitFor, dep)
				dep.halts = append(dep.halts, t)
				if dep.status != Done {
					t.pending++
				}
			}
			byID[t.id] = t
			c.tasks[i] = t
			c.counts[t.status]++
			m.tasks[t.id] = t
			m.lastTask = max(m.lastTask, atoi(t.id))
			for _, l := range t.lanes {
				m.lastLane = max(m.lastLane, l)
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
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
