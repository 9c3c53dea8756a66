package servstate

import "time"

// Timing defaults of behaviour.md §1, in one place. The per-service
// defaults (kill-delay, backoff) are the plan's Effective* methods.
const (
	defaultOkayDelay     = time.Second
	defaultKillFailDelay = 5 * time.Second

	// outputWaitFraction of kill-delay is how long the daemon keeps
	// reading a service's output pipe after the process exited, while a
	// child it left still holds the pipe open.
	outputWaitFraction = 0.9

	// outputWait bounds how long a failed start waits for the last output
	// of the process to arrive before it quotes it, and how long a stop
	// waits for it before it is done (so that log forwarding and readers
	// see a service's last words).
	outputWait = 500 * time.Millisecond

	// sweepGrace is how long the rest of a service's tree may outlive its
	// main process, after SIGTERM, before it gets SIGKILL.
	sweepGrace = 200 * time.Millisecond

	// leftoverGrace is how long leftovers of a previous daemon get between
	// SIGTERM and SIGKILL.
	leftoverGrace = time.Second

	// pollInterval is how often a vanishing process tree is re-checked at
	// first; without a cgroup to watch, the interval doubles up to
	// maxPollInterval.
	pollInterval    = 5 * time.Millisecond
	maxPollInterval = 100 * time.Millisecond

	// groupReapWait is the longest single wait for the zombies of a
	// process group whose members have exited to be reaped, before the
	// group's members are looked for in /proc.
	groupReapWait = 40 * time.Millisecond

	// startOutputLines is the number of output lines quoted when a start
	// fails (behaviour.md §3).
	startOutputLines = 20

	// Pruning of inactive service records (behaviour.md §10.3).
	defaultPruneAge      = 7 * 24 * time.Hour
	defaultPruneMax      = 100
	defaultPruneInterval = 10 * time.Minute
)
