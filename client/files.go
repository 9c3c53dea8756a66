package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"time"
)

// ListFilesOptions select what ListFiles lists.
type ListFilesOptions struct {
	// Path is the absolute path of a directory or file; required.
	Path string
	// Pattern, if set, keeps the entries whose name matches this glob.
	Pattern string
	// Itself lists a directory itself rather than its entries.
	Itself bool
}

// FileInfo describes one file on the daemon's side. It implements
// fs.FileInfo.
type FileInfo struct {
	path         string
	name         string
	typ          string
	mode         fs.FileMode
	size         int64
	lastModified time.Time
	userID       *int
	groupID      *int
	user         string
	group        string
}

// Path returns the full path of the file.
func (fi *FileInfo) Path() string { return fi.path }

// Name returns the base name of the file.
func (fi *FileInfo) Name() string { return fi.name }

// Type returns the file's type as the daemon names it: "file",
// "directory", "symlink", "socket", "named-pipe", "device" or "unknown".
func (fi *FileInfo) Type() string { return fi.typ }

// Size returns the length in bytes of a regular file, 0 for others.
func (fi *FileInfo) Size() int64 { return fi.size }

// Mode returns the file's type and permission bits.
func (fi *FileInfo) Mode() fs.FileMode { return fi.mode }

// ModTime returns the last modification time, to the second.
func (fi *FileInfo) ModTime() time.Time { return fi.lastModified }

// IsDir reports whether the file is a directory.
func (fi *FileInfo) IsDir() bool { return fi.mode.IsDir() }

// Sys returns nil.
func (fi *FileInfo) Sys() any { return nil }

// UserID returns the owner's UID, or nil if the daemon did not say.
func (fi *FileInfo) UserID() *int { return fi.userID }

// GroupID returns the owning group's GID, or nil if the daemon did not say.
func (fi *FileInfo) GroupID() *int { return fi.groupID }

// User returns the owner's name, "" if unknown.
func (fi *FileInfo) User() string { return fi.user }

// Group returns the owning group's name, "" if unknown.
func (fi *FileInfo) Group() string { return fi.group }

