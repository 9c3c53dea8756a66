package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/client"
)

// writeRandomFile writes size pseudo-random bytes to path and returns their
// SHA-256.
func writeRandomFile(t testing.TB, path string, size int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	src := io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), size)
	_, err = io.Copy(io.MultiWriter(f, h), src)
	require.NoError(t, err)
	return [32]byte(h.Sum(nil))
}

func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return [32]byte(h.Sum(nil))
}

// TestPushPullLargeFile pushes and pulls a 100 MiB file through the CLI
// and checks it arrives intact, with its mode, and that the daemon does not
// hold the file in memory.
func TestPushPullLargeFile(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	work := t.TempDir()
	local := filepath.Join(work, "big")
	const size = 100 << 20
	sum := writeRandomFile(t, local, size)
	before := vmHWM(t, d.daemonPID())

	remote := filepath.Join(work, "remote", "sub", "big")
	d.mustPebble("push", "-p", "-m", "640", local, remote)
	st, err := os.Stat(remote)
	require.NoError(t, err)
	assert.Equal(t, int64(size), st.Size())
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	assert.Equal(t, sum, fileSum(t, remote))
	parent, err := os.Stat(filepath.Dir(remote))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), parent.Mode().Perm(), "parents made by -p")

	pulled := filepath.Join(work, "pulled")
	d.mustPebble("pull", remote, pulled)
	assert.Equal(t, sum, fileSum(t, pulled))

	// Streaming keeps the daemon's peak memory far below the file size
	// (the figure includes the race detector's overhead when enabled).
	grew := vmHWM(t, d.daemonPID()) - before
	assert.Less(t, grew, int64(size/2), "daemon peak RSS grew by %d bytes", grew)

	// A failed pull leaves no local file behind.
	res := d.pebble("pull", filepath.Join(work, "nope"), filepath.Join(work, "nope-local"))
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: open "+filepath.Join(work, "nope")+": no such file or directory", words(res.stderr))
	assert.NoFileExists(t, filepath.Join(work, "nope-local"))

	// Without -m the local mode bits are used.
	require.NoError(t, os.Chmod(local, 0o604))
	d.mustPebble("push", local, remote)
	st, err = os.Stat(remote)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o604), st.Mode().Perm())
	d.stop()
}

// vmHWM returns a process's peak resident set size in bytes.
func vmHWM(t testing.TB, pid int) int64 {
	t.Helper()
	var kb int64
	_, err := fmt.Sscanf(procStatusField(pid, "VmHWM"), "%d kB", &kb)
	require.NoError(t, err)
	return kb << 10
}

