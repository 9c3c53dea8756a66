package ops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/changes"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/osutil"
	"github.com/pebble-project/pebble/internal/plan"
)

// kindExec is the change and task kind of exec.
const kindExec = "exec"

// defaultPath is PATH for commands whose environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecRequest is a command to run (api.md §16.1).
type ExecRequest struct {
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

// ExecResult is what POST /v1/exec reports (api.md §16.2).
type ExecResult struct {
	ChangeID    string
	TaskID      string
	Environment map[string]string
	WorkingDir  string
}

func (o *Ops) registerExecTasks() {
	// An exec interrupted by a daemon restart has no process left; its
	// task is simply done (behaviour.md §10.2).
	o.changes.Register(kindExec, changes.Kind{Run: o.runExec, Interrupted: ""})
}

func (o *Ops) runExec(ctx context.Context, t *changes.Task) error {
	code, err := o.execs.Run(ctx, t.ID())
	if serr := t.Set(map[string]int{"exit-code": code}); serr != nil && err == nil {
		err = serr
	}
	return err
}

// Exec creates the change that runs a command. The command starts once the
// client has connected the task's websockets.
func (o *Ops) Exec(ctx context.Context, req ExecRequest) (ExecResult, error) {
	if len(req.Command) == 0 {
		return ExecResult{}, errorf(BadRequest, "must specify command")
	}
	if err := checkExecText(req); err != nil {
		return ExecResult{}, err
	}
	if req.ServiceContext != "" {
		var err error
		if req, err = o.withServiceContext(req); err != nil {
			return ExecResult{}, err
		}
	}
	path, err := exec.LookPath(req.Command[0])
	if err != nil {
		return ExecResult{}, errorf(BadRequest, "cannot find executable %q", req.Command[0])
	}
	uid, gid, err := osutil.NormalizeUIDGID(req.UserID, req.GroupID, req.User, req.Group)
	if err != nil {
		return ExecResult{}, errorf(BadRequest, "%v", err)
	}
	env, err := execEnvironment(req.Environment, uid)
	if err != nil {
		return ExecResult{}, errorf(BadRequest, "%v", err)
	}
	dir, what := req.WorkingDir, "working directory"
	if dir == "" {
		dir, what = env["HOME"], "home directory"
		if dir == "" {
			dir = "/"
		}
	}
	if st, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return ExecResult{}, errorf(Internal, "cannot call exec: %s %q does not exist", what, dir)
	} else if err != nil {
		return ExecResult{}, errorf(Internal, "cannot call exec: %v", err)
	} else if !st.IsDir() {
		return ExecResult{}, errorf(Internal, "cannot call exec: %s %q not a directory", what, dir)
	}
	if req.Interactive && !req.Terminal {
		return ExecResult{}, errorf(Internal, "cannot call exec: cannot use interactive mode without a terminal")
	}

	cmd := execs.Command{
		Path: path, Args: req.Command, Env: envList(env), Dir: dir,
		Terminal: req.Terminal, Interactive: req.Interactive, SplitStderr: req.SplitStderr,
		Width: req.Width, Height: req.Height, Timeout: req.Timeout,
	}
	if uid != nil && (*uid != os.Getuid() || *gid != os.Getgid()) {
		u, g := uint32(*uid), uint32(*gid)
		cmd.UID, cmd.GID = &u, &g
	}
	summary := fmt.Sprintf("Execute command %q", req.Command[0])
	var info changes.ChangeInfo
	o.execs.Add(cmd, func() string {
		info = o.changes.Add(changes.NewChange{
			Kind:    kindExec,
			Summary: summary,
			Tasks:   []changes.TaskSpec{{Kind: kindExec, Summary: summary}},
		})
		return info.Tasks[0].ID
	})
	return ExecResult{ChangeID: info.ID, TaskID: info.Tasks[0].ID, Environment: env, WorkingDir: dir}, nil
}

