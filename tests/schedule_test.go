package tests

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// scheduleOnTime is how late after its due time a scheduled run may stamp
// its own start (a change, a task, a fork and exec of sh and date).
const scheduleOnTime = 500 * time.Millisecond

// TestScheduleEvery: an "@every 2s" one-shot runs at its due times, each
// run a start change; the second run lasts 3 s, so the due time 4 s after
// the first finds it going and is skipped and counted, and the next run
// comes 6 s after the first. Each run stamps its own start.
func TestScheduleEvery(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "tick.sh", `
echo $(date +%s%N) >> @DIR@/runs
if [ "$(wc -l < @DIR@/runs)" -eq 2 ]; then sleep 3; fi
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    tick:
        override: replace
        type: oneshot
        command: /bin/sh @DIR@/tick.sh
        schedule: "@every 2s"
    plain:
        override: replace
        command: sleep 1000
`})
	d := startDaemon(t, dir, daemonOptions{})
	c := d.client()

	// The first due time, as the API shows it before it comes.
	infos, err := c.Services(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, infos, 2)
	plain, tick := infos[0], infos[1]
	assert.Empty(t, plain.Schedule)
	assert.True(t, plain.NextRun.IsZero())
	assert.Equal(t, "@every 2s", tick.Schedule)
	first := tick.NextRun
	require.False(t, first.IsZero())
	require.True(t, first.After(time.Now()), "next run %v is in the past", first)

	lines := waitLines(t, filepath.Join(dir, "runs"), 3, 20*time.Second)
	var runs []time.Time
	for _, l := range lines[:3] {
		ns, err := strconv.ParseInt(l, 10, 64)
		require.NoError(t, err)
		runs = append(runs, time.Unix(0, ns))
	}
	for i, due := range []time.Time{first, first.Add(2 * time.Second), first.Add(6 * time.Second)} {
		late := runs[i].Sub(due)
		t.Logf("run %d: started %v after its due time", i+1, late.Round(100*time.Microsecond))
		assert.GreaterOrEqual(t, late, time.Duration(0), "run %d started before it was due", i+1)
		assert.Less(t, late, scheduleOnTime, "run %d", i+1)
	}

	// The due time at first+4s found run 2 going: skipped and counted.
	testutil.WaitFor(t, 10*time.Second, func() error {
		infos, err = c.Services(t.Context(), nil)
		if err != nil {
			return err
		}
		if n := infos[1].SkippedRuns; n < 1 {
			return fmt.Errorf("skipped runs %d", n)
		}
		return nil
	})
	assert.Equal(t, 1, infos[1].SkippedRuns)
	assert.Contains(t, d.stderr.String(), `Service "tick" is due but its last run is still going: skipped (1 skipped so far)`)
	assert.Contains(t, d.stderr.String(), `Service "tick" is due: starting it with change `)

	// Each run is a start change, as pebble start makes.
	var starts int
	for _, chg := range d.changes() {
		if chg.Kind == "start" && chg.Summary == `Start service "tick"` {
			starts++
		}
	}
	assert.GreaterOrEqual(t, starts, 3)

	// pebble services adds the Scheduled column, here only (and the Notes
	// column, for the one-shot's result).
	out := d.mustPebble("services")
	header := strings.SplitN(out, "\n", 2)[0]
	assert.Regexp(t, `^Service +Startup +Current +Since +Scheduled +Notes$`, header)
	assert.Regexp(t, `(?m)^plain +disabled +inactive +- +- +-$`, out)
	assert.Regexp(t, `(?m)^tick +disabled +\S+ +.+ \(1 skipped\) +exited 0 .+$`, out)
	d.stop()
}

// TestServicesOutputWithoutSchedule: without a scheduled service, pebble
// services prints Pebble's columns only.
func TestServicesOutputWithoutSchedule(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": sleeperLayer})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	assert.Equal(t, "Service  Startup   Current   Since\nsvc      disabled  inactive  -\n", d.mustPebble("services"))
	d.stop()
}