// TestPushFailureLeavesTargetIntact: a write whose content stops midway
// (the client died) does not touch the target and leaves no temporary file.
func TestPushFailureLeavesTargetIntact(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	work := t.TempDir()
	target := filepath.Join(work, "target")
	writeFile(t, target, "original\n")

	// The body ends in the middle of the file part.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="request"`)
	h.Set("Content-Type", "application/json")
	part, _ := mw.CreatePart(h)
	fmt.Fprintf(part, `{"action":"write","files":[{"path":%q}]}`, target)
	part, _ = mw.CreateFormFile("files", target)
	part.Write(bytes.Repeat([]byte("x"), 1<<20))
	req, err := http.NewRequest("POST", "http://localhost/v1/files", bytes.NewReader(body.Bytes()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rsp, err := d.http.Do(req)
	require.NoError(t, err)
	var env envelope
	require.NoError(t, json.NewDecoder(rsp.Body).Decode(&env))
	rsp.Body.Close()
	assert.Equal(t, 200, rsp.StatusCode)
	assert.JSONEq(t, `[{"path":"`+target+`","error":{"message":"cannot write file \"`+target+`\": unexpected EOF","kind":"generic-file-error"}}]`, string(env.Result))

	content, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "original\n", string(content))
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	require.Len(t, entries, 1, "temporary file left behind")
	d.stop()
}

// TestFilesOwnershipAndPermissions: push and mkdir apply the given mode
// exactly (whatever the umask) and the given owner; ls shows both.
func TestFilesOwnershipAndPermissions(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()
	work := t.TempDir()
	local := filepath.Join(work, "local")
	writeFile(t, local, "data\n")

	f1 := filepath.Join(work, "f1")
	d.mustPebble("push", "--uid", "65534", "--gid", "65534", "-m", "600", local, f1)
	requireOwnerMode(t, f1, 65534, 65534, 0o600)

	f2 := filepath.Join(work, "f2")
	d.mustPebble("push", "--user", "nobody", "-m", "777", local, f2)
	requireOwnerMode(t, f2, 65534, nobodyGID(t), 0o777)

	// Through the client, with no mode: 644 (the umask does not apply).
	f3 := filepath.Join(work, "f3")
	require.NoError(t, c.Push(ctx, &client.PushOptions{Source: strings.NewReader("x"), Path: f3}))
	requireOwnerMode(t, f3, 0, 0, 0o644)

	top := filepath.Join(work, "a")
	deep := filepath.Join(top, "b", "c")
	d.mustPebble("mkdir", "-p", "-m", "750", "--uid", "65534", "--gid", "65534", deep)
	requireOwnerMode(t, top, 65534, 65534, 0o750)
	requireOwnerMode(t, deep, 65534, 65534, 0o750)
	d.mustPebble("mkdir", "-p", deep) // existing is fine with -p
	res := d.pebble("mkdir", deep)
	assert.Equal(t, "error: mkdir "+deep+": file exists", words(res.stderr))

	// (API errors are wrapped to the terminal width: compare the words.)
	res = d.pebble("push", "--user", "root", "--uid", "65534", local, filepath.Join(work, "bad"))
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot look up user and group: user \"root\" UID (0) does not match user-id (65534)", words(res.stderr))
	res = d.pebble("push", "--group", "root", local, filepath.Join(work, "bad"))
	assert.Equal(t, "error: cannot look up user and group: must specify user, not just group", words(res.stderr))
	res = d.pebble("push", "-m", "8", local, filepath.Join(work, "bad"))
	assert.Equal(t, "error: invalid mode for directory: \"8\"\n", res.stderr)
	assert.NoFileExists(t, filepath.Join(work, "bad"))

	out := d.mustPebble("ls", "-l", "--abs-time", work)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	assert.Regexp(t, `^drwxr-x---  nobody  \S+\s+-\s+\S+\s+a$`, lines[0])
	assert.Regexp(t, `^-rw-------  nobody  \S+\s+5B\s+\S+\s+f1$`, lines[1])
	assert.Regexp(t, `^-rw-r--r--  root\s+root\s+1B\s+\S+\s+f3$`, lines[3])
	d.stop()
}

// words is s with its white space runs collapsed to single spaces.
func words(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func requireOwnerMode(t *testing.T, path string, uid, gid int, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	sys := st.Sys().(*syscall.Stat_t)
	assert.Equal(t, uid, int(sys.Uid), "owner of %s", path)
	assert.Equal(t, gid, int(sys.Gid), "group of %s", path)
	assert.Equal(t, mode, st.Mode().Perm(), "mode of %s", path)
}

// nobodyGID is the primary group of the user "nobody".
func nobodyGID(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/etc/passwd")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 3 && f[0] == "nobody" {
			var gid int
			fmt.Sscan(f[3], &gid)
			return gid
		}
	}
	t.Skip("no user nobody")
	return 0
}

