// Package checks runs the health checks of the plan (behaviour.md §7): their
// scheduling, timeouts, failure counting and thresholds, levels, status,
// refresh, health aggregation and counters for metrics. The http, tcp and
// exec checkers themselves live in internal/checks/checker and come in
// through Options.NewChecker, so this package (and the API layers that use
// its types) does not depend on the network or on processes.
//
// Each active check is driven by one change of the changes package with a
// single task: "perform-check" while the check is up, "recover-check" while
// it is down. The task's handler is the check's loop: it runs the checker
// every period (the first run one period after the start), records the
// result, and ends when the change is aborted (the check was stopped or its
// configuration changed), when the threshold is hit (perform-check ends in
// Error and a recover-check change takes over), or on the first success of a
// recover-check (it ends Done and a perform-check change takes over).
// A check's start-period (startperiod.go) keeps the failures of a freshly
// started perform-check from counting until its first success.
//
// What it does not do: it never signals or restarts services, and it starts
// no process itself. When a check
// hits its threshold it tells a FailureHandler (servstate's CheckFailed) and
// carries on recovering; after every success it tells a SuccessHandler
// (servstate's CheckSucceeded, for readiness checks). It does not speak HTTP to API clients; internal/ops
// and internal/daemon turn its values into the wire format.
//
// Changed wakes those who wait for a check (a workflow's wait-check step)
// at each change of a status or a counter, so they need not poll.
//
// Locking: one mutex guards the table of checks and their counters. It is
// held for short bookkeeping only, including creating or aborting a change
// (which never calls back into this package), and never while a checker
// runs, a failure handler is called or a log line is written, so Health and
// Checks answer at once whatever the checks are doing.
package checks