// checkExecText refuses command words, environment entries and a working
// directory that no process can be given (see plan.TextProblem), rather
// than starting a change that is bound to fail.
func checkExecText(req ExecRequest) error {
	for i, arg := range req.Command {
		if bad := plan.TextProblem(arg); bad != "" {
			return errorf(BadRequest, "cannot run command: argument %d %s: %q", i, bad, arg)
		}
	}
	names := slices.Sorted(maps.Keys(req.Environment))
	for _, name := range names {
		bad := plan.TextProblem(name)
		if bad == "" && (name == "" || strings.Contains(name, "=")) {
			bad = `is empty or contains "="`
		}
		if bad != "" {
			return errorf(BadRequest, "cannot run command: environment variable name %q %s", name, bad)
		}
		if bad := plan.TextProblem(req.Environment[name]); bad != "" {
			return errorf(BadRequest, "cannot run command: environment variable %q value %s", name, bad)
		}
	}
	if bad := plan.TextProblem(req.WorkingDir); bad != "" {
		return errorf(BadRequest, "cannot run command: working directory %s: %q", bad, req.WorkingDir)
	}
	return nil
}

// withServiceContext fills the request's unset fields from a service's
// environment, user, group and working directory (api.md §16.1); the
// request's environment is merged on top of the service's.
func (o *Ops) withServiceContext(req ExecRequest) (ExecRequest, error) {
	p := o.plans.Plan()
	svc := p.Services[req.ServiceContext]
	if svc == nil {
		return req, errorf(BadRequest, "context service %q not found", req.ServiceContext)
	}
	env := make(map[string]string)
	uid, gid, username, group := svc.UserID, svc.GroupID, svc.User, svc.Group
	if w := workloadOf(p, svc); w != nil {
		for k, v := range w.Environment {
			env[k] = v
		}
		uid, gid, username, group = w.UserID, w.GroupID, w.User, w.Group
	}
	for k, v := range svc.Environment {
		env[k] = v
	}
	for k, v := range req.Environment {
		env[k] = v
	}
	req.Environment = env
	if req.UserID == nil {
		req.UserID = uid
	}
	if req.User == "" {
		req.User = username
	}
	if req.GroupID == nil {
		req.GroupID = gid
	}
	if req.Group == "" {
		req.Group = group
	}
	if req.WorkingDir == "" {
		req.WorkingDir = svc.WorkingDir
	}
	return req, nil
}

func workloadOf(p *plan.Plan, svc *plan.Service) *plan.Workload {
	if svc.Workload == "" {
		return nil
	}
	return p.Workloads[svc.Workload]
}

// execEnvironment is the environment of an exec (api.md §16.1): the
// daemon's (without HOME and USER when running as another user), the
// request's on top, then defaults for PATH, HOME, USER and LANG.
func execEnvironment(requested map[string]string, uid *int) (map[string]string, error) {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if uid != nil && *uid != os.Getuid() {
		delete(env, "HOME")
		delete(env, "USER")
	}
	for k, v := range requested {
		env[k] = v
	}
	if env["PATH"] == "" {
		env["PATH"] = defaultPath
	}
	if err := osutil.FillUserEnv(env, uid); err != nil {
		return nil, err
	}
	if env["LANG"] == "" {
		env["LANG"] = "C.UTF-8"
	}
	return env, nil
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// ExecSocket reserves websocket wsID of an exec task (api.md §16.3), with
// the spec's errors.
func (o *Ops) ExecSocket(taskID, wsID string) (*execs.Socket, error) {
	t, c, err := o.changes.Task(taskID)
	if err != nil {
		return nil, errorf(NotFound, "cannot find task %q", taskID)
	}
	if t.Kind != kindExec {
		return nil, errorf(BadRequest, "%q tasks do not have websockets", t.Kind)
	}
	sock, err := o.execs.Socket(taskID, wsID)
	switch {
	case err == nil:
		return sock, nil
	case errors.Is(err, execs.ErrConnected):
		return nil, errorf(Internal, "%s websocket already connected", wsID)
	case errors.Is(err, execs.ErrFailed):
		// The exec finished before this connection, with an error (for
		// example it timed out waiting for its websockets). Its change
		// records the error as soon as the task has returned.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if c, err := o.changes.Wait(ctx, c.ID); err == nil && c.Err != "" {
			return nil, errorf(Internal, "%s", c.Err)
		}
	case errors.Is(err, execs.ErrNoSession) && c.Err != "":
		return nil, errorf(Internal, "%s", c.Err)
	}
	return nil, errorf(NotFound, "cannot find %s websocket for task %q", wsID, taskID)
}
