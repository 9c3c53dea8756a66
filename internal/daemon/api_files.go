package daemon

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/files"
	"github.com/pebble-project/pebble/internal/ops"
)

// fileOps are the verbs of the files API (api.md §17).
type fileOps interface {
	ListFiles(path, pattern string, itself bool) ([]files.Info, error)
	ReadFiles(paths []string, send func(path string, content io.Reader) error) ([]ops.FileResult, error)
	WriteFiles(specs []files.WriteSpec, next func() (ops.FilePart, error)) ([]ops.FileResult, error)
	MakeDirs(specs []files.DirSpec) []ops.FileResult
	RemovePaths(specs []ops.RemoveSpec) []ops.FileResult
}

// getFiles serves GET /v1/files (api.md §17.1, §17.2).
func (a *api) getFiles(r *http.Request) response {
	q := r.URL.Query()
	switch action := q.Get("action"); action {
	case "list":
		itself := q.Get("itself")
		if itself != "" && itself != "true" && itself != "false" {
			return badRequest(`itself parameter must be "true" or "false"`)
		}
		infos, err := a.ops.ListFiles(q.Get("path"), q.Get("pattern"), itself == "true")
		if err != nil {
			return errorResponse(err)
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
		return readFilesResponse{a: a, paths: paths, user: whoFrom(r).user()}
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

func fileResultsToJSON(results []ops.FileResult) []fileResultJSON {
	out := make([]fileResultJSON, len(results))
	for i, res := range results {
		out[i].Path = res.Path
		if res.Err != nil {
			out[i].Error = &errorResult{Message: res.Err.Message, Kind: res.Err.Kind}
		}
	}
	return out
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
	results := make([]ops.FileResult, 0, len(rf.paths))
	for _, path := range rf.paths {
		// Every requested path is an event, also one that cannot be read
		// (relative, missing), as in Pebble.
		rf.a.securityAdmin(rf.user, "pull_file", fmt.Sprintf("Reading file %q", path))
		res, err := rf.a.ops.ReadFiles([]string{path}, send)
		if err != nil {
			// The client went away; nothing more can be sent.
			return
		}
		results = append(results, res...)
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
		Result: fileResultsToJSON(results),
	})
	mw.Close()
}

// readerOnly hides WriteTo, so io.CopyBuffer uses its (large) buffer.
type readerOnly struct{ io.Reader }

// postFiles serves POST /v1/files: multipart write, or JSON make-dirs and
// remove (api.md §17.3, §17.4). The endpoint has no central body limit, so
// a write streams any size; the JSON and metadata parts are limited here.
func (a *api) postFiles(r *http.Request) response {
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
		return a.writeFiles(r, params["boundary"])
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
		specs := make([]files.DirSpec, len(req.Dirs))
		for i, d := range req.Dirs {
			specs[i] = files.DirSpec{Path: d.Path, MakeParents: d.MakeParents, Permissions: d.Permissions, Owner: d.owner()}
		}
		return syncResponse(fileResultsToJSON(a.ops.MakeDirs(specs)))
	case "remove":
		specs := make([]ops.RemoveSpec, len(req.Paths))
		for i, p := range req.Paths {
			specs[i] = ops.RemoveSpec{Path: p.Path, Recursive: p.Recursive}
		}
		return syncResponse(fileResultsToJSON(a.ops.RemovePaths(specs)))
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
func (a *api) writeFiles(r *http.Request, boundary string) response {
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
	specs := make([]files.WriteSpec, len(req.Files))
	for i, f := range req.Files {
		specs[i] = files.WriteSpec{Path: f.Path, MakeDirs: f.MakeDirs, Permissions: f.Permissions, Owner: f.owner()}
	}
	user := whoFrom(r).user()
	results, err := a.ops.WriteFiles(specs, func() (ops.FilePart, error) {
		part, err := mr.NextPart()
		if err != nil {
			return ops.FilePart{}, err
		}
		if name := formName(part); name != "files" {
			return ops.FilePart{}, fmt.Errorf("field name must be \"files\", got %q", name)
		}
		path := fileName(part)
		a.securityAdmin(user, "push_file", fmt.Sprintf("Writing file %q", path))
		return ops.FilePart{Path: path, Content: part}, nil
	})
	if err != nil {
		return errorResponse(err)
	}
	return syncResponse(fileResultsToJSON(results))
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
