package execs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/reaper"
)

// Timing of websocket shutdown.
const (
	// writeWait bounds control-frame writes.
	writeWait = time.Second
	// lingerWait is how long a websocket is kept open after the task ended,
	// for the client to read what was sent and answer the close frame.
	lingerWait = 2 * time.Second
)

// endMessage ends a stream, in both directions.
var endMessage = []byte(`{"command":"end"}`)

// session is one exec task: its command, its websockets and, once started,
// its process.
type session struct {
	m      *Manager
	taskID string
	cmd    Command
	slots  map[string]*slot // fixed at creation

	started chan struct{} // closed once the process runs (or will never run)
	done    chan struct{} // closed when Run ends

	mu     sync.Mutex // guards slot reservations and attachments, proc and runErr
	proc   *process
	runErr error // why Run failed, once it has
}

// slot is one websocket of a session.
type slot struct {
	id        string
	reserved  bool
	conn      *websocket.Conn
	connected chan struct{} // closed on attach
	readDone  chan struct{} // closed when the reader goroutine returns

	wmu    sync.Mutex // serialises data writes
	failed bool       // a write failed; guarded by wmu
}

func newSession(m *Manager, taskID string, cmd Command) *session {
	s := &session{
		m: m, taskID: taskID, cmd: cmd,
		slots:   make(map[string]*slot),
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	ids := []string{Control, Stdio}
	if cmd.SplitStderr {
		ids = append(ids, Stderr)
	}
	for _, id := range ids {
		s.slots[id] = &slot{id: id, connected: make(chan struct{}), readDone: make(chan struct{})}
	}
	return s
}

// attach stores an upgraded connection and starts its reader.
func (s *session) attach(sl *slot, conn *websocket.Conn) {
	s.mu.Lock()
	select {
	case <-s.done:
		// Too late: the command has finished. Close cleanly.
		sl.conn = conn
		close(sl.connected)
		s.mu.Unlock()
		go func() {
			defer close(sl.readDone)
			for {
				if _, _, err := conn.NextReader(); err != nil {
					return
				}
			}
		}()
		go linger(sl)
		return
	default:
	}
	sl.conn = conn
	close(sl.connected)
	s.mu.Unlock()
	go s.read(sl)
}

// read is the reader goroutine of a websocket. It reads nothing before the
// process started (so control commands and stdin wait for it), then
// handles what the client sends until the connection ends.
func (s *session) read(sl *slot) {
	defer close(sl.readDone)
	select {
	case <-s.started:
	case <-s.done:
	}
	for {
		typ, data, err := sl.conn.ReadMessage()
		if err != nil {
			s.readEnded(sl, err)
			return
		}
		switch {
		case sl.id == Control && typ == websocket.TextMessage:
			s.control(data)
		case sl.id == Stdio && typ == websocket.BinaryMessage:
			s.stdin(data)
		case sl.id == Stdio && typ == websocket.TextMessage:
			var cmd struct {
				Command string `json:"command"`
			}
			if json.Unmarshal(data, &cmd) == nil && cmd.Command == "end" {
				s.endStdin()
			} else {
				s.m.opts.Logf("Exec %s: ignoring %s websocket message %q", s.taskID, sl.id, data)
			}
		case typ == websocket.TextMessage:
			s.m.opts.Logf("Exec %s: ignoring %s websocket message %q", s.taskID, sl.id, data)
		}
	}
}

// readEnded handles the end of a websocket's reads: a control websocket
// dropped without a close frame kills the command, a dropped stdio
// websocket closes its stdin.
func (s *session) readEnded(sl *slot, err error) {
	switch sl.id {
	case Control:
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			return
		}
		if p := s.process(); p != nil && p.kill() {
			s.m.opts.Logf("Exec %s: control websocket lost (%v), sent SIGKILL to process", s.taskID, err)
		}
	case Stdio:
		s.endStdin()
	}
}

