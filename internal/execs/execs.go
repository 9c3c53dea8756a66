package execs

import (
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Command is one command to run, fully resolved by the caller.
type Command struct {
	// Path is the executable, resolved by the caller.
	Path string
	// Args is argv, Args[0] as the user gave it.
	Args []string
	// Env is the complete environment, as "KEY=value" entries.
	Env []string
	// Dir is the working directory; it must exist.
	Dir string
	// UID and GID, when set, are the credentials to run as, with no
	// supplementary groups. Both nil: the daemon's own.
	UID, GID *uint32
	// Terminal allocates a pseudo-terminal for stdout (and stderr unless
	// SplitStderr).
	Terminal bool
	// Interactive reads stdin from the terminal, which becomes the
	// command's controlling terminal. It requires Terminal.
	Interactive bool
	// SplitStderr sends stderr to its own websocket instead of stdout's.
	SplitStderr bool
	// Width and Height are the initial terminal size; applied when both
	// are positive.
	Width, Height int
	// Timeout, if positive, is how long the command may run before it is
	// killed with its process group.
	Timeout time.Duration
}

// Websocket IDs (api.md §16.3).
const (
	Control = "control"
	Stdio   = "stdio"
	Stderr  = "stderr"
)

// Timing defaults (behaviour.md §1).
const (
	DefaultConnectWindow = 5 * time.Second
	DefaultOutputWait    = time.Second
)

// Request is a command to run as a client asks for it (api.md §16.1);
// internal/ops resolves it into a Command.
type Request struct {
	Command        []string
	ServiceContext string
	Environment    map[string]string
	WorkingDir     string
	// Timeout, if positive, kills the command after that long.
	Timeout     time.Duration
	UserID      *int
	User        string
	GroupID     *int
	Group       string
	Terminal    bool
	Interactive bool
	SplitStderr bool
	Width       int
	Height      int
}

// Started is what POST /v1/exec reports of a command it set up
// (api.md §16.2).
type Started struct {
	ChangeID    string
	TaskID      string
	Environment map[string]string
	WorkingDir  string
}

// Options configure a Manager. Every field may be left zero.
type Options struct {
	// Logf writes to the daemon log; nil discards.
	Logf func(format string, args ...any)
	// ConnectWindow is how long a task waits for its I/O websockets; 0
	// means DefaultConnectWindow.
	ConnectWindow time.Duration
	// OutputWait is how long output is still forwarded after the command
	// exited, for descendants that hold it open; 0 means DefaultOutputWait.
	OutputWait time.Duration
}

// Manager holds the exec sessions of tasks that have not finished. Its
// methods are safe for concurrent use.
type Manager struct {
	opts Options

	mu       sync.Mutex
	sessions map[string]*session // by task ID
	// end is closed by End, with endCause; Reopen replaces it.
	end      chan struct{}
	endCause error
}

// New returns a Manager.
func New(opts Options) *Manager {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.ConnectWindow == 0 {
		opts.ConnectWindow = DefaultConnectWindow
	}
	if opts.OutputWait == 0 {
		opts.OutputWait = DefaultOutputWait
	}
	return &Manager{opts: opts, sessions: make(map[string]*session), end: make(chan struct{})}
}

// End ends every session, as when the daemon upgrades in place
// (docs/upgrade.md): a command is killed, a session still waiting for its
// websockets ends at once, and Run returns cause. Sessions run until Reopen
// end the same way. It returns the task IDs of the sessions it ended.
func (m *Manager) End(cause error) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.end:
	default:
		m.endCause = cause
		close(m.end)
	}
	ids := make([]string, 0, len(m.sessions))
	for id := range m.sessions {
		ids = append(ids, id)
	}
	return ids
}

// Reopen lets sessions run again after End: the upgrade did not happen.
func (m *Manager) Reopen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.end:
		m.end, m.endCause = make(chan struct{}), nil
	default:
	}
}

// ending returns the channel End closes and, once it is closed, its cause.
func (m *Manager) ending() (<-chan struct{}, func() error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.end, func() error {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.endCause
	}
}

// Add registers a session for cmd under the task ID that add returns. add
// runs with the manager's lock held, so the task it creates cannot look up
// its session before it is registered; add must not call the Manager.
func (m *Manager) Add(cmd Command, add func() (taskID string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := add()
	m.sessions[id] = newSession(m, id, cmd)
}

func (m *Manager) session(taskID string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[taskID]
}

func (m *Manager) remove(taskID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, taskID)
}

// Errors of Socket. Match them with errors.Is.
var (
	// ErrNoSession: the task has no session (it finished, or is not an
	// exec task of this daemon).
	ErrNoSession = errors.New("no exec session for task")
	// ErrNoSocket: the session has no websocket with that ID.
	ErrNoSocket = errors.New("no such websocket")
	// ErrConnected: the websocket is already connected.
	ErrConnected = errors.New("websocket already connected")
	// ErrFailed: the exec has finished with an error.
	ErrFailed = errors.New("exec failed")
)

// keepFinished is how long a finished session stays registered, so a
// websocket that connects late (the command exited before the client's
// control websocket arrived) is accepted and closed cleanly rather than
// refused.
const keepFinished = 10 * time.Second

// Socket reserves websocket wsID of the task's session. The caller then
// upgrades the HTTP connection and calls Attach, or Abandon if the upgrade
// failed.
func (m *Manager) Socket(taskID, wsID string) (*Socket, error) {
	s := m.session(taskID)
	if s == nil {
		return nil, ErrNoSession
	}
	sl := s.slots[wsID]
	if sl == nil {
		return nil, ErrNoSocket
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runErr != nil {
		return nil, ErrFailed
	}
	if sl.reserved {
		return nil, ErrConnected
	}
	sl.reserved = true
	return &Socket{s: s, sl: sl}, nil
}

// Socket is a reserved websocket of a session.
type Socket struct {
	s  *session
	sl *slot
}

// Attach hands the upgraded connection to the session, which owns it from
// now on and closes it when the task ends. A connection attached after the
// task ended is closed at once.
func (k *Socket) Attach(conn *websocket.Conn) {
	k.s.attach(k.sl, conn)
}

// Abandon gives up the reservation, for a failed upgrade.
func (k *Socket) Abandon() {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	if k.sl.conn == nil {
		k.sl.reserved = false
	}
}
