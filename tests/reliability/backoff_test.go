package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backoffLayer is a service that exits at once and waits 30 s in backoff.
const backoffLayer = `
services:
    crash:
        override: replace
        command: /bin/sh -c "exit 1"
        backoff-delay: 30s
        backoff-limit: 1m
`

// TestStopInBackoffIsQuick stops a service waiting in backoff: there is no
// process to signal, so the stop change is done at once (issue 17: it took
// about 300 ms; the criterion is 100 ms).
func TestStopInBackoffIsQuick(t *testing.T) {
	d := run.Start(t, run.NewDir(t, map[string]string{"001-crash.yaml": backoffLayer}))
	defer d.Stop()

	const rounds = 5
	var took []time.Duration
	for i := 0; i < rounds; i++ {
		status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": []string{"crash"}})
		require.Equal(t, 202, status, env.Message())
		waitChange(t, d, env.Change)
		waitCurrent(t, d, "crash", "backoff")

		begin := time.Now()
		status, env = d.MustRequest("POST", "/v1/services", map[string]any{"action": "stop", "services": []string{"crash"}})
		require.Equal(t, 202, status, env.Message())
		chg := waitChange(t, d, env.Change)
		took = append(took, time.Since(begin))
		require.Equal(t, "Done", chg.Status, "stop change: %s", chg.Err)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	median := took[rounds/2]
	t.Logf("figure: stop during backoff: median %v, max %v over %d stops (criterion 100ms)", median.Round(time.Millisecond), took[rounds-1].Round(time.Millisecond), rounds)
	assert.Less(t, median, 100*time.Millisecond, "stop during backoff is slow")
}

// change is the part of a change the tests read.
type change struct {
	Status string `json:"status"`
	Err    string `json:"err"`
}

// waitChange waits for change id to be ready and returns it.
func waitChange(t *testing.T, d *harness.Daemon, id string) change {
	t.Helper()
	status, env := d.MustRequest("GET", "/v1/changes/"+id+"/wait?timeout=20s", nil)
	require.Equal(t, 200, status, env.Message())
	var chg change
	require.NoError(t, json.Unmarshal(env.Result, &chg))
	return chg
}

// waitCurrent waits until service name's current status is want.
func waitCurrent(t *testing.T, d *harness.Daemon, name, want string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		status, env := d.MustRequest("GET", "/v1/services?names="+name, nil)
		if status != 200 {
			return fmt.Errorf("GET /v1/services: %d %s", status, env.Message())
		}
		var infos []struct {
			Current string `json:"current"`
		}
		if err := json.Unmarshal(env.Result, &infos); err != nil {
			return err
		}
		if len(infos) != 1 || infos[0].Current != want {
			return fmt.Errorf("service %q is %s, want %s", name, env.Result, want)
		}
		return nil
	})
}

// loopLayer is a service that exits at once and is restarted after 5 ms.
const loopLayer = `
services:
    loop:
        override: replace
        command: /bin/true
        on-success: restart
        backoff-delay: 5ms
        backoff-factor: 1
        backoff-limit: 5ms
`

// TestRestartCost crash-loops a service and prints the daemon's CPU time
// and log lines per restart (issue 17: 1.5 ms and 3 lines, Pebble 0.85 ms;
// the three lines are the ones behaviour.md §3–5 asks for). The bound is
// loose: CI is a loaded 2-core machine.
func TestRestartCost(t *testing.T) {
	d := run.Start(t, run.NewDir(t, map[string]string{"001-loop.yaml": loopLayer}))
	defer d.Stop()
	const restarts = 200
	starts := func() int { return strings.Count(d.Stderr(), `Service "loop" starting: `) }
	lines := func() int { return strings.Count(d.Stderr(), "\n") }

	status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": []string{"loop"}})
	require.Equal(t, 202, status, env.Message())
	testutil.WaitFor(t, 30*time.Second, func() error {
		if n := starts(); n < 5 {
			return fmt.Errorf("%d starts", n)
		}
		return nil
	})
	startsBefore, linesBefore, cpuBefore := starts(), lines(), cpuTime(t, d.PID())
	testutil.WaitFor(t, 60*time.Second, func() error {
		if n := starts() - startsBefore; n < restarts {
			return fmt.Errorf("%d restarts", n)
		}
		return nil
	})
	cpu, n, logged := cpuTime(t, d.PID())-cpuBefore, starts()-startsBefore, lines()-linesBefore
	perRestart := cpu / time.Duration(n)
	t.Logf("figure: %v of daemon CPU and %.1f log lines per restart over %d restarts", perRestart.Round(10*time.Microsecond), float64(logged)/float64(n), n)
	assert.Less(t, perRestart, 20*time.Millisecond, "a restart costs the daemon too much CPU")
}

// cpuTime is the user and system CPU time process pid has used.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// The fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks of 1/100 s.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, err := strconv.Atoi(fields[11])
	require.NoError(t, err)
	stime, err := strconv.Atoi(fields[12])
	require.NoError(t, err)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
