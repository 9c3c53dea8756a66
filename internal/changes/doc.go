// Package changes runs asynchronous changes made of tasks, the model behind
// the /v1/changes API.
//
// A change is one user-visible operation ("Start service "a" and 2 more"); it
// is made of tasks, each of a registered kind whose Handler does the work. The
// package owns:
//
//   - IDs: decimal strings from three counters (changes, tasks, lanes) that
//     keep increasing across daemon restarts.
//   - Scheduling: a task runs, in its own goroutine, as soon as every task it
//     waits for is Done. Tasks with nothing left to wait for run concurrently;
//     there is no worker pool and no global ordering.
//   - Lanes: a lane groups tasks for failure propagation. When a task fails,
//     the tasks of its lanes that have not started yet (all tasks of the
//     change when it has no lanes) and every task that waits for it, directly
//     or not, are put on Hold and never run. Tasks already running elsewhere
//     carry on. Order inside a lane comes only from the WaitFor edges the
//     creator adds.
//   - Statuses: a task's status follows its handler (Do, Doing, then Done or
//     Error); a change's status is derived from its tasks as api.md §10.3
//     says, and it is ready once that status is Done, Undone, Hold or Error.
//   - Waiting: every change has a channel closed when it becomes ready, so
//     Wait is event-driven and costs no goroutine.
//   - Abort: pending tasks go on Hold; running tasks are flagged Abort and
//     their handler's context is cancelled.
//   - Pruning (behaviour.md §10.3): old ready changes are deleted, at most a
//     fixed number of ready changes are kept, and unready changes that are
//     far too old are aborted, unless their creator asked to keep them
//     pending (check changes).
//   - The "changes" section of the state file, through statefile.Store. The
//     package never writes files; it marks the store on every state
//     transition, lazily (the write may wait up to the store's lazy delay
//     to join others, since every API answer that reports a change waits
//     for the file first), and hands it a pre-marshalled snapshot. Each
//     task and each change caches its JSON until it changes again, so a
//     snapshot re-encodes only what moved since the last one and ready
//     changes cost a copy.
//
// # Restart
//
// A Manager built over a state file that holds unfinished changes resolves
// them in Start, once the kinds are registered, and runs none of their work:
//
//   - a task of a kind that has no registered handler is marked Done with the
//     log entry `no handler for task "<kind>", task ignored`;
//   - a task that was running (Doing, or Abort) when the previous daemon
//     stopped gets the Interrupted text of its Kind as its error, or is marked
//     Done when that text is empty;
//   - a task that had not started (Do) is put on Hold, with the log entry
//     `Not run: the daemon stopped before this task started`, or, when its
//     Kind has an Unstarted text and every task it waits for is Done, gets
//     that text as its error. An old start change is therefore never re-run,
//     for example after `on-failure: shutdown` ended the previous daemon.
//
// A Manager of a daemon that took over from an upgraded one (Options.TookOver)
// carries its unfinished changes on instead: a running task of a kind with a
// Resume handler is run again with it (its log says `Resumed by the upgraded
// daemon`), another running task is marked Done when its Interrupted text is
// empty and fails with `interrupted by an upgrade of the daemon, not
// retrying` otherwise, and tasks not yet started run as they would have.
//
// Close cancels running handlers. A handler that then returns an error leaves
// its task as it was (Doing or Abort), so the next daemon resolves it as
// interrupted; one that returns nil marks its task Done, but nothing new is
// started after Close.
//
// # What it does not do
//
// The package knows nothing about services, checks, exec or HTTP: the ops
// layer decides which tasks a change has and registers the handlers, and the
// daemon maps ChangeInfo to the wire format. There is no undo: the Undo,
// Undoing and Undone statuses exist only because the wire format names them.
package changes
