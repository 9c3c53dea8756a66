// Package workflow runs the workflows of the plan (docs/workflows.md): a
// run is one change of kind "workflow" with one task per step, whose
// WaitFor edges are the workflow's order. Each step of a serial phase waits
// for the step before it; every step of a parallel phase waits for the
// whole previous phase, and the first step of a serial phase for the last
// step of the previous one. The change has no lanes, so a step that fails
// (after its retries) puts every step that has not started on Hold, and
// internal/changes logs in each which task held it.
//
// Steps act through narrow interfaces on the owners: the service manager
// starts and stops services (a step acts on the closure the plan's order
// gives, as `pebble start`, `stop` and `restart` do), the checks manager
// reports check status, and exec steps run through
// internal/checks/checker's exec runner (reaper, process group, output
// tail). A step's definition and the run's parameters are frozen in its
// task's data when the change is made, so a plan changed during a run does
// not change the run.
//
// # Restart
//
// A step marks the state file before it does anything, so a daemon killed
// mid-workflow leaves the running step recorded as running: the next daemon
// records it as failed with the Interrupted text and runs nothing of the
// change again (internal/changes resolves it; steps that could have run
// next get the Unstarted text, the rest go on Hold). The change ends in
// Error. An exec step's command dies with the daemon (parent-death
// signal); New kills the processes it left, found by the step's mark in
// their environment (leftovers.go).
//
// The package knows nothing of HTTP: the daemon calls Runner.Run and
// Runner.Workflows.
package workflow
