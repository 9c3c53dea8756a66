package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/pebble-project/pebble/internal/files"
)

// fuzzBodies are valid bodies of the POST endpoints, by path: the seeds of
// FuzzRequestBodies.
var fuzzBodies = map[string][]string{
	"/v1/services":       {`{"action":"start","services":["a"]}`, `{"action":"replan","services":[]}`},
	"/v1/layers":         {`{"action":"add","label":"x","format":"yaml","layer":"services:\n  a:\n    override: replace\n    command: x\n"}`, `{"action":"add","combine":true,"inner":true,"label":"a/b","format":"yaml","layer":""}`},
	"/v1/changes/{id}":   {`{"action":"abort"}`},
	"/v1/signals":        {`{"signal":"SIGHUP","services":["a"]}`},
	"/v1/notices":        {`{"action":"add","type":"custom","key":"a.com/x","repeat-after":"1h","data":{"k":"v"}}`},
	"/v1/identities":     {`{"action":"add","identities":{"bob":{"access":"read","local":{"user-id":42}}}}`, `{"action":"remove","identities":{"bob":null}}`},
	"/v1/checks":         {`{"action":"start","checks":["c"]}`},
	"/v1/checks/refresh": {`{"name":"c"}`},
	"/v1/exec":           {`{"command":["echo","hi"],"environment":{"A":"b"},"timeout":"1s","terminal":true,"width":80,"height":24}`},
	"/v1/files":          {`{"action":"make-dirs","dirs":[{"path":"/tmp/x","make-parents":true,"permissions":"755"}]}`, `{"action":"remove","paths":[{"path":"/tmp/x","recursive":true}]}`},
}

// noFiles refuses every file operation: fuzzed paths must not reach the
// machine's files.
type noFiles struct{}

var errNoFiles = errors.New("cannot touch files while fuzzing")

func (noFiles) List(string, string, bool) ([]files.Info, error) { return nil, errNoFiles }
func (noFiles) Open(string) (*os.File, error)                   { return nil, errNoFiles }
func (noFiles) Write(files.WriteSpec, io.Reader) error          { return errNoFiles }
func (noFiles) MakeDir(files.DirSpec) error                     { return errNoFiles }
func (noFiles) Remove(string, bool) error                       { return errNoFiles }

// FuzzRequestBodies sends arbitrary bodies to every POST endpoint's
// handler, with the daemon's body limit, and checks that none panics and
// every answer is a well-formed response. The handlers talk to fakeOps,
// real changes, notices, identities and checks managers (without checks)
// and a file system that refuses everything:
// what is fuzzed is the decoding and checking of requests.
func FuzzRequestBodies(f *testing.F) {
	var posts []endpoint
	for _, e := range endpoints {
		if e.post != nil {
			posts = append(posts, e)
		}
	}
	for i, e := range posts {
		for _, body := range fuzzBodies[e.path] {
			f.Add(uint8(i), []byte(body))
		}
	}
	o := &fakeOps{}
	b := o.backend()
	a := &api{
		ops: o, services: o, changes: b.changes, plan: emptyPlan{}, notices: b.notices, identities: b.identities, checks: b.checks, files: noFiles{},
		logf: func(string, ...any) {}, logLine: func([]byte) {}, bodyLimit: DefaultBodyLimit,
		securityEvent: func(string, string, string) {}, stopping: context.Background(),
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		e := posts[int(which)%len(posts)]
		path := strings.ReplaceAll(e.path, "{id}", "1")
		r := httptest.NewRequest("POST", "http://localhost"+path, bytes.NewReader(body))
		if strings.HasPrefix(string(body), "--") {
			r.Header.Set("Content-Type", "multipart/form-data; boundary="+strings.TrimSpace(strings.SplitN(string(body), "\n", 2)[0][2:]))
		}
		r.SetPathValue("id", "1")
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, a.bodyLimit)
		e.post.handle(a, r, connectionCaller(r)).write(w, r)
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("POST %s answered status %d", path, w.Code)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("POST %s answered Content-Type %q: %s", path, ct, w.Body)
		}
	})
}