// fileInfoJSON is a list entry as the daemon sends it (api.md §17.1).
type fileInfoJSON struct {
	Path         string `json:"path"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Size         *int64 `json:"size"`
	Permissions  string `json:"permissions"`
	LastModified string `json:"last-modified"`
	UserID       *int   `json:"user-id"`
	GroupID      *int   `json:"group-id"`
	User         string `json:"user"`
	Group        string `json:"group"`
}

func (j *fileInfoJSON) info() (*FileInfo, error) {
	perm, err := parsePerm(j.Permissions)
	if err != nil {
		return nil, fmt.Errorf("cannot parse permissions of %q: %w", j.Path, err)
	}
	mode, typ := perm, j.Type
	switch typ {
	case "file":
	case "directory":
		mode |= fs.ModeDir
	case "symlink":
		mode |= fs.ModeSymlink
	case "socket":
		mode |= fs.ModeSocket
	case "named-pipe":
		mode |= fs.ModeNamedPipe
	case "device":
		mode |= fs.ModeDevice
	default:
		mode |= fs.ModeIrregular
		typ = "unknown"
	}
	fi := &FileInfo{
		path: j.Path, name: j.Name, typ: typ, mode: mode, userID: j.UserID, groupID: j.GroupID,
		user: j.User, group: j.Group,
	}
	if j.Size != nil {
		fi.size = *j.Size
	}
	if j.LastModified != "" {
		if fi.lastModified, err = time.Parse(time.RFC3339, j.LastModified); err != nil {
			return nil, fmt.Errorf("cannot parse modification time of %q: %w", j.Path, err)
		}
	}
	return fi, nil
}

func parsePerm(s string) (fs.FileMode, error) {
	var n uint32
	if _, err := fmt.Sscanf(s, "%o", &n); err != nil {
		return 0, err
	}
	return fs.FileMode(n) & fs.ModePerm, nil
}

// formatPerm formats permissions as the daemon expects them ("644"); zero
// means the daemon's default.
func formatPerm(mode fs.FileMode) string {
	if mode == 0 {
		return ""
	}
	return fmt.Sprintf("%03o", mode.Perm())
}

// ListFiles lists a directory's entries, or a single file.
func (c *Client) ListFiles(ctx context.Context, opts *ListFilesOptions) ([]*FileInfo, error) {
	if opts == nil {
		opts = &ListFilesOptions{}
	}
	q := url.Values{"action": {"list"}, "path": {opts.Path}}
	if opts.Pattern != "" {
		q.Set("pattern", opts.Pattern)
	}
	if opts.Itself {
		q.Set("itself", "true")
	}
	rsp, err := c.do(ctx, &request{method: http.MethodGet, path: "/v1/files", query: q})
	if err != nil {
		return nil, err
	}
	var entries []fileInfoJSON
	if err := rsp.decode(&entries); err != nil {
		return nil, err
	}
	out := make([]*FileInfo, 0, len(entries))
	for i := range entries {
		fi, err := entries[i].info()
		if err != nil {
			return nil, err
		}
		out = append(out, fi)
	}
	return out, nil
}

// fileResult is the daemon's per-path result (api.md §17).
type fileResult struct {
	Path  string `json:"path"`
	Error *Error `json:"error"`
}

// decodeOneResult decodes the per-path results of a request on one path
// and returns the error of the only result, if any.
func decodeOneResult(rsp *response) error {
	var results []fileResult
	if err := rsp.decode(&results); err != nil {
		return err
	}
	if len(results) != 1 {
		return fmt.Errorf("expected exactly one result from API, got %d", len(results))
	}
	if results[0].Error != nil {
		return results[0].Error
	}
	return nil
}

// ownerJSON are the permission and owner fields of a make-dirs or write
// request.
type ownerJSON struct {
	Permissions string `json:"permissions,omitempty"`
	UserID      *int   `json:"user-id,omitempty"`
	User        string `json:"user,omitempty"`
	GroupID     *int   `json:"group-id,omitempty"`
	Group       string `json:"group,omitempty"`
}

func newOwnerJSON(perm fs.FileMode, userID *int, user string, groupID *int, group string) ownerJSON {
	return ownerJSON{
		Permissions: formatPerm(perm),
		UserID:      userID, User: user, GroupID: groupID, Group: group,
	}
}

// MakeDirOptions describe a directory to make.
type MakeDirOptions struct {
	// Path is the absolute path of the directory; required.
	Path string
	// MakeParents makes missing parents too; an existing directory is then
	// not an error.
	MakeParents bool
	// Permissions are the permission bits; 0 means 0755.
	Permissions fs.FileMode
	// UserID, User, GroupID and Group name the owner; unset means the
	// daemon's user.
	UserID  *int
	User    string
	GroupID *int
	Group   string
}

// MakeDir makes a directory.
func (c *Client) MakeDir(ctx context.Context, opts *MakeDirOptions) error {
	type dir struct {
		Path        string `json:"path"`
		MakeParents bool   `json:"make-parents,omitempty"`
		ownerJSON
	}
	body := struct {
		Action string `json:"action"`
		Dirs   []dir  `json:"dirs"`
	}{"make-dirs", []dir{{
		Path: opts.Path, MakeParents: opts.MakeParents,
		ownerJSON: newOwnerJSON(opts.Permissions, opts.UserID, opts.User, opts.GroupID, opts.Group),
	}}}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/files", body: body})
	if err != nil {
		return err
	}
	return decodeOneResult(rsp)
}

// RemovePathOptions describe a path to remove.
type RemovePathOptions struct {
	// Path is the absolute path to remove; required.
	Path string
	// Recursive removes a directory and everything in it; a missing path
	// is then not an error.
	Recursive bool
}

// RemovePath removes a file or directory.
func (c *Client) RemovePath(ctx context.Context, opts *RemovePathOptions) error {
	type path struct {
		Path      string `json:"path"`
		Recursive bool   `json:"recursive,omitempty"`
	}
	body := struct {
		Action string `json:"action"`
		Paths  []path `json:"paths"`
	}{"remove", []path{{opts.Path, opts.Recursive}}}
	rsp, err := c.do(ctx, &request{method: http.MethodPost, path: "/v1/files", body: body})
	if err != nil {
		return err
	}
	return decodeOneResult(rsp)
}

// PushOptions describe a file to write on the daemon's side.
type PushOptions struct {
	// Source is the content; required. It is streamed, not buffered.
	Source io.Reader
	// Path is the absolute path to write; required.
	Path string
	// MakeDirs makes missing parent directories.
	MakeDirs bool
	// Permissions are the file's permission bits; 0 means 0644.
	Permissions fs.FileMode
	// UserID, User, GroupID and Group name the owner; unset means the
	// daemon's user.
	UserID  *int
	User    string
	GroupID *int
	Group   string
}

// Push writes a file atomically: the daemon replaces the file only once
// the whole content has arrived.
func (c *Client) Push(ctx context.Context, opts *PushOptions) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writePush(mw, opts))
	}()
	header := http.Header{"Content-Type": {mw.FormDataContentType()}}
	httpRsp, err := c.raw(ctx, http.MethodPost, "/v1/files", nil, header, pr)
	pr.CloseWithError(errors.New("request finished"))
	if err != nil {
		return err
	}
	rsp, err := c.decodeRaw(httpRsp)
	if err != nil {
		return err
	}
	return decodeOneResult(rsp)
}

func writePush(mw *multipart.Writer, opts *PushOptions) error {
	h := make(textproto.MIMEHeader)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `form-data; name="request"`)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	type file struct {
		Path     string `json:"path"`
		MakeDirs bool   `json:"make-dirs,omitempty"`
		ownerJSON
	}
	meta := struct {
		Action string `json:"action"`
		Files  []file `json:"files"`
	}{"write", []file{{
		Path: opts.Path, MakeDirs: opts.MakeDirs,
		ownerJSON: newOwnerJSON(opts.Permissions, opts.UserID, opts.User, opts.GroupID, opts.Group),
	}}}
	if err := json.NewEncoder(part).Encode(meta); err != nil {
		return err
	}
	part, err = mw.CreateFormFile("files", opts.Path)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(part, readerOnly{opts.Source}, make([]byte, 256*1024)); err != nil {
		return err
	}
	return mw.Close()
}

// readerOnly hides WriteTo, so io.CopyBuffer uses its (large) buffer.
type readerOnly struct{ io.Reader }

// PullOptions describe a file to read from the daemon's side.
type PullOptions struct {
	// Path is the absolute path of the file; required.
	Path string
	// Target receives the content as it arrives; required.
	Target io.Writer
}

// Pull reads a file. If it fails midway, Target may have received part of
// the content.
func (c *Client) Pull(ctx context.Context, opts *PullOptions) error {
	q := url.Values{"action": {"read"}, "path": {opts.Path}}
	header := http.Header{"Accept": {"multipart/form-data"}}
	httpRsp, err := c.raw(ctx, http.MethodGet, "/v1/files", q, header, nil)
	if err != nil {
		return err
	}
	defer httpRsp.Body.Close()
	mediaType, params, err := mime.ParseMediaType(httpRsp.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		// An error envelope, such as a refused access.
		_, err := c.decodeRaw(httpRsp)
		if err == nil {
			err = fmt.Errorf("expected a multipart response, got %q", httpRsp.Header.Get("Content-Type"))
		}
		return err
	}
	// A large buffer: multipart's own is 4 KiB, which costs a read per
	// 4 KiB of content.
	mr := multipart.NewReader(bufio.NewReaderSize(httpRsp.Body, 1<<20), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return fmt.Errorf("cannot read response: %w", err)
		}
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		switch params["name"] {
		case "files":
			if params["filename"] != opts.Path {
				return fmt.Errorf("unexpected file %q in response", params["filename"])
			}
			if _, err := io.CopyBuffer(opts.Target, readerOnly{part}, make([]byte, 256*1024)); err != nil {
				return fmt.Errorf("cannot write pulled file: %w", err)
			}
		case "response":
			rsp, err := c.decodeEnvelope(part)
			if err != nil {
				return err
			}
			return decodeOneResult(rsp)
		default:
			return fmt.Errorf("unexpected part %q in response", params["name"])
		}
	}
}

// raw sends a request with a streamed body and returns the response as it
// is; the caller closes its body.
func (c *Client) raw(ctx context.Context, method, urlPath string, query url.Values, header http.Header, body io.Reader) (*http.Response, error) {
	u := c.baseURL
	u.Path = path.Join(c.baseURL.Path, urlPath)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, RequestError{Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.basicUsername != "" && c.basicPassword != "" {
		req.SetBasicAuth(c.basicUsername, c.basicPassword)
	}
	rsp, err := c.http.Do(req)
	if err != nil {
		return nil, ConnectionError{Err: err}
	}
	return rsp, nil
}

// decodeRaw reads a response's JSON envelope and closes its body.
func (c *Client) decodeRaw(httpRsp *http.Response) (*response, error) {
	defer httpRsp.Body.Close()
	return c.decodeEnvelope(httpRsp.Body)
}

// decodeEnvelope reads a sync or error envelope.
func (c *Client) decodeEnvelope(r io.Reader) (*response, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, ConnectionError{Err: err}
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("cannot decode %q: %w", data, err)
	}
	if env.Type == "error" {
		var e Error
		if err := json.Unmarshal(env.Result, &e); err != nil || e.Message == "" {
			return nil, fmt.Errorf("server error: %q", env.Status)
		}
		e.StatusCode = env.StatusCode
		return nil, &e
	}
	if env.Type != "sync" {
		return nil, fmt.Errorf("expected sync response, got %q", env.Type)
	}
	return &response{result: env.Result}, nil
}

var _ fs.FileInfo = (*FileInfo)(nil)
