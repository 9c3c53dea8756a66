package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/cli/command"
	"github.com/pebble-project/pebble/internal/system"
)

// runDaemonCLI runs "pebble args..." with a fake system.Run that records its
// options and returns code and err.
func runDaemonCLI(t *testing.T, code int, err error, args ...string) (result, *system.Options) {
	t.Helper()
	var got *system.Options
	var stdout, stderr strings.Builder
	e := &env{Env: command.NewEnv(nil, &stdout, &stderr, os.Getenv)}
	e.daemon = func(ctx context.Context, opts system.Options) (int, error) {
		got = &opts
		return code, err
	}
	rc := e.run(context.Background(), args)
	return result{stdout.String(), stderr.String(), rc}, got
}

func TestRunOptions(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Setenv("PEBBLE", dir)
	r, opts := runDaemonCLI(t, 0, nil, "run", "--hold", "--create-dirs", "--http", ":4000", "-v",
		"--args", "svc1", "--port", "8080", ";", "--args", "svc2")
	assert.Equal(t, result{}, r)
	require.NotNil(t, opts)
	assert.Equal(t, dir, opts.Dir)
	assert.Equal(t, "", opts.SocketPath)
	assert.True(t, opts.Hold)
	assert.True(t, opts.CreateDirs)
	assert.True(t, opts.Verbose)
	assert.False(t, opts.Debug)
	assert.True(t, opts.Persist)
	assert.Equal(t, ":4000", opts.HTTPAddress)
	assert.Equal(t, map[string][]string{"svc1": {"--port", "8080"}, "svc2": {}}, opts.ServiceArgs)
	assert.NotNil(t, opts.Stdout)
	assert.NotNil(t, opts.Stderr)
}

func TestRunEnvironment(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Setenv("PEBBLE", dir)
	t.Setenv("PEBBLE_SOCKET", "/run/pebble.socket")
	t.Setenv("PEBBLE_VERBOSE", "1")
	t.Setenv("PEBBLE_DEBUG", "1")
	t.Setenv("PEBBLE_PERSIST", "never")
	r, opts := runDaemonCLI(t, 0, nil, "run")
	assert.Equal(t, result{}, r)
	require.NotNil(t, opts)
	assert.Equal(t, "/run/pebble.socket", opts.SocketPath)
	assert.True(t, opts.Verbose)
	assert.True(t, opts.Debug)
	assert.False(t, opts.Persist)
	assert.False(t, opts.Hold)
	assert.Nil(t, opts.ServiceArgs)
}

func TestRunExitCodes(t *testing.T) {
	isolate(t)
	t.Setenv("PEBBLE", t.TempDir())
	r, _ := runDaemonCLI(t, 10, nil, "run")
	assert.Equal(t, result{code: 10}, r)
	r, _ = runDaemonCLI(t, 1, errors.New(`directory "/x" does not exist`), "run")
	assert.Equal(t, result{stderr: "cannot run daemon: directory \"/x\" does not exist\n", code: 1}, r)
}

func TestRunErrors(t *testing.T) {
	isolate(t)
	t.Setenv("PEBBLE", t.TempDir())
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"run", "--https", ":8443"}, "cannot run daemon: cannot listen on \":8443\": --https is not supported (TLS and certificate identities are not implemented); use the UNIX socket, or --http for open endpoints and metrics\n"},
		{[]string{"run", "--args"}, "cannot run daemon: --args requires a service name\n"},
		{[]string{"run", "--args", ";"}, "cannot run daemon: --args requires a service name\n"},
		{[]string{"run", "--args", "a", "x", ";", "--args", "a"}, "cannot run daemon: --args provided more than once for \"a\" service\n"},
		{[]string{"run", "extra"}, "error: too many arguments for command\n"},
		{[]string{"run", "--bogus"}, "error: unknown flag `bogus'\n"},
	}
	for _, tt := range tests {
		r, opts := runDaemonCLI(t, 0, nil, tt.args...)
		assert.Equal(t, result{stderr: tt.stderr, code: 1}, r, "%q", tt.args)
		assert.Nil(t, opts, "%q", tt.args)
	}

	t.Setenv("PEBBLE", "relative/dir")
	r, opts := runDaemonCLI(t, 0, nil, "run")
	assert.Equal(t, result{stderr: "cannot run daemon: directory \"relative/dir\" must be absolute\n", code: 1}, r)
	assert.Nil(t, opts)
}

// TestRunSystem runs the real system.Run far enough to see it refuse a
// missing directory.
func TestRunSystem(t *testing.T) {
	isolate(t)
	t.Setenv("PEBBLE", "/nonexistent/pebble")
	r := runCLI(t, "run")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "cannot run daemon: ")
	assert.Empty(t, r.stdout)
}

func TestRunIdentitiesFlag(t *testing.T) {
	isolate(t)
	t.Setenv("PEBBLE", t.TempDir())
	r, opts := runDaemonCLI(t, 0, nil, "run", "--identities", "/etc/ids.yaml", "--http", "127.0.0.1:4000")
	assert.Equal(t, result{}, r)
	require.NotNil(t, opts)
	assert.Equal(t, "/etc/ids.yaml", opts.IdentitiesFile)
	assert.Equal(t, "127.0.0.1:4000", opts.HTTPAddress)
}
