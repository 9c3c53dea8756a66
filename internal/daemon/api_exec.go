package daemon

import (
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pebble-project/pebble/internal/execs"
)

// postExec serves POST /v1/exec (api.md §16.1, §16.2).
func (a *api) postExec(r *http.Request, cl *caller) response {
	var req struct {
		Command        []string          `json:"command"`
		ServiceContext string            `json:"service-context"`
		Environment    map[string]string `json:"environment"`
		WorkingDir     string            `json:"working-dir"`
		Timeout        string            `json:"timeout"`
		UserID         *int              `json:"user-id"`
		User           string            `json:"user"`
		GroupID        *int              `json:"group-id"`
		Group          string            `json:"group"`
		Terminal       bool              `json:"terminal"`
		Interactive    bool              `json:"interactive"`
		SplitStderr    bool              `json:"split-stderr"`
		Width          int               `json:"width"`
		Height         int               `json:"height"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	var timeout time.Duration
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil {
			return badRequest("invalid timeout: %v", err)
		}
		timeout = d
	}
	res, err := a.ops.Exec(r.Context(), execs.Request{
		Command: req.Command, ServiceContext: req.ServiceContext, Environment: req.Environment,
		WorkingDir: req.WorkingDir, Timeout: timeout,
		UserID: req.UserID, User: req.User, GroupID: req.GroupID, Group: req.Group,
		Terminal: req.Terminal, Interactive: req.Interactive, SplitStderr: req.SplitStderr,
		Width: req.Width, Height: req.Height,
	})
	if err != nil {
		return errorResponse(err)
	}
	a.securityAdmin(cl.user(), "exec", "Executing command "+req.Command[0])
	return asyncResponse(res.ChangeID, map[string]any{
		"task-id":     res.TaskID,
		"environment": res.Environment,
		"working-dir": res.WorkingDir,
	})
}

// upgrader upgrades exec websockets: any origin, 5 s handshake
// (api.md §16.3).
var upgrader = websocket.Upgrader{
	HandshakeTimeout: 5 * time.Second,
	CheckOrigin:      func(*http.Request) bool { return true },
}

// getTaskWebsocket serves GET /v1/tasks/{task-id}/websocket/{websocket-id}.
func (a *api) getTaskWebsocket(r *http.Request, cl *caller) response {
	sock, err := a.ops.ExecSocket(r.PathValue("task-id"), r.PathValue("websocket-id"))
	if err != nil {
		return errorResponse(err)
	}
	return websocketResponse{sock}
}

// websocketResponse upgrades the connection and hands it to the exec
// session.
type websocketResponse struct {
	sock *execs.Socket
}

func (w websocketResponse) write(rw http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(rw, r, nil)
	if err != nil {
		// The upgrader has answered the request with an error.
		w.sock.Abandon()
		return
	}
	w.sock.Attach(conn)
}

// securityAdmin logs the authz_admin security event of an admin action by
// user (behaviour.md §12).
func (a *api) securityAdmin(user, action, description string) {
	a.securityEvent("WARN", "authz_admin:"+user+","+action, description)
}
