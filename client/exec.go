package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ExecOptions describe a command to run on the daemon's side.
type ExecOptions struct {
	// Command is argv; required. Command[0] is looked up in the daemon's
	// PATH.
	Command []string

	// ServiceContext, if set, runs the command with that service's
	// environment, user, group and working directory; the fields below
	// override them, and Environment is merged on top.
	ServiceContext string

	// Environment is added to the daemon's environment.
	Environment map[string]string

	// WorkingDir is the working directory; empty means the user's home
	// directory, or "/".
	WorkingDir string

	// Timeout, if nonzero, is how long the command may run before the
	// daemon kills it and its change fails.
	Timeout time.Duration

	// UserID, User, GroupID and Group select who runs the command; unset
	// means the daemon's user.
	UserID  *int
	User    string
	GroupID *int
	Group   string

	// Terminal allocates a pseudo-terminal for the command's output.
	Terminal bool

	// Interactive feeds Stdin through the terminal, which becomes the
	// command's controlling terminal. It requires Terminal.
	Interactive bool

	// Width and Height are the terminal's initial size, when both are
	// positive.
	Width  int
	Height int

	// Stdin is sent to the command's standard input; nil means none (the
	// input ends at once). It is read in a goroutine until it returns EOF
	// or an error, which may be after Wait has returned (os.Stdin, for
	// example, blocks until the user types).
	Stdin io.Reader

	// Stdout receives the command's standard output, and its standard
	// error too when Stderr is nil; nil discards.
	Stdout io.Writer

	// Stderr, if set, receives the command's standard error separately.
	Stderr io.Writer
}

// ExecProcess is a command started by Exec.
type ExecProcess struct {
	changeID string
	taskID   string
	client   *Client

	controlMu sync.Mutex
	control   *websocket.Conn
	data      []*websocket.Conn // stdio, then stderr if split

	outputDone chan struct{} // closed when every output stream ended
	closeOnce  sync.Once
}

// ExitError is returned by Wait when the command exited with a non-zero
// code.
type ExitError struct {
	exitCode int
}

// ExitCode returns the command's exit code (128+N when it was killed by
// signal N).
func (e *ExitError) ExitCode() int {
	return e.exitCode
}

// Error returns "exit status <code>".
func (e *ExitError) Error() string {
	return fmt.Sprintf("exit status %d", e.exitCode)
}

// execPayload is the body of POST /v1/exec (api.md §16.1).
type execPayload struct {
	Command        []string          `json:"command"`
	ServiceContext string            `json:"service-context,omitempty"`
	Environment    map[string]string `json:"environment,omitempty"`
	WorkingDir     string            `json:"working-dir,omitempty"`
	Timeout        string            `json:"timeout,omitempty"`
	UserID         *int              `json:"user-id,omitempty"`
	User           string            `json:"user,omitempty"`
	GroupID        *int              `json:"group-id,omitempty"`
	Group          string            `json:"group,omitempty"`
	Terminal       bool              `json:"terminal"`
	Interactive    bool              `json:"interactive"`
	SplitStderr    bool              `json:"split-stderr"`
	Width          int               `json:"width,omitempty"`
	Height         int               `json:"height,omitempty"`
}

// Exec starts a command and connects its input and output. It returns once
// the command's streams are connected; call Wait for the outcome. The
// command keeps running if ctx ends after Exec returned: ctx bounds the
// start only.
func (c *Client) Exec(ctx context.Context, opts *ExecOptions) (*ExecProcess, error) {
	if opts == nil || len(opts.Command) == 0 {
		return nil, errors.New("cannot exec: no command given")
	}
	payload := execPayload{
		Command: opts.Command, ServiceContext: opts.ServiceContext, Environment: opts.Environment,
		WorkingDir: opts.WorkingDir, UserID: opts.UserID, User: opts.User, GroupID: opts.GroupID,
		Group: opts.Group, Terminal: opts.Terminal, Interactive: opts.Interactive,
		SplitStderr: opts.Stderr != nil, Width: opts.Width, Height: opts.Height,
	}
	if opts.Timeout != 0 {
		payload.Timeout = opts.Timeout.String()
	}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/exec", body: payload, async: true})
	if err != nil {
		return nil, err
	}
	var result struct {
		TaskID string `json:"task-id"`
	}
	if err := rsp.decode(&result); err != nil {
		return nil, err
	}

	// The websockets are dialled at once; the daemon accepts any order.
	ids := []string{"control", "stdio"}
	if opts.Stderr != nil {
		ids = append(ids, "stderr")
	}
	conns := make([]*websocket.Conn, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], errs[i] = c.dialWebsocket(ctx, result.TaskID, id)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
		return nil, err
	}

	p := &ExecProcess{
		changeID:   rsp.changeID,
		taskID:     result.TaskID,
		client:     c,
		control:    conns[0],
		data:       conns[1:],
		outputDone: make(chan struct{}),
	}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		receive(conns[1], stdout)
	}()
	if opts.Stderr != nil {
		readers.Add(1)
		go func() {
			defer readers.Done()
			receive(conns[2], opts.Stderr)
		}()
	}
	go func() {
		readers.Wait()
		close(p.outputDone)
	}()
	go send(conns[1], opts.Stdin)
	// The control websocket is read only to notice the daemon closing it.
	go func() {
		for {
			if _, _, err := conns[0].NextReader(); err != nil {
				return
			}
		}
	}()
	return p, nil
}

