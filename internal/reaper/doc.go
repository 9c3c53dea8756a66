// Package reaper owns the daemon's PID 1 duties (behaviour.md §13): it marks
// the process a child subreaper, so orphaned descendants of services are
// re-parented to the daemon, and it is the only caller of wait4 in the
// process. On every SIGCHLD it reaps all exited children; the exit of a
// process started with StartCommand is handed to its waiter, and any other
// zombie is simply collected.
//
// Because the reaper collects every child, os/exec's own Wait can no longer
// see the exit status. Processes must therefore be started with StartCommand
// and waited for with WaitCommand, or with WaitExit and then Release.
// StartCommand registers the PID after the fork without holding the
// reaper's lock across it, so starts run in parallel; an exit collected
// while a start is between its fork and that registration waits for it, so
// an early exit cannot be missed. Release calls (*exec.Cmd).Wait only to
// free os/exec's copying goroutines and pipes, and treats its expected "no
// child processes" error as success.
//
// The reaper is a process-wide singleton, the one global of the daemon: the
// subreaper bit and SIGCHLD belong to the process. Start and Stop are
// reference counted, so tests may share it.
//
// The package knows nothing about services, exec sessions or checks.
package reaper
