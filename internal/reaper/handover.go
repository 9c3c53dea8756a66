package reaper

// Across an in-place upgrade (docs/upgrade.md) the daemon's children stay its
// children: the PID does not change with the exec. The old daemon pauses
// reaping before it records which of its processes have exited, so that no
// exit is collected and then lost with the old code; the new one registers
// the PIDs it was handed before it reaps anything, so that an exit in
// between, kept by the kernel as a zombie, is reported to it.

// Pause stops collecting exits until Resume: exited children stay zombies,
// and an exit collected before Pause stays known (Exited, WaitExit).
func Pause() { global.reaping.Lock() }

// Resume undoes Pause.
func Resume() { global.reaping.Unlock() }

// Child is a child process the daemon did not start itself in this
// program: one handed over by the daemon it replaced.
type Child struct {
	w *waiter
}

// Adopt registers pid, a child of this process that it did not start
// (handed over across an exec), so that its exit is reported through the
// returned Child. It may be called before Start, and must be, for a child
// whose exit must not be missed.
func Adopt(pid int) *Child {
	r := &global
	r.mu.Lock()
	defer r.mu.Unlock()
	w := &waiter{done: make(chan struct{})}
	r.waiters[pid] = w
	return &Child{w: w}
}

// Exited returns a channel closed once the child's exit was collected.
func (c *Child) Exited() <-chan struct{} { return c.w.done }

// AfterExit calls fn in a goroutine of its own once the child's exit is
// collected, or at once if it was (see the function AfterExit).
func (c *Child) AfterExit(fn func()) { c.w.afterExit(fn) }

// Result returns how the child ended; valid once Exited is closed.
func (c *Child) Result() ExitResult { return c.w.res }
