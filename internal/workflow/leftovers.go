package workflow

import (
	"bytes"
	"fmt"
	"os"
	"syscall"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/osutil"
)

// stepEnv is the environment variable that marks the processes of an exec
// step: "<$PEBBLE>#<task ID>". Its command's children inherit it, so the
// next daemon can find what an exec step of a killed daemon left running,
// which the parent-death signal does not reach.
const stepEnv = "PEBBLE_WORKFLOW_STEP"

// stepMarker is the value of stepEnv for task id.
func (r *Runner) stepMarker(id string) string {
	return r.dir + "#" + id
}

// killLeftovers kills the processes that exec steps interrupted by the end
// of the previous daemon left running: those whose environment holds the
// marker of a step still recorded as running. It runs before the changes
// manager resolves those steps, and returns what it killed, as
// "<pid> (<task summary>)".
func (r *Runner) killLeftovers() ([]string, error) {
	markers := map[string]string{} // stepEnv entry to task summary
	for _, c := range r.changes.Changes(changes.SelectInProgress, "") {
		for _, t := range c.Tasks {
			if t.Kind == StepKind && (t.Status == changes.Doing || t.Status == changes.Abort) {
				markers[stepEnv+"="+r.stepMarker(t.ID)] = t.Summary
			}
		}
	}
	if len(markers) == 0 {
		return nil, nil
	}
	procs, err := osutil.AllProcs()
	if err != nil {
		return nil, err
	}
	var killed []string
	for _, p := range procs {
		if p.PID == os.Getpid() || p.State == 'Z' {
			continue
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if summary, ok := markers[string(kv)]; ok {
				if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
					killed = append(killed, fmt.Sprintf("%d (%s)", p.PID, summary))
				}
				break
			}
		}
	}
	return killed, nil
}
