package ops

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pebble-project/pebble/internal/files"
)

// FileResult is the outcome for one path of a files request (api.md §17):
// Err is nil on success.
type FileResult struct {
	Path string
	Err  *Error
}

// fileError turns a file error into an Error with the files API's kind.
func fileError(err error) *Error {
	e := &Error{Class: BadRequest, Kind: files.Kind(err), Message: err.Error()}
	switch e.Kind {
	case files.KindNotFound:
		e.Class = NotFound
	case files.KindPermissionDenied:
		e.Class = Forbidden
	}
	return e
}

// ListFiles lists a path (api.md §17.1).
func (o *Ops) ListFiles(path, pattern string, itself bool) ([]files.Info, error) {
	if path == "" {
		return nil, errorf(BadRequest, "must specify path")
	}
	if !filepath.IsAbs(path) {
		return nil, errorf(BadRequest, "path must be absolute, got %q", path)
	}
	infos, err := files.List(path, pattern, itself)
	if err != nil {
		return nil, fileError(err)
	}
	return infos, nil
}

// ReadFiles opens each path in turn and hands the open file to send
// (api.md §17.2). A path that cannot be read gets an error result; an error
// from send (the client went away) ends the request and is returned.
func (o *Ops) ReadFiles(paths []string, send func(path string, content io.Reader) error) ([]FileResult, error) {
	if len(paths) == 0 {
		return nil, errorf(BadRequest, "must specify one or more paths")
	}
	results := make([]FileResult, 0, len(paths))
	for _, path := range paths {
		f, err := files.Open(path)
		if err != nil {
			results = append(results, FileResult{Path: path, Err: fileError(err)})
			continue
		}
		err = send(path, f)
		f.Close()
		if err != nil {
			return nil, err
		}
		results = append(results, FileResult{Path: path})
	}
	return results, nil
}

// FilePart is one file's content in a write request, as the request
// carries it.
type FilePart struct {
	Path    string
	Content io.Reader
}

// WriteFiles writes files (api.md §17.3). next returns the file parts of
// the request in order, and io.EOF after the last; any other error from it
// is a malformed request and fails the whole request with that message.
// The results follow the order of specs.
func (o *Ops) WriteFiles(specs []files.WriteSpec, next func() (FilePart, error)) ([]FileResult, error) {
	if len(specs) == 0 {
		return nil, errorf(BadRequest, "must specify one or more files")
	}
	byPath := make(map[string]int, len(specs))
	for i, s := range specs {
		byPath[s.Path] = i
	}
	errs := make([]*Error, len(specs))
	seen := make([]bool, len(specs))
	for {
		part, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				return nil, oe
			}
			return nil, errorf(BadRequest, "%v", err)
		}
		i, ok := byPath[part.Path]
		if !ok {
			return nil, errorf(BadRequest, "no metadata for path %q", part.Path)
		}
		seen[i] = true
		if err := files.Write(specs[i], part.Content); err != nil {
			errs[i] = fileError(err)
		}
	}
	results := make([]FileResult, len(specs))
	for i, s := range specs {
		results[i] = FileResult{Path: s.Path, Err: errs[i]}
		if !seen[i] {
			results[i].Err = &Error{Class: BadRequest, Kind: files.KindGeneric,
				Message: fmt.Sprintf("no file content for path %q", s.Path)}
		}
	}
	return results, nil
}

// MakeDirs makes directories (api.md §17.4).
func (o *Ops) MakeDirs(specs []files.DirSpec) []FileResult {
	results := make([]FileResult, len(specs))
	for i, s := range specs {
		results[i] = FileResult{Path: s.Path}
		if err := files.MakeDir(s); err != nil {
			results[i].Err = fileError(err)
		}
	}
	return results
}

// RemoveSpec is one path to remove.
type RemoveSpec struct {
	Path      string
	Recursive bool
}

// RemovePaths removes paths (api.md §17.4).
func (o *Ops) RemovePaths(specs []RemoveSpec) []FileResult {
	results := make([]FileResult, len(specs))
	for i, s := range specs {
		results[i] = FileResult{Path: s.Path}
		if err := files.Remove(s.Path, s.Recursive); err != nil {
			results[i].Err = fileError(err)
		}
	}
	return results
}
