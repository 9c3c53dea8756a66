package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/realpebble"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The state file interoperates with Canonical's Pebble both ways: a user who
// swaps binaries, or rolls back, keeps changes, tasks, notices, identities
// and ID counters. These tests run the real thing, built from the Go module
// proxy (never a dependency of our go.mod), on the same $PEBBLE as ours.

// realPebbleVersions are the releases we read: the one Juju ships today and
// the one whose behaviour we implement.
var realPebbleVersions = []string{"v1.26.0", "v1.32.1"}

const interopLayer = `
services:
  srv1:
    override: replace
    command: sleep 1000
    startup: enabled
  srv2:
    override: replace
    command: sleep 1000
`

// realPebble returns Canonical's Pebble daemon at version, built once per
// machine from the Go module proxy and kept in the user's cache directory.
func realPebble(t *testing.T, version string) string {
	t.Helper()
	start := time.Now()
	bin, built, err := realpebble.Binary(version)
	require.NoError(t, err)
	if built {
		t.Logf("built Canonical's Pebble %s in %v", version, time.Since(start).Round(time.Second))
	}
	return bin
}

// interopChange and interopTask are what GET /v1/changes shows of a change,
// with the fields both daemons fill the same way.
type interopChange struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Summary   string          `json:"summary"`
	Status    string          `json:"status"`
	Ready     bool            `json:"ready"`
	Err       string          `json:"err"`
	SpawnTime time.Time       `json:"spawn-time"`
	ReadyTime time.Time       `json:"ready-time"`
	Data      json.RawMessage `json:"data"`
	Tasks     []interopTask   `json:"tasks"`
}

type interopTask struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Summary   string          `json:"summary"`
	Status    string          `json:"status"`
	Log       []string        `json:"log"`
	Data      json.RawMessage `json:"data"`
	SpawnTime time.Time       `json:"spawn-time"`
	ReadyTime time.Time       `json:"ready-time"`
}

type interopNotice struct {
	ID            string            `json:"id"`
	UserID        *uint32           `json:"user-id"`
	Type          string            `json:"type"`
	Key           string            `json:"key"`
	FirstOccurred time.Time         `json:"first-occurred"`
	LastOccurred  time.Time         `json:"last-occurred"`
	LastRepeated  time.Time         `json:"last-repeated"`
	Occurrences   int               `json:"occurrences"`
	LastData      map[string]string `json:"last-data"`
	RepeatAfter   string            `json:"repeat-after"`
	ExpireAfter   string            `json:"expire-after"`
}

// interopState is what a daemon shows through its API.
type interopState struct {
	changes    map[string]interopChange
	notices    map[string]interopNotice
	identities map[string]json.RawMessage
}

func captureState(d *daemon) interopState {
	d.t.Helper()
	var chgs []interopChange
	d.sync("GET", "/v1/changes?select=all", nil, &chgs)
	var ns []interopNotice
	d.sync("GET", "/v1/notices?users=all", nil, &ns)
	st := interopState{changes: make(map[string]interopChange), notices: make(map[string]interopNotice)}
	d.sync("GET", "/v1/identities", nil, &st.identities)
	for _, c := range chgs {
		c.SpawnTime, c.ReadyTime = c.SpawnTime.UTC(), c.ReadyTime.UTC()
		for i, tk := range c.Tasks {
			c.Tasks[i].SpawnTime, c.Tasks[i].ReadyTime = tk.SpawnTime.UTC(), tk.ReadyTime.UTC()
		}
		st.changes[c.ID] = c
	}
	for _, n := range ns {
		n.FirstOccurred, n.LastOccurred, n.LastRepeated = n.FirstOccurred.UTC(), n.LastOccurred.UTC(), n.LastRepeated.UTC()
		st.notices[n.ID] = n
	}
	return st
}

// requireCarried checks that the daemon now on the directory shows every
// change, task, notice and identity the previous one showed, unchanged.
func requireCarried(t *testing.T, was, now interopState) {
	t.Helper()
	require.NotEmpty(t, was.changes)
	for id, c := range was.changes {
		assert.Equal(t, c, now.changes[id], "change %s", id)
	}
	require.NotEmpty(t, was.notices)
	for id, n := range was.notices {
		assert.Equal(t, n, now.notices[id], "notice %s", id)
	}
	require.NotEmpty(t, was.identities)
	assert.Equal(t, len(was.identities), len(now.identities), "identities: %v", now.identities)
	for name, id := range was.identities {
		assert.JSONEq(t, string(id), string(now.identities[name]), "identity %s", name)
	}
}

// stateCounters are the ID counters of a state file.
type stateCounters struct {
	Change int `json:"last-change-id"`
	Task   int `json:"last-task-id"`
	Notice int `json:"last-notice-id"`
}

