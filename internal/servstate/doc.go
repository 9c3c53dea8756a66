// Package servstate owns the process lifecycle of the plan's services
// (behaviour.md §2–5, §8, §14): starting with the okay delay, stopping with
// the stop signal (SIGTERM unless the service's stop-signal says otherwise)
// then SIGKILL to the whole process tree, exit actions, backoff and
// its reset, signals, on-check-failure actions, the replan diff and status
// snapshots.
//
// # Structure
//
// Each service record has one goroutine (service.loop) that owns its
// process, its state and its one timer, and never blocks on a process:
// exits and "tree empty" reports arrive as events from helper goroutines.
// Other goroutines send it requests and read snapshots; no callback reaches
// into shared state. The timer is re-armed for the earliest deadline after
// every event, and which deadlines may exist is a function of the machine
// (validTimer), so an okay or kill-delay deadline of one run can never fire
// into a later run. Exits and tree reports are tagged with a run number and
// stale ones are ignored.
//
// Records are created on a service's first start. Prune (every 10 minutes)
// forgets those inactive for more than 7 days, and the oldest inactive ones
// beyond 100 (behaviour.md §10.3): the record's own goroutine checks and
// ends it, and a later start creates a fresh record (prune.go).
//
// Decisions are pure: next (transitions.go) maps a state and an event to a
// new state and a list of effects, and nextBackoff, jitter and exitAction
// (decide.go) compute delays and actions, and the restart budget
// (budget.go) whether a restart may happen or the service fails. The
// goroutine runs the effects.
//
// # Process trees
//
// Every run starts in its own process group. Where cgroup v2 is mounted and
// writable, every service also gets its own cgroup,
// <daemon's cgroup>/pebble-<hash of $PEBBLE>/svc-<name>, and is started
// directly inside it (clone3 with CLONE_INTO_CGROUP; otherwise the process is
// moved there right after the fork). A stop signals the group and every
// process of the cgroup, and SIGKILL uses cgroup.kill, so descendants that
// left the group (setsid, double fork) cannot escape. Without cgroups the
// descendants are found by walking /proc from the main process when a stop
// begins; a descendant that both left the process group and lost its parent
// before then cannot be found this way.
//
// A run's processes are contained for its whole life. When the main process
// exits, whatever exit action follows (even "ignore"), the rest of its tree
// gets SIGTERM (during a stop it already had it), a short grace, then
// SIGKILL. A watcher reports when the tree is empty (inotify on the cgroup's
// cgroup.events, or a check of the processes at a growing interval) and
// only then is a stop done or a new run launched: a start or a restart that
// comes earlier hurries the SIGKILL and waits, and fails if the processes
// outlive it by the fail delay. Two generations of a service never run side
// by side. Close kills what is left of exited runs.
//
// # Readiness and one-shots
//
// A service with readiness (docs/readiness.md) leaves starting, and its
// start is done, when it is ready rather than at the okay delay: its
// readiness check succeeded since the launch (the checks package calls
// CheckSucceeded) and/or READY=1 came on its notify socket, one datagram
// socket per run whose senders are checked against the run's processes
// (notify.go). A one-shot (docs/oneshot.md) stays starting until its
// process exits; exit 0 ends the start, anything else fails it, and it is
// never restarted. Either way the start-timeout deadline fails the start
// and stops the service. The pure part is lifecycle.go; without these
// fields nothing of it applies.
//
// # Leftovers of a crashed daemon
//
// While a service runs, its main PID and process start time are kept in the
// "services" section of the state file: written at once for a run without a
// cgroup, and with the next write (its start time read then) for a run in
// its cgroup, which the next daemon finds anyway. A daemon killed with SIGKILL cannot stop its services, so the next
// daemon on the same $PEBBLE calls KillLeftovers before autostart: recorded
// processes whose start time still matches, and everything in its leftover
// cgroups, get SIGTERM with their trees and are ended in the background; a
// start of their service waits until they are gone, other services do not.
// We kill rather than adopt: an
// adopted process is not our child, so its exit status, output pipe and
// okay-delay history are lost, and a service must never run twice.
//
// # Not here
//
// The package does not know about HTTP, changes, lanes or ordering (ops
// calls Start and Stop per task), check scheduling (the checks package calls
// CheckFailed and CheckSucceeded), or the daemon's own shutdown (Options.Shutdown is asked to
// do it). wait4 belongs to the reaper package; output formatting and buffers
// to the logs package.
package servstate
