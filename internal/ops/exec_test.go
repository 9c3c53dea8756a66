package ops

import (
	"context"
	"os"
	"testing"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/execs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const contextLayer = `
services:
    svc:
        override: replace
        command: sleep 300
        working-dir: /tmp
        environment:
            A: svc
            B: svc
`

func TestExecRequestErrors(t *testing.T) {
	o := newOps(t, contextLayer)
	ctx := context.Background()
	for _, tt := range []struct {
		req   execs.Request
		class apierr.Class
		msg   string
	}{
		{execs.Request{}, apierr.BadRequest, "must specify command"},
		{execs.Request{Command: []string{"no-such-cmd"}}, apierr.BadRequest, `cannot find executable "no-such-cmd"`},
		{execs.Request{Command: []string{"true"}, ServiceContext: "nope"}, apierr.BadRequest, `context service "nope" not found`},
		{execs.Request{Command: []string{"true"}, WorkingDir: "/nonexistent"}, apierr.Internal, `cannot call exec: working directory "/nonexistent" does not exist`},
		{execs.Request{Command: []string{"true"}, WorkingDir: "/etc/passwd"}, apierr.Internal, `cannot call exec: working directory "/etc/passwd" not a directory`},
		{execs.Request{Command: []string{"true"}, Environment: map[string]string{"HOME": "/nonexistent"}}, apierr.Internal, `cannot call exec: home directory "/nonexistent" does not exist`},
		{execs.Request{Command: []string{"true"}, Interactive: true}, apierr.Internal, "cannot call exec: cannot use interactive mode without a terminal"},
		{execs.Request{Command: []string{"true"}, Group: "root"}, apierr.BadRequest, "must specify user, not just group"},
		{execs.Request{Command: []string{"echo", "a\x00b"}}, apierr.BadRequest, `cannot run command: argument 1 contains a NUL byte: "a\x00b"`},
		{execs.Request{Command: []string{"echo\xff"}}, apierr.BadRequest, `cannot run command: argument 0 is not valid UTF-8: "echo\xff"`},
		{execs.Request{Command: []string{"true"}, Environment: map[string]string{"A=B": "c"}}, apierr.BadRequest, `cannot run command: environment variable name "A=B" is empty or contains "="`},
		{execs.Request{Command: []string{"true"}, Environment: map[string]string{"": "c"}}, apierr.BadRequest, `cannot run command: environment variable name "" is empty or contains "="`},
		{execs.Request{Command: []string{"true"}, Environment: map[string]string{"A\x00": "c"}}, apierr.BadRequest, `cannot run command: environment variable name "A\x00" contains a NUL byte`},
		{execs.Request{Command: []string{"true"}, Environment: map[string]string{"A": "c\x00"}}, apierr.BadRequest, `cannot run command: environment variable "A" value contains a NUL byte`},
		{execs.Request{Command: []string{"true"}, WorkingDir: "/tmp\x00"}, apierr.BadRequest, `cannot run command: working directory contains a NUL byte: "/tmp\x00"`},
	} {
		_, err := o.Exec(ctx, tt.req)
		var oe *apierr.Error
		require.ErrorAs(t, err, &oe, "%+v", tt.req)
		assert.Equal(t, tt.class, oe.Class, tt.msg)
		assert.Equal(t, tt.msg, oe.Message)
	}
}

func TestExecChangeAndContext(t *testing.T) {
	o := newOps(t, contextLayer)
	res, err := o.Exec(context.Background(), execs.Request{
		Command: []string{"true"}, ServiceContext: "svc", Environment: map[string]string{"B": "req"},
	})
	require.NoError(t, err)
	assert.Equal(t, "svc", res.Environment["A"])
	assert.Equal(t, "req", res.Environment["B"], "the request's environment wins")
	assert.Equal(t, "C.UTF-8", res.Environment["LANG"])
	assert.NotEmpty(t, res.Environment["PATH"])
	assert.Equal(t, "/tmp", res.WorkingDir)

	c, err := o.changes.Change(res.ChangeID)
	require.NoError(t, err)
	assert.Equal(t, "exec", c.Kind)
	assert.Equal(t, `Execute command "true"`, c.Summary)
	require.Len(t, c.Tasks, 1)
	assert.Equal(t, res.TaskID, c.Tasks[0].ID)
	assert.Equal(t, "exec", c.Tasks[0].Kind)

	_, err = o.ExecSocket("999", "control")
	assert.Equal(t, &apierr.Error{Class: apierr.NotFound, Message: `cannot find task "999"`}, err)
	_, err = o.ExecSocket(res.TaskID, "stderr")
	assert.Equal(t, &apierr.Error{Class: apierr.NotFound, Message: `cannot find stderr websocket for task "` + res.TaskID + `"`}, err)
	sock, err := o.ExecSocket(res.TaskID, "control")
	require.NoError(t, err)
	defer sock.Abandon()
	_, err = o.ExecSocket(res.TaskID, "control")
	assert.Equal(t, &apierr.Error{Class: apierr.Internal, Message: "control websocket already connected"}, err)

	started := run(t, o, "start", "svc")
	_, err = o.ExecSocket(started.Tasks[0].ID, "control")
	assert.Equal(t, &apierr.Error{Class: apierr.BadRequest, Message: `"start" tasks do not have websockets`}, err)
}

func TestExecEnvironment(t *testing.T) {
	t.Setenv("HOME", "/daemon-home")
	t.Setenv("LANG", "")
	env, err := execEnvironment(map[string]string{"X": "1"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "/daemon-home", env["HOME"])
	assert.Equal(t, "C.UTF-8", env["LANG"])
	assert.Equal(t, "1", env["X"])

	// Another user: the daemon's HOME and USER are not passed on.
	nobody := 65534
	if os.Getuid() == nobody {
		t.Skip("running as nobody")
	}
	env, err = execEnvironment(nil, &nobody)
	require.NoError(t, err)
	assert.NotEqual(t, "/daemon-home", env["HOME"])
	assert.Equal(t, "nobody", env["USER"])
}