// readStartOfOperation returns the data entry Pebble records when it first
// runs on a directory, which we do not use and must keep.
func readStartOfOperation(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ".pebble.state"))
	require.NoError(t, err)
	var file struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(data, &file))
	require.Contains(t, file.Data, "start-of-operation-time")
	return string(file.Data["start-of-operation-time"])
}

func readCounters(t *testing.T, dir string) stateCounters {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ".pebble.state"))
	require.NoError(t, err)
	var c stateCounters
	require.NoError(t, json.Unmarshal(data, &c))
	require.NotZero(t, c.Change, "%s", data)
	require.NotZero(t, c.Notice, "%s", data)
	return c
}

func postNotice(d *daemon, key string, extra map[string]any) string {
	d.t.Helper()
	body := map[string]any{"action": "add", "type": "custom", "key": key}
	for k, v := range extra {
		body[k] = v
	}
	status, env := d.requestJSON("POST", "/v1/notices", body)
	require.Equal(d.t, 200, status, "%s", env.Result)
	var res struct{ ID string }
	require.NoError(d.t, json.Unmarshal(env.Result, &res))
	return res.ID
}

func addIdentities(d *daemon, identities map[string]any) {
	d.t.Helper()
	status, env := d.requestJSON("POST", "/v1/identities", map[string]any{"action": "add", "identities": identities})
	require.Equal(d.t, 200, status, "%s", env.Result)
}

// makeHistory gives a daemon whose srv1 was autostarted changes with
// finished tasks (start, stop, exec with its exit code), custom notices with
// repeated occurrences and data, and identities of each kind we persist.
func makeHistory(t *testing.T, d *daemon) {
	t.Helper()
	require.Equal(t, "Done", d.waitChange(d.serviceAction("start", "srv2")).Status)
	require.Equal(t, "Done", d.waitChange(d.serviceAction("stop", "srv1")).Status)
	d.mustPebble("exec", "--", "true")
	postNotice(d, "example.com/foo", map[string]any{"data": map[string]string{"a": "b"}})
	postNotice(d, "example.com/foo", map[string]any{"data": map[string]string{"c": "d"}})
	postNotice(d, "example.com/bar", map[string]any{"repeat-after": "1h"})
	addIdentities(d, map[string]any{
		"bob":   map[string]any{"access": "admin", "local": map[string]any{"user-id": 42}},
		"alice": map[string]any{"access": "read", "basic": map[string]any{"password": "$6$F9cFSVEKyO4gB1Wh$8S1BSKsNkF.jBAixGc4W7l80OpfCNk65LZBDHBng3NAmbcHuMj4RI1vBBzOvokJsaTtdXOSiu2Dt/k/pk1DPB1"}},
	})
}

// continueHistory adds to what the previous daemon left and checks that the
// new IDs follow its counters and that a carried notice keeps counting. The
// notice and identity it adds are named after leg.
func continueHistory(t *testing.T, d *daemon, after stateCounters, leg string) {
	t.Helper()
	chg := d.waitChange(d.serviceAction("start", "srv2"))
	assert.Equal(t, strconv.Itoa(after.Change+1), chg.ID, "change IDs continue")
	require.Len(t, chg.Tasks, 1)
	assert.Equal(t, strconv.Itoa(after.Task+1), chg.Tasks[0].ID, "task IDs continue")
	require.Equal(t, "Done", chg.Status)
	require.Equal(t, "Done", d.waitChange(d.serviceAction("stop", "srv2")).Status)
	d.mustPebble("exec", "--", "true")

	var before []interopNotice
	d.sync("GET", "/v1/notices?users=all&keys=example.com/foo", nil, &before)
	require.Len(t, before, 1)
	assert.Equal(t, before[0].ID, postNotice(d, "example.com/foo", map[string]any{"data": map[string]string{"e": "f"}}),
		"a repeated notice keeps its ID")
	var foo []interopNotice
	d.sync("GET", "/v1/notices?users=all&keys=example.com/foo", nil, &foo)
	require.Len(t, foo, 1)
	assert.Equal(t, before[0].Occurrences+1, foo[0].Occurrences, "occurrences keep counting")
	assert.Equal(t, map[string]string{"e": "f"}, foo[0].LastData)
	id, _ := strconv.Atoi(postNotice(d, "example.com/"+leg, nil))
	assert.Greater(t, id, after.Notice, "notice IDs continue")
	var uid int
	for _, c := range leg {
		uid += int(c)
	}
	addIdentities(d, map[string]any{leg: map[string]any{"access": "metrics", "local": map[string]any{"user-id": 1000 + uid}}})
}

