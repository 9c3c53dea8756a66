// Package execs runs the commands of the exec API (api.md §16): one session
// per exec task, its websockets (control, stdio and, when stderr is split,
// stderr) and, in terminal mode, its pseudo-terminal.
//
// A session is registered when the exec change is created (Manager.Add),
// before its task can run. The daemon reserves a websocket of the session
// (Manager.Socket), upgrades the HTTP connection and attaches it. The task
// handler (Manager.Run) waits until the I/O websockets are attached (at most
// the connect window, 5 s), starts the process through the reaper in a new
// session (setsid), copies bytes between the process and the websockets, and
// returns the exit code once the process has exited and its output has been
// sent, or after the output wait (1 s) when a descendant keeps the output
// open.
//
// The process is killed, with its process group, when the timeout expires,
// when the task's context ends (abort, daemon shutdown) and when the control
// websocket drops without a close frame: a client that goes away does not
// leave its command running.
//
// The package resolves nothing: the caller (internal/ops) gives it the
// resolved executable path, the complete environment, the working directory
// and the credentials. It knows nothing about services, plans, changes or
// HTTP routing; it speaks only the websocket protocol of api.md §16.3.
package execs