// control handles one command from the control websocket (api.md §16.3).
func (s *session) control(data []byte) {
	var cmd struct {
		Command string `json:"command"`
		Resize  *struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"resize"`
		Signal *struct {
			Name string `json:"name"`
		} `json:"signal"`
	}
	if err := json.Unmarshal(data, &cmd); err != nil {
		s.m.opts.Logf("Exec %s: invalid control message %q: %v", s.taskID, data, err)
		return
	}
	p := s.process()
	if p == nil {
		return
	}
	switch {
	case cmd.Command == "resize" && cmd.Resize != nil:
		if p.pty == nil {
			s.m.opts.Logf("Exec %s: cannot resize: not a terminal", s.taskID)
			return
		}
		if err := setSize(p.pty, cmd.Resize.Width, cmd.Resize.Height); err != nil {
			s.m.opts.Logf("Exec %s: cannot resize terminal: %v", s.taskID, err)
		}
	case cmd.Command == "signal" && cmd.Signal != nil:
		sig, ok := osutil.SignalByName(cmd.Signal.Name)
		if !ok {
			s.m.opts.Logf("Exec %s: invalid signal name %q", s.taskID, cmd.Signal.Name)
			return
		}
		if err := p.signal(sig); err != nil {
			s.m.opts.Logf("Exec %s: cannot send %s: %v", s.taskID, cmd.Signal.Name, err)
		}
	default:
		s.m.opts.Logf("Exec %s: invalid control message %q", s.taskID, data)
	}
}

func (s *session) process() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

func (s *session) stdin(data []byte) {
	if p := s.process(); p != nil {
		p.writeStdin(data)
	}
}

func (s *session) endStdin() {
	if p := s.process(); p != nil {
		p.endStdin()
	}
}

// Run runs the task's command and returns its exit code (128+N when
// killed by signal N). The error is set, with exit code -1, when the
// websockets did not connect in time, the command could not start, the
// timeout expired or ctx ended.
func (m *Manager) Run(ctx context.Context, taskID string) (int, error) {
	s := m.session(taskID)
	if s == nil {
		return -1, fmt.Errorf("cannot find exec session for task %s", taskID)
	}
	code, err := s.run(ctx)
	s.finish(err)
	time.AfterFunc(keepFinished, func() { m.remove(taskID) })
	return code, err
}

func (s *session) run(ctx context.Context) (int, error) {
	m := s.m
	ended, cause := m.ending()
	if err := s.waitConnected(ctx, ended, cause); err != nil {
		return -1, err
	}
	p, err := s.start()
	if err != nil {
		return -1, err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	close(s.started)

	pumped := s.pumpOutput(p)

	var timeout <-chan time.Time
	if s.cmd.Timeout > 0 {
		t := time.NewTimer(s.cmd.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var runErr error
	select {
	case <-reaper.Exited(p.cmd):
	case <-timeout:
		p.kill()
		runErr = fmt.Errorf("timed out after %v: %w", s.cmd.Timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		p.kill()
		runErr = ctx.Err()
	case <-ended:
		p.kill()
		runErr = cause()
	}
	res, err := reaper.WaitExit(p.cmd)
	if err != nil {
		return -1, err
	}
	p.setExited()
	reaper.Release(p.cmd)

	// Forward what is left of the output; a descendant that keeps it open
	// gets the output wait, then its pipes are closed under it.
	wait := time.NewTimer(m.opts.OutputWait)
	defer wait.Stop()
	select {
	case <-pumped:
	case <-wait.C:
		p.closeOutput()
		select {
		case <-pumped:
		case <-time.After(m.opts.OutputWait):
			// A client that stopped reading blocks the writes.
			s.closeConns()
			<-pumped
		}
	}
	p.close()
	if runErr != nil {
		return -1, runErr
	}
	return res.ExitCode(), nil
}

// waitConnected waits until the I/O websockets are attached, at most the
// connect window, or until ended is closed (End): then it returns cause.
func (s *session) waitConnected(ctx context.Context, ended <-chan struct{}, cause func() error) error {
	wctx, cancel := context.WithTimeout(ctx, s.m.opts.ConnectWindow)
	defer cancel()
	for _, id := range []string{Stdio, Stderr} {
		sl := s.slots[id]
		if sl == nil {
			continue
		}
		select {
		case <-sl.connected:
		case <-ended:
			return cause()
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("exec %s: timeout waiting for websocket connections: %w", s.taskID, wctx.Err())
		}
	}
	return nil
}

// finish ends the session: the websockets get a close frame and are closed
// once the client answered it, or after the linger time.
func (s *session) finish(runErr error) {
	s.mu.Lock()
	s.runErr = runErr
	select {
	case <-s.started:
	default:
		close(s.started)
	}
	close(s.done)
	var attached []*slot
	for _, sl := range s.slots {
		if sl.conn != nil {
			attached = append(attached, sl)
		}
	}
	s.mu.Unlock()
	for _, sl := range attached {
		go linger(sl)
	}
}

// linger closes a websocket gracefully once the client has closed it (or
// the linger time passed). The control websocket gets a close frame; data
// websockets have sent their end message and get none (api.md §16.3).
func linger(sl *slot) {
	if sl.id == Control {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		sl.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
	}
	t := time.NewTimer(lingerWait)
	defer t.Stop()
	select {
	case <-sl.readDone:
	case <-t.C:
	}
	sl.conn.Close()
}

// closeConns closes every attached websocket at once.
func (s *session) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.slots {
		if sl.conn != nil {
			sl.conn.Close()
		}
	}
}

// write sends one data message; after a failed write the stream is drained
// and discarded, and a close frame tells the client.
func (sl *slot) write(typ int, data []byte) {
	sl.wmu.Lock()
	defer sl.wmu.Unlock()
	if sl.failed {
		return
	}
	if err := sl.conn.WriteMessage(typ, data); err != nil {
		sl.failed = true
		msg := websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "")
		sl.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait))
	}
}

// pumpOutput forwards the command's output to the websockets and returns a
// channel closed when every stream has ended and sent its end message.
func (s *session) pumpOutput(p *process) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, o := range p.outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pump(o.r, s.slots[o.slot])
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// pump copies r to the websocket until r ends, then sends the end message.
func pump(r io.Reader, sl *slot) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			sl.write(websocket.BinaryMessage, buf[:n])
		}
		if err != nil {
			// EOF from a pipe, EIO from a terminal whose slave side is
			// closed, or the file was closed after the output wait.
			break
		}
	}
	sl.write(websocket.TextMessage, endMessage)
}

// process is a started command and the parent's ends of its I/O.
type process struct {
	cmd *exec.Cmd
	pty *os.File // terminal master; nil without a terminal

	stdinMu    sync.Mutex
	stdinW     *os.File // pipe to the command's stdin; nil in interactive mode
	stdinEnded bool

	outputs []output

	mu     sync.Mutex
	exited bool
}

// output is one output stream and the websocket it goes to.
type output struct {
	r    *os.File
	slot string
}

// start starts the command through the reaper.
func (s *session) start() (*process, error) {
	c := s.cmd
	cmd := &exec.Cmd{Path: c.Path, Args: c.Args}
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.UID != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: *c.UID, Gid: *c.GID, Groups: []uint32{}}
	}

	p := &process{cmd: cmd}
	var childEnds []*os.File
	fail := func(err error) (*process, error) {
		for _, f := range childEnds {
			f.Close()
		}
		p.close()
		return nil, err
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("cannot create pipe: %w", err)
		}
		return r, w, nil
	}

	if c.Terminal {
		master, slave, err := openPTY(c.UID, c.GID)
		if err != nil {
			return fail(err)
		}
		p.pty = master
		childEnds = append(childEnds, slave)
		if c.Width > 0 && c.Height > 0 {
			if err := setSize(master, c.Width, c.Height); err != nil {
				return fail(err)
			}
		}
		cmd.Stdout, cmd.Stderr = slave, slave
		p.outputs = append(p.outputs, output{r: master, slot: Stdio})
		if c.Interactive {
			cmd.Stdin = slave
			cmd.SysProcAttr.Setctty = true
			cmd.SysProcAttr.Ctty = 0
		}
	} else {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, w)
		cmd.Stdout, cmd.Stderr = w, w
		p.outputs = append(p.outputs, output{r: r, slot: Stdio})
	}
	if !c.Interactive {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, r)
		cmd.Stdin = r
		p.stdinW = w
	}
	if c.SplitStderr {
		r, w, err := pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, w)
		cmd.Stderr = w
		p.outputs = append(p.outputs, output{r: r, slot: Stderr})
	}

	if err := reaper.StartCommand(cmd); err != nil {
		return fail(fmt.Errorf("cannot start command: %w", err))
	}
	// The child has its copies; the parent's would keep the output open.
	for _, f := range childEnds {
		f.Close()
	}
	return p, nil
}

// writeStdin writes to the command's stdin: the pipe, or the terminal in
// interactive mode. Errors (the command closed its stdin or exited) drop
// the data.
func (p *process) writeStdin(data []byte) {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	switch {
	case p.stdinEnded:
	case p.stdinW != nil:
		p.stdinW.Write(data)
	case p.pty != nil:
		p.pty.Write(data)
	}
}

// endStdin ends the command's input: the pipe is closed, or in interactive
// mode an end-of-file character (Ctrl-D) is typed on the terminal.
func (p *process) endStdin() {
	p.stdinMu.Lock()
	defer p.stdinMu.Unlock()
	if p.stdinEnded {
		return
	}
	p.stdinEnded = true
	switch {
	case p.stdinW != nil:
		p.stdinW.Close()
	case p.pty != nil:
		p.pty.Write([]byte{4})
	}
}

// signal sends sig to the command's main process.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return errors.New("process already exited")
	}
	return p.cmd.Process.Signal(sig)
}

// kill sends SIGKILL to the command's process group (the command is its
// leader, in a session of its own). It reports whether the command was
// still running.
func (p *process) kill() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return false
	}
	select {
	case <-reaper.Exited(p.cmd):
		return false // collected: its PID may already be reused
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	return true
}

func (p *process) setExited() {
	p.mu.Lock()
	p.exited = true
	p.mu.Unlock()
}

// closeOutput closes the parent's output ends, ending the pumps.
func (p *process) closeOutput() {
	for _, o := range p.outputs {
		o.r.Close()
	}
}

// close releases everything the parent holds. The files are closed before
// taking stdinMu: closing interrupts a write blocked on a full pipe or
// terminal, which holds the lock.
func (p *process) close() {
	p.closeOutput()
	if p.stdinW != nil {
		p.stdinW.Close()
	}
	if p.pty != nil {
		p.pty.Close()
	}
	p.stdinMu.Lock()
	p.stdinEnded = true
	p.stdinMu.Unlock()
}