// TestStateFromRealPebble: ours starts where Pebble ran and shows all of it;
// then Pebble, rolled back to, shows all of ours.
func TestStateFromRealPebble(t *testing.T) {
	for _, version := range realPebbleVersions {
		t.Run(version, func(t *testing.T) {
			bin := realPebble(t, version)
			dir := newPebbleDir(t, map[string]string{"001-base.yaml": interopLayer})

			theirs := startDaemon(t, dir, daemonOptions{bin: bin})
			theirs.waitAutostart()
			makeHistory(t, theirs)
			seen := captureState(theirs)
			theirs.stop() // with srv2 running: Pebble adds a stop change
			counters := readCounters(t, dir)
			started := readStartOfOperation(t, dir)

			ours := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
			got := captureState(ours)
			requireCarried(t, seen, got)
			last := got.changes[strconv.Itoa(counters.Change)]
			assert.Equal(t, "Stop all running services", last.Summary, "the change Pebble made while stopping")
			assert.Equal(t, "Done", last.Status)
			continueHistory(t, ours, counters, "ours")
			seen = captureState(ours)
			ours.stop()
			assert.NotContains(t, ours.stderr.String(), "Cannot")
			counters = readCounters(t, dir)
			assert.Equal(t, started, readStartOfOperation(t, dir), "Pebble's data entries are kept")

			theirs = startDaemon(t, dir, daemonOptions{bin: bin, args: []string{"--hold"}})
			requireCarried(t, seen, captureState(theirs))
			continueHistory(t, theirs, counters, "theirs")
			theirs.stop()
		})
	}
}

// TestStateToRealPebble: Pebble v1.32.1 starts where ours ran from a fresh
// directory and shows all of it, warnings and our service-update notices
// included. (Pebble v1.26.0 cannot
// read a new file of ours, just as it cannot read one of Pebble v1.32: both
// are at patch level 2. It reads one it wrote itself, which ours keeps at
// level 1; TestStateFromRealPebble covers that.)
func TestStateToRealPebble(t *testing.T) {
	bin := realPebble(t, "v1.32.1")
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": interopLayer})

	// A warning: services a killed daemon left running.
	ours := startDaemon(t, dir, daemonOptions{})
	ours.waitAutostart()
	ours.signal(syscall.SIGKILL)
	ours.waitExit(exitTimeout)
	ours = startDaemon(t, dir, daemonOptions{})
	ours.waitAutostart()
	makeHistory(t, ours)
	// Nothing left running, so stopping the daemon adds no service-update
	// occurrence after the capture.
	require.Equal(t, "Done", ours.waitChange(ours.serviceAction("stop", "srv2")).Status)
	seen := captureState(ours)
	types := map[string]int{}
	for _, n := range seen.notices {
		types[n.Type]++
	}
	require.Equal(t, 1, types["warning"], "notices: %v", seen.notices)
	// Pebble keeps and lists the notice type it does not know.
	require.Equal(t, 2, types["service-update"], "notices: %v", seen.notices)
	ours.stop()
	counters := readCounters(t, dir)

	theirs := startDaemon(t, dir, daemonOptions{bin: bin, args: []string{"--hold"}})
	requireCarried(t, seen, captureState(theirs))
	continueHistory(t, theirs, counters, "theirs")
	theirs.stop()
	assert.NotContains(t, theirs.stderr.String(), "Cannot")
}

// TestUnreadableStateFileIsKeptAside: a state file of an unknown patch level
// (a newer Pebble's) or a corrupt one is moved aside, byte for byte, with a
// log line saying where; the daemon starts afresh.
func TestUnreadableStateFileIsKeptAside(t *testing.T) {
	for name, content := range map[string]string{
		"newer":   `{"data":{"patch-level":3},"changes":{}}`,
		"corrupt": `{"data":{"patch-level":2},"chan`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := newPebbleDir(t, nil)
			path := filepath.Join(dir, ".pebble.state")
			writeFile(t, path, content)
			d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
			asides, err := filepath.Glob(path + ".corrupt-*")
			require.NoError(t, err)
			require.Len(t, asides, 1)
			kept, err := os.ReadFile(asides[0])
			require.NoError(t, err)
			assert.Equal(t, content, string(kept))
			assert.Contains(t, d.stderr.String(), fmt.Sprintf("Cannot use state file: cannot parse state file %q: ", path))
			assert.Contains(t, d.stderr.String(), fmt.Sprintf("; moved it to %q and starting with an empty state\n", asides[0]))
			// Notice 1 is the warning saying so; counting goes on after it.
			warning := d.mustPebble("notice", "1")
			assert.Contains(t, warning, "type: warning")
			assert.Contains(t, warning, "cannot use state file: cannot parse state file")
			assert.Equal(t, "Recorded notice 2\n", d.mustPebble("notify", "example.com/x"))
			d.stop()
		})
	}
}
