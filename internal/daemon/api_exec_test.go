package daemon

import (
	"context"
	"io"

	"github.com/pebble-project/pebble/internal/execs"
	"github.com/pebble-project/pebble/internal/files"
	"github.com/pebble-project/pebble/internal/ops"
)

// The fake verbs of the exec and files APIs; the real ones are tested in
// internal/ops, internal/execs, internal/files and end to end in tests/.

func (f *fakeOps) Exec(ctx context.Context, req ops.ExecRequest) (ops.ExecResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "exec")
	if f.err != nil {
		return ops.ExecResult{}, f.err
	}
	return ops.ExecResult{ChangeID: "1", TaskID: "2", Environment: map[string]string{"PATH": "/bin"}, WorkingDir: "/"}, nil
}

func (f *fakeOps) ExecSocket(taskID, wsID string) (*execs.Socket, error) {
	return nil, &ops.Error{Class: ops.NotFound, Message: `cannot find task "` + taskID + `"`}
}

func (f *fakeOps) ListFiles(path, pattern string, itself bool) ([]files.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "list "+path)
	return []files.Info{}, f.err
}

func (f *fakeOps) ReadFiles(paths []string, send func(path string, content io.Reader) error) ([]ops.FileResult, error) {
	return nil, f.err
}

func (f *fakeOps) WriteFiles(specs []files.WriteSpec, next func() (ops.FilePart, error)) ([]ops.FileResult, error) {
	return nil, f.err
}

func (f *fakeOps) MakeDirs(specs []files.DirSpec) []ops.FileResult { return nil }

func (f *fakeOps) RemovePaths(specs []ops.RemoveSpec) []ops.FileResult { return nil }
