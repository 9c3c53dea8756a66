package daemon

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/files"
)

// fileSystem is what the files API (api.md §17) does to files: one call
// per path. The daemon uses internal/files (localFiles); the fuzz test
// uses one that touches nothing.
type fileSystem interface {
	List(path, pattern string, itself bool) ([]files.Info, error)
	Open(path string) (*os.File, error)
	Write(spec files.WriteSpec, content io.Reader) error
	MakeDir(spec files.DirSpec) error
	Remove(path string, recursive bool) error
}

// localFiles is internal/files, on the files the daemon's user can reach.
type localFiles struct{}

func (localFiles) List(path, pattern string, itself bool) ([]files.Info, error) {
	return files.List(path, pattern, itself)
}
func (localFiles) Open(path string) (*os.File, error) { return files.Open(path) }
func (localFiles) Write(spec files.WriteSpec, content io.Reader) error {
	return files.Write(spec, content)
}
func (localFiles) MakeDir(spec files.DirSpec) error         { return files.MakeDir(spec) }
func (localFiles) Remove(path string, recursive bool) error { return files.Remove(path, recursive) }

// getFiles serves GET /v1/files (api.md §17.1, §17.2).
func (a *api) getFiles(r *http.Request, cl *caller) response {
	q := r.URL.Query()
	switch action := q.Get("action"); action {
	case "list":
		itself := q.Get("itself")
		if itself != "" && itself != "true" && itself != "false" {
			return badRequest(`itself parameter must be "true" or "false"`)
		}
		path := q.Get("path")
		if path == "" {
			return badRequest("must specify path")
		}
		if !filepath.IsAbs(path) {
			return badRequest("path must be absolute, got %q", path)
		}
		infos, err := a.files.List(path, q.Get("pattern"), itself == "true")
		if err != nil {
			return errorResponse(fileError(err))
		}
		out := make([]fileInfoJSON, len(infos))
		for i, info := range infos {
			out[i] = fileInfoToJSON(info)
		}
		return syncResponse(out)
	case "read":
		if !acceptsMultipart(r) {
			return badRequest("must accept multipart/form-data")
		}
		paths := q["path"]
		if len(paths) == 0 {
			return badRequest("must specify one or more paths")
		}
		return readFilesResponse{a: a, paths: paths, user: cl.user()}
	default:
		return badRequest("invalid action %q", action)
	}
}