var endMessage = []byte(`{"command":"end"}`)

// send copies r to the command's stdin and then ends it.
func send(conn *websocket.Conn, r io.Reader) {
	if r != nil {
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if werr := conn.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
	}
	conn.WriteMessage(websocket.TextMessage, endMessage)
}

// receive copies an output stream to w until its end message.
func receive(conn *websocket.Conn, w io.Writer) {
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		switch typ {
		case websocket.BinaryMessage:
			w.Write(data)
		case websocket.TextMessage:
			var cmd struct {
				Command string `json:"command"`
			}
			if json.Unmarshal(data, &cmd) == nil && cmd.Command == "end" {
				return
			}
		}
	}
}

// dialWebsocket connects one websocket of an exec task.
func (c *Client) dialWebsocket(ctx context.Context, taskID, id string) (*websocket.Conn, error) {
	u := c.baseURL
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = path.Join(c.baseURL.Path, "/v1/tasks", taskID, "websocket", id)
	dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if t, ok := c.http.Transport.(*http.Transport); ok && t.DialContext != nil {
		dialer.NetDialContext = t.DialContext
	}
	header := http.Header{}
	if c.userAgent != "" {
		header.Set("User-Agent", c.userAgent)
	}
	if c.basicUsername != "" && c.basicPassword != "" {
		req := &http.Request{Header: header}
		req.SetBasicAuth(c.basicUsername, c.basicPassword)
	}
	conn, rsp, err := dialer.DialContext(ctx, u.String(), header)
	if err == nil {
		return conn, nil
	}
	if rsp != nil {
		// The daemon refused the upgrade with an error envelope.
		defer rsp.Body.Close()
		var env envelope
		if data, rerr := io.ReadAll(rsp.Body); rerr == nil && json.Unmarshal(data, &env) == nil && env.Type == "error" {
			var e Error
			if json.Unmarshal(env.Result, &e) == nil && e.Message != "" {
				e.StatusCode = env.StatusCode
				return nil, &e
			}
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, new(SocketNotFoundError)) {
		return nil, ConnectionError{Err: err}
	}
	return nil, fmt.Errorf("cannot connect to %s websocket: %w", id, err)
}

// ChangeID returns the ID of the change running the command.
func (p *ExecProcess) ChangeID() string {
	return p.changeID
}

// Wait waits for the command to finish and its output to be delivered. It
// returns nil if the command exited with code 0, an *ExitError for another
// exit code, and the change's error if the command could not run or timed
// out. If ctx ends first, the connection is dropped, which makes the daemon
// kill the command, and ctx's error is returned.
func (p *ExecProcess) Wait(ctx context.Context) error {
	chg, err := p.client.WaitChange(ctx, p.changeID, nil)
	if err != nil {
		if ctx.Err() != nil {
			p.drop()
		} else {
			p.close()
		}
		return err
	}
	// The daemon sends the end of the output before it finishes the task,
	// so this returns promptly.
	select {
	case <-p.outputDone:
	case <-ctx.Done():
		p.drop()
		return ctx.Err()
	}
	p.close()
	if chg.Err != "" {
		return errors.New(chg.Err)
	}
	if len(chg.Tasks) == 0 {
		return errors.New("exec change has no task")
	}
	var code int
	if err := chg.Tasks[0].Get("exit-code", &code); err != nil {
		return fmt.Errorf("cannot get exit code: %w", err)
	}
	if code != 0 {
		return &ExitError{exitCode: code}
	}
	return nil
}

// close closes the websockets cleanly.
func (p *ExecProcess) close() {
	p.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		deadline := time.Now().Add(time.Second)
		for _, conn := range append([]*websocket.Conn{p.control}, p.data...) {
			conn.WriteControl(websocket.CloseMessage, msg, deadline)
			conn.Close()
		}
	})
}

// drop closes the websockets without a close frame: the daemon then kills
// the command.
func (p *ExecProcess) drop() {
	p.closeOnce.Do(func() {
		for _, conn := range append([]*websocket.Conn{p.control}, p.data...) {
			conn.Close()
		}
	})
}

// SendResize tells the command's terminal its new size.
func (p *ExecProcess) SendResize(ctx context.Context, width, height int) error {
	msg := map[string]any{"command": "resize", "resize": map[string]int{"width": width, "height": height}}
	return p.sendControl(ctx, msg)
}

// SendSignal sends a signal, named like "SIGINT", to the command.
func (p *ExecProcess) SendSignal(ctx context.Context, signal string) error {
	msg := map[string]any{"command": "signal", "signal": map[string]string{"name": signal}}
	return p.sendControl(ctx, msg)
}

func (p *ExecProcess) sendControl(ctx context.Context, msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	p.controlMu.Lock()
	defer p.controlMu.Unlock()
	if deadline, ok := ctx.Deadline(); ok {
		p.control.SetWriteDeadline(deadline)
		defer p.control.SetWriteDeadline(time.Time{})
	}
	if err := p.control.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("cannot send control message: %w", err)
	}
	return nil
}