// TestFilesAPI checks listing and the files API's results and errors
// (api.md §17).
func TestFilesAPI(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "file.txt"), "12345")
	require.NoError(t, os.Mkdir(filepath.Join(work, "dir"), 0o700))
	require.NoError(t, os.Symlink("file.txt", filepath.Join(work, "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(work, "fifo"), 0o600))
	writeFile(t, filepath.Join(work, "dir", "inner"), "")

	type entry struct {
		Path         string `json:"path"`
		Name         string `json:"name"`
		Type         string `json:"type"`
		Size         *int64 `json:"size"`
		Permissions  string `json:"permissions"`
		LastModified string `json:"last-modified"`
		UserID       *int   `json:"user-id"`
		User         *string
		GroupID      *int `json:"group-id"`
	}
	var list []entry
	d.sync("GET", "/v1/files?action=list&path="+work, nil, &list)
	require.Len(t, list, 4)
	types := map[string]string{}
	for _, e := range list {
		types[e.Name] = e.Type
		assert.Equal(t, filepath.Join(work, e.Name), e.Path)
		assert.NotNil(t, e.UserID)
		assert.NotNil(t, e.GroupID)
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`, e.LastModified)
		if e.Type == "file" {
			require.NotNil(t, e.Size)
			assert.Equal(t, int64(5), *e.Size)
		} else {
			assert.Nil(t, e.Size, e.Name)
		}
	}
	assert.Equal(t, map[string]string{"dir": "directory", "fifo": "named-pipe", "file.txt": "file", "link": "symlink"}, types)

	d.sync("GET", "/v1/files?action=list&path="+work+"&pattern=f*", nil, &list)
	require.Len(t, list, 2)
	d.sync("GET", "/v1/files?action=list&path="+work+"/dir&itself=true", nil, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "700", list[0].Permissions)
	assert.Equal(t, "directory", list[0].Type)
	// The path itself is resolved through symlinks.
	d.sync("GET", "/v1/files?action=list&path="+work+"/link", nil, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "file", list[0].Type)
	d.sync("GET", "/v1/files?action=list&path="+work+"/dir/inner&pattern=nomatch", nil, &list)
	assert.Empty(t, list)

	for _, tt := range []struct {
		query  string
		status int
		kind   string
		msg    string
	}{
		{"action=list", 400, "", "must specify path"},
		{"action=list&path=rel", 400, "", `path must be absolute, got "rel"`},
		{"action=list&path=/&itself=yes", 400, "", `itself parameter must be "true" or "false"`},
		{"action=list&path=" + work + "/missing", 404, "not-found", "stat " + work + "/missing: no such file or directory"},
		{"action=read&path=/etc/hostname", 400, "", "must accept multipart/form-data"},
		{"action=bogus", 400, "", `invalid action "bogus"`},
	} {
		status, env := d.request("GET", "/v1/files?"+tt.query, nil)
		assert.Equal(t, tt.status, status, tt.query)
		assert.Equal(t, tt.msg, apiErrorOf(env).Message, tt.query)
		assert.Equal(t, tt.kind, apiErrorOf(env).Kind, tt.query)
	}

	// A read of several paths: the files, then the per-path results.
	req, err := http.NewRequest("GET", "http://localhost/v1/files?action=read&path="+work+"/file.txt&path="+work+"/dir&path="+work+"/missing&path=rel", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "multipart/form-data")
	rsp, err := d.http.Do(req)
	require.NoError(t, err)
	defer rsp.Body.Close()
	assert.Equal(t, 200, rsp.StatusCode)
	mediaType, params, err := mime.ParseMediaType(rsp.Header.Get("Content-Type"))
	require.NoError(t, err)
	assert.Equal(t, "multipart/form-data", mediaType)
	mr := multipart.NewReader(rsp.Body, params["boundary"])
	part, err := mr.NextPart()
	require.NoError(t, err)
	_, disp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	assert.Equal(t, map[string]string{"name": "files", "filename": work + "/file.txt"}, disp)
	assert.Equal(t, "application/octet-stream", part.Header.Get("Content-Type"))
	content, _ := io.ReadAll(part)
	assert.Equal(t, "12345", string(content))
	part, err = mr.NextPart()
	require.NoError(t, err)
	assert.Equal(t, `form-data; name="response"`, part.Header.Get("Content-Disposition"))
	var env envelope
	require.NoError(t, json.NewDecoder(part).Decode(&env))
	assert.Equal(t, "sync", env.Type)
	assert.JSONEq(t, `[{"path":"`+work+`/file.txt"},
		{"path":"`+work+`/dir","error":{"message":"can only read a regular file: \"`+work+`/dir\"","kind":"generic-file-error"}},
		{"path":"`+work+`/missing","error":{"message":"open `+work+`/missing: no such file or directory","kind":"not-found"}},
		{"path":"rel","error":{"message":"paths must be absolute, got \"rel\"","kind":"generic-file-error"}}]`, string(env.Result))
	_, err = mr.NextPart()
	assert.Equal(t, io.EOF, err)

	// make-dirs and remove, with per-path results.
	var results json.RawMessage
	postJSON := func(body string, result any) {
		t.Helper()
		req, err := http.NewRequest("POST", "http://localhost/v1/files", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		rsp, err := d.http.Do(req)
		require.NoError(t, err)
		defer rsp.Body.Close()
		var env envelope
		require.NoError(t, json.NewDecoder(rsp.Body).Decode(&env))
		require.Equal(t, 200, rsp.StatusCode, "%s", env.Result)
		require.NoError(t, json.Unmarshal(env.Result, result))
	}
	postJSON(`{"action":"make-dirs","dirs":[
		{"path":"`+work+`/new"},{"path":"`+work+`/x/y"},{"path":"`+work+`/file.txt/z","make-parents":true},
		{"path":"`+work+`/p","permissions":"75"}]}`, &results)
	assert.JSONEq(t, `[{"path":"`+work+`/new"},
		{"path":"`+work+`/x/y","error":{"message":"mkdir `+work+`/x/y: no such file or directory","kind":"not-found"}},
		{"path":"`+work+`/file.txt/z","error":{"message":"mkdir `+work+`/file.txt: not a directory","kind":"generic-file-error"}},
		{"path":"`+work+`/p","error":{"message":"permissions must be a 3-digit octal string, got \"75\"","kind":"generic-file-error"}}]`, string(results))
	st, err := os.Stat(work + "/new")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())

	postJSON(`{"action":"remove","paths":[
		{"path":"`+work+`/dir"},{"path":"`+work+`/missing","recursive":true},{"path":"`+work+`/missing"}]}`, &results)
	assert.JSONEq(t, `[{"path":"`+work+`/dir","error":{"message":"remove `+work+`/dir: directory not empty","kind":"generic-file-error"}},
		{"path":"`+work+`/missing"},
		{"path":"`+work+`/missing","error":{"message":"remove `+work+`/missing: no such file or directory","kind":"not-found"}}]`, string(results))
	postJSON(`{"action":"remove","paths":[{"path":"`+work+`/dir","recursive":true}]}`, &results)
	assert.NoDirExists(t, work+"/dir")

	// Request-level errors.
	post := func(contentType, body string) (int, apiError) {
		req, err := http.NewRequest("POST", "http://localhost/v1/files", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		rsp, err := d.http.Do(req)
		require.NoError(t, err)
		defer rsp.Body.Close()
		var env envelope
		require.NoError(t, json.NewDecoder(rsp.Body).Decode(&env))
		return rsp.StatusCode, apiErrorOf(env)
	}
	boundary := strings.Repeat("b", 32)
	mp := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString("--" + boundary + "\r\n" + p + "\r\n")
		}
		b.WriteString("--" + boundary + "--\r\n")
		return b.String()
	}
	meta := func(files string) string {
		return "Content-Disposition: form-data; name=\"request\"\r\n\r\n" + `{"action":"write","files":[` + files + `]}`
	}
	filePart := func(path, content string) string {
		return "Content-Disposition: form-data; name=\"files\"; filename=\"" + path + "\"\r\n\r\n" + content
	}
	for _, tt := range []struct {
		contentType, body string
		msg               string
	}{
		{"application/json", `{"action":"write"}`, `must use multipart with "write" action`},
		{"application/json", `{"action":"chmod"}`, `invalid action "chmod"`},
		{"text/plain", ``, `invalid media type "text/plain"`},
		{"", ``, `invalid Content-Type ""`},
		{"multipart/form-data; boundary=short", mp(), `invalid boundary "short"`},
		{"multipart/form-data; boundary=" + boundary, mp("Content-Disposition: form-data; name=\"meta\"\r\n\r\n{}"), `metadata field name must be "request", got "meta"`},
		{"multipart/form-data; boundary=" + boundary, mp("Content-Disposition: form-data; name=\"request\"\r\n\r\n" + `{"action":"read"}`), `multipart action must be "write", got "read"`},
		{"multipart/form-data; boundary=" + boundary, mp(meta("")), `must specify one or more files`},
		{"multipart/form-data; boundary=" + boundary, mp(meta(`{"path":"/tmp/a"}`), filePart("/tmp/b", "x")), `no metadata for path "/tmp/b"`},
		{"multipart/form-data; boundary=" + boundary, mp(meta(`{"path":"/tmp/a"}`), "Content-Disposition: form-data; name=\"other\"\r\n\r\nx"), `field name must be "files", got "other"`},
	} {
		status, apiErr := post(tt.contentType, tt.body)
		assert.Equal(t, 400, status, tt.msg)
		assert.Equal(t, tt.msg, apiErr.Message)
	}

	// Per-file results of a write, in metadata order.
	quoted := work + `/we"ird`
	req, err = http.NewRequest("POST", "http://localhost/v1/files", strings.NewReader(mp(
		meta(`{"path":"`+work+`/w1","permissions":"600"},{"path":"`+work+`/w2"},{"path":"`+work+`/no/w3"},{"path":"`+strings.ReplaceAll(quoted, `"`, `\"`)+`"}`),
		filePart(work+"/w1", "one"),
		filePart(work+"/no/w3", "three"),
		filePart(strings.ReplaceAll(quoted, `"`, `\"`), "four"),
	)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	rsp2, err := d.http.Do(req)
	require.NoError(t, err)
	defer rsp2.Body.Close()
	require.NoError(t, json.NewDecoder(rsp2.Body).Decode(&env))
	assert.Equal(t, 200, rsp2.StatusCode)
	assert.JSONEq(t, `[{"path":"`+work+`/w1"},
		{"path":"`+work+`/w2","error":{"message":"no file content for path \"`+work+`/w2\"","kind":"generic-file-error"}},
		{"path":"`+work+`/no/w3","error":{"message":"open `+work+`/no/.w3.pebble-*: no such file or directory","kind":"not-found"}},
		{"path":`+jsonString(quoted)+`}]`, strings.Replace(string(env.Result), temporaryName(string(env.Result)), ".w3.pebble-*", 1))
	data, err := os.ReadFile(quoted)
	require.NoError(t, err)
	assert.Equal(t, "four", string(data))
	d.stop()
}

// temporaryName finds the temporary file name in an error message.
func temporaryName(s string) string {
	i := strings.Index(s, ".w3.pebble-")
	if i < 0 {
		return "\x00"
	}
	j := strings.IndexByte(s[i:], ':')
	return s[i : i+j]
}

func jsonString(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// TestFilesClient exercises the Go client's file methods against the
// daemon.
func TestFilesClient(t *testing.T) {
	d := startDaemon(t, newPebbleDir(t, nil), daemonOptions{})
	c := d.client()
	ctx := t.Context()
	work := t.TempDir()

	require.NoError(t, c.MakeDir(ctx, &client.MakeDirOptions{Path: work + "/d/e", MakeParents: true, Permissions: 0o700}))
	require.NoError(t, c.Push(ctx, &client.PushOptions{Source: strings.NewReader("hello"), Path: work + "/d/e/f", Permissions: 0o600}))
	infos, err := c.ListFiles(ctx, &client.ListFilesOptions{Path: work + "/d/e"})
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, "f", infos[0].Name())
	assert.Equal(t, work+"/d/e/f", infos[0].Path())
	assert.Equal(t, int64(5), infos[0].Size())
	assert.Equal(t, os.FileMode(0o600), infos[0].Mode())
	var buf bytes.Buffer
	require.NoError(t, c.Pull(ctx, &client.PullOptions{Path: work + "/d/e/f", Target: &buf}))
	assert.Equal(t, "hello", buf.String())

	err = c.Pull(ctx, &client.PullOptions{Path: work + "/nope", Target: &buf})
	var apiErr *client.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, client.ErrorKindNotFound, apiErr.Kind)

	err = c.RemovePath(ctx, &client.RemovePathOptions{Path: work + "/d"})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "remove "+work+"/d: directory not empty", apiErr.Message)
	require.NoError(t, c.RemovePath(ctx, &client.RemovePathOptions{Path: work + "/d", Recursive: true}))
	_, err = c.ListFiles(ctx, &client.ListFilesOptions{Path: work + "/d"})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)

	// The CLI's ls: names, globs, json.
	d.mustPebble("mkdir", work+"/g")
	for _, n := range []string{"a.txt", "b.txt", "c.log"} {
		writeFile(t, work+"/g/"+n, n)
	}
	assert.Equal(t, "a.txt\nb.txt\nc.log\n", d.mustPebble("ls", work+"/g"))
	assert.Equal(t, "a.txt\nb.txt\n", d.mustPebble("ls", work+"/g/*.txt"))
	assert.Equal(t, "g\n", d.mustPebble("ls", "-d", work+"/g"))
	res := d.pebble("ls", work+"/*/x")
	assert.Equal(t, "error: can only use globs on the last path element\n", res.stderr)
	var out struct {
		Files []map[string]any `json:"files"`
	}
	require.NoError(t, json.Unmarshal([]byte(d.mustPebble("ls", "--format", "json", work+"/g/c.log")), &out))
	require.Len(t, out.Files, 1)
	assert.Equal(t, "c.log", out.Files[0]["name"])
	assert.Equal(t, float64(5), out.Files[0]["size"])
	d.mustPebble("rm", work+"/g/c.log")
	assert.NoFileExists(t, work+"/g/c.log")
	res = d.pebble("rm", work+"/g")
	assert.Equal(t, "error: remove "+work+"/g: directory not empty", words(res.stderr))
	d.mustPebble("rm", "-r", work+"/g")
	assert.NoDirExists(t, work+"/g")
	d.stop()
}