// fileInfoJSON is an entry of a list result (api.md §17.1).
type fileInfoJSON struct {
	Path         string `json:"path"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Size         *int64 `json:"size,omitempty"`
	Permissions  string `json:"permissions"`
	LastModified string `json:"last-modified"`
	UserID       int    `json:"user-id"`
	User         string `json:"user"`
	GroupID      int    `json:"group-id"`
	Group        string `json:"group"`
}

func fileInfoToJSON(info files.Info) fileInfoJSON {
	return fileInfoJSON{
		Path: info.Path, Name: info.Name, Type: info.Type, Size: info.Size,
		Permissions: info.Permissions, LastModified: info.LastModified.Format(time.RFC3339),
		UserID: info.UserID, User: info.User, GroupID: info.GroupID, Group: info.Group,
	}
}

// acceptsMultipart reports whether the Accept header names
// multipart/form-data.
func acceptsMultipart(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for _, item := range strings.Split(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err == nil && mt == "multipart/form-data" {
				return true
			}
		}
	}
	return false
}

// fileResultJSON is the per-path result of read, write, make-dirs and remove.
type fileResultJSON struct {
	Path  string       `json:"path"`
	Error *errorResult `json:"error,omitempty"`
}

// fileResult is the result for path of an operation that returned err.
func fileResult(path string, err error) fileResultJSON {
	res := fileResultJSON{Path: path}
	if err != nil {
		res.Error = &errorResult{Message: err.Error(), Kind: files.Kind(err)}
	}
	return res
}

// fileError gives a file error the files API's kind and the status that
// kind implies.
func fileError(err error) *apierr.Error {
	e := &apierr.Error{Class: apierr.BadRequest, Kind: files.Kind(err), Message: err.Error()}
	switch e.Kind {
	case files.KindNotFound:
		e.Class = apierr.NotFound
	case files.KindPermissionDenied:
		e.Class = apierr.Forbidden
	}
	return e
}

// readFilesResponse streams the files of a read as multipart/form-data: a
// part per file read, then the "response" part with the per-path results
// (api.md §17.2). The status is always 200.
type readFilesResponse struct {
	a     *api
	paths []string
	// user names the caller in the pull_file security events.
	user string
}

func (rf readFilesResponse) write(w http.ResponseWriter, r *http.Request) {
	mw := multipart.NewWriter(w)
	var b [16]byte
	rand.Read(b[:])
	mw.SetBoundary(hex.EncodeToString(b[:]))
	w.Header().Set("Content-Type", mw.FormDataContentType())
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 256*1024)
	send := func(path string, content io.Reader) error {
		part, err := mw.CreateFormFile("files", path)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(part, readerOnly{content}, buf)
		return err
	}
	results := make([]fileResultJSON, 0, len(rf.paths))
	for _, path := range rf.paths {
		// Every requested path is an event, also one that cannot be read
		// (relative, missing), as in Pebble.
		rf.a.securityAdmin(rf.user, "pull_file", "Pulling file "+path)
		f, err := rf.a.files.Open(path)
		if err != nil {
			results = append(results, fileResult(path, err))
			continue
		}
		err = send(path, f)
		f.Close()
		if err != nil {
			// The client went away; nothing more can be sent.
			return
		}
		results = append(results, fileResult(path, nil))
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="response"`)
	h.Set("Content-Type", "application/json")
	part, err := mw.CreatePart(h)
	if err != nil {
		return
	}
	json.NewEncoder(part).Encode(envelope{
		Type: "sync", StatusCode: http.StatusOK, Status: http.StatusText(http.StatusOK),
		Result: results,
	})
	mw.Close()
}

// readerOnly hides WriteTo, so io.CopyBuffer uses its (large) buffer.
type readerOnly struct{ io.Reader }

// postFiles serves POST /v1/files: multipart write, or JSON make-dirs and
// remove (api.md §17.3, §17.4). The endpoint has no central body limit, so
// a write streams any size; the JSON and metadata parts are limited here.
func (a *api) postFiles(r *http.Request, cl *caller) response {
	header := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil {
		return badRequest("invalid Content-Type %q", header)
	}
	switch mediaType {
	case "application/json":
		r.Body = http.MaxBytesReader(nil, r.Body, a.bodyLimit)
		return a.postFilesJSON(r)
	case "multipart/form-data":
		return a.writeFiles(r, cl, params["boundary"])
	default:
		return badRequest("invalid media type %q", mediaType)
	}
}

// ownerJSON is the owner fields of write and make-dirs entries.
type ownerJSON struct {
	UserID  *int   `json:"user-id"`
	User    string `json:"user"`
	GroupID *int   `json:"group-id"`
	Group   string `json:"group"`
}

func (o ownerJSON) owner() files.Owner {
	return files.Owner{UserID: o.UserID, User: o.User, GroupID: o.GroupID, Group: o.Group}
}

func (a *api) postFilesJSON(r *http.Request) response {
	var req struct {
		Action string `json:"action"`
		Dirs   []struct {
			Path        string `json:"path"`
			MakeParents bool   `json:"make-parents"`
			Permissions string `json:"permissions"`
			ownerJSON
		} `json:"dirs"`
		Paths []struct {
			Path      string `json:"path"`
			Recursive bool   `json:"recursive"`
		} `json:"paths"`
	}
	if resp := decodeJSON(r, decodeBody, &req); resp != nil {
		return resp
	}
	switch req.Action {
	case "make-dirs":
		results := make([]fileResultJSON, len(req.Dirs))
		for i, d := range req.Dirs {
			spec := files.DirSpec{Path: d.Path, MakeParents: d.MakeParents, Permissions: d.Permissions, Owner: d.owner()}
			results[i] = fileResult(d.Path, a.files.MakeDir(spec))
		}
		return syncResponse(results)
	case "remove":
		results := make([]fileResultJSON, len(req.Paths))
		for i, p := range req.Paths {
			results[i] = fileResult(p.Path, a.files.Remove(p.Path, p.Recursive))
		}
		return syncResponse(results)
	case "write":
		return badRequest(`must use multipart with "write" action`)
	default:
		return badRequest("invalid action %q", req.Action)
	}
}

// minBoundary is the shortest multipart boundary accepted (api.md §17.3).
const minBoundary = 32

// writeFiles handles a multipart write: the "request" part with the
// metadata, then one "files" part per file, each streamed to its target.
func (a *api) writeFiles(r *http.Request, cl *caller, boundary string) response {
	if len(boundary) < minBoundary {
		return badRequest("invalid boundary %q", boundary)
	}
	// A large buffer: multipart's own is 4 KiB, which costs a read per
	// 4 KiB of content.
	mr := multipart.NewReader(bufio.NewReaderSize(r.Body, 1<<20), boundary)
	part, err := mr.NextPart()
	if err != nil {
		return badRequest("cannot read request metadata: %v", err)
	}
	if name := formName(part); name != "request" {
		return badRequest("metadata field name must be \"request\", got %q", name)
	}
	var req struct {
		Action string `json:"action"`
		Files  []struct {
			Path        string `json:"path"`
			MakeDirs    bool   `json:"make-dirs"`
			Permissions string `json:"permissions"`
			ownerJSON
		} `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(part, a.bodyLimit)).Decode(&req); err != nil {
		return badRequest("%s: %v", decodeBody, err)
	}
	if req.Action != "write" {
		return badRequest("multipart action must be \"write\", got %q", req.Action)
	}
	if len(req.Files) == 0 {
		return badRequest("must specify one or more files")
	}
	specs := make([]files.WriteSpec, len(req.Files))
	for i, f := range req.Files {
		specs[i] = files.WriteSpec{Path: f.Path, MakeDirs: f.MakeDirs, Permissions: f.Permissions, Owner: f.owner()}
	}
	return a.writeParts(mr, specs, cl.user())
}

// writeParts writes each "files" part of a multipart write to the target
// its metadata spec gives; the results follow the order of specs. A
// malformed part fails the whole request.
func (a *api) writeParts(mr *multipart.Reader, specs []files.WriteSpec, user string) response {
	byPath := make(map[string]int, len(specs))
	for i, s := range specs {
		byPath[s.Path] = i
	}
	errs := make([]error, len(specs))
	seen := make([]bool, len(specs))
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return badRequest("%v", err)
		}
		if name := formName(part); name != "files" {
			return badRequest("field name must be \"files\", got %q", name)
		}
		path := fileName(part)
		a.securityAdmin(user, "push_file", "Pushing file "+path)
		i, ok := byPath[path]
		if !ok {
			return badRequest("no metadata for path %q", path)
		}
		seen[i] = true
		errs[i] = a.files.Write(specs[i], part)
	}
	results := make([]fileResultJSON, len(specs))
	for i, s := range specs {
		results[i] = fileResult(s.Path, errs[i])
		if !seen[i] {
			results[i].Error = &errorResult{Kind: files.KindGeneric, Message: fmt.Sprintf("no file content for path %q", s.Path)}
		}
	}
	return syncResponse(results)
}

// formName and fileName read a part's Content-Disposition parameters.
// (*multipart.Part).FileName is not used: it keeps only the base name,
// and the spec sends the full path there.
func formName(p *multipart.Part) string {
	_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	return params["name"]
}

func fileName(p *multipart.Part) string {
	_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	return params["filename"]
}
