package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/pebble-project/pebble/client"
)

// filesDaemon is a fake daemon for the exec and files examples. It serves
// the JSON of the spec's examples, streams a pulled file as multipart, and
// runs an exec whose output is "hello from the daemon" and whose exit code
// is 0, over real websockets.
func filesDaemon() (socket string, stop func()) {
	dir, err := os.MkdirTemp("", "pebble-client-")
	if err != nil {
		log.Fatal(err)
	}
	socket = filepath.Join(dir, ".pebble.socket")
	l, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	sync := func(result string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"type":"sync","status-code":200,"status":"OK","result":`+result+`}`)
		}
	}
	mux.HandleFunc("POST /v1/files", sync(`[{"path":"/etc/app.conf"}]`))
	mux.HandleFunc("GET /v1/files", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action") == "list" {
			sync(`[{"path":"/etc/app.conf","name":"app.conf","type":"file","size":12,"permissions":"644",`+
				`"last-modified":"2026-01-20T10:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"},`+
				`{"path":"/etc/app.d","name":"app.d","type":"directory","permissions":"755",`+
				`"last-modified":"2026-01-20T10:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}]`)(w, r)
			return
		}
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", mw.FormDataContentType())
		part, _ := mw.CreateFormFile("files", r.URL.Query().Get("path"))
		io.WriteString(part, "port: 8080\n")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="response"`)
		h.Set("Content-Type", "application/json")
		part, _ = mw.CreatePart(h)
		io.WriteString(part, `{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/etc/app.conf"}]}`)
		mw.Close()
	})
	mux.HandleFunc("POST /v1/exec", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"type":"async","status-code":202,"status":"Accepted","change":"4",`+
			`"result":{"task-id":"7","environment":{"PATH":"/usr/bin:/bin"},"working-dir":"/root"}}`)
	})
	upgrader := websocket.Upgrader{}
	mux.HandleFunc("GET /v1/tasks/7/websocket/{id}", func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if r.PathValue("id") == "stdio" {
			conn.WriteMessage(websocket.BinaryMessage, []byte("hello from the daemon\n"))
			conn.WriteMessage(websocket.TextMessage, []byte(`{"command":"end"}`))
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("GET /v1/changes/4/wait", sync(`{"id":"4","kind":"exec","summary":"Execute command \"echo\"",`+
		`"status":"Done","tasks":[{"id":"7","kind":"exec","summary":"Execute command \"echo\"","status":"Done",`+
		`"progress":{"label":"","done":1,"total":1},"spawn-time":"2026-01-20T10:04:39Z","data":{"exit-code":0}}],`+
		`"ready":true,"spawn-time":"2026-01-20T10:04:39Z"}`))
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = l
	srv.Start()
	return socket, func() {
		srv.Close()
		os.RemoveAll(dir)
	}
}

// Run a command on the daemon's side with local input and output, and wait
// for it to finish. A non-zero exit code is reported as a *client.ExitError.
func ExampleClient_Exec() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})
	ctx := context.Background()

	var stdout bytes.Buffer
	process, err := c.Exec(ctx, &client.ExecOptions{
		Command: []string{"echo", "hello from the daemon"},
		Stdout:  &stdout,
	})
	if err != nil {
		log.Fatal(err)
	}
	err = process.Wait(ctx)
	if exitErr, ok := err.(*client.ExitError); ok {
		fmt.Println("exit code", exitErr.ExitCode())
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Print(stdout.String())
	// Output: hello from the daemon
}

// Write a file on the daemon's side, making its directory if needed. The
// content is streamed; the file appears only once it is complete.
func ExampleClient_Push() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	err := c.Push(context.Background(), &client.PushOptions{
		Source:      strings.NewReader("port: 8080\n"),
		Path:        "/etc/app.conf",
		MakeDirs:    true,
		Permissions: 0o600,
	})
	fmt.Println(err)
	// Output: <nil>
}

// Read a file from the daemon's side into any io.Writer.
func ExampleClient_Pull() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	var content bytes.Buffer
	if err := c.Pull(context.Background(), &client.PullOptions{Path: "/etc/app.conf", Target: &content}); err != nil {
		log.Fatal(err)
	}
	fmt.Print(content.String())
	// Output: port: 8080
}

// List a directory; entries implement fs.FileInfo.
func ExampleClient_ListFiles() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	files, err := c.ListFiles(context.Background(), &client.ListFilesOptions{Path: "/etc", Pattern: "app*"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		fmt.Println(f.Mode(), f.Size(), f.User(), f.Name())
	}
	// Output:
	// -rw-r--r-- 12 root app.conf
	// drwxr-xr-x 0 root app.d
}

// Make a directory and its missing parents.
func ExampleClient_MakeDir() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	err := c.MakeDir(context.Background(), &client.MakeDirOptions{Path: "/etc/app.conf", MakeParents: true, Permissions: 0o750})
	fmt.Println(err)
	// Output: <nil>
}

// Remove a directory and everything in it.
func ExampleClient_RemovePath() {
	socket, stop := filesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	err := c.RemovePath(context.Background(), &client.RemovePathOptions{Path: "/etc/app.conf", Recursive: true})
	fmt.Println(err)
	// Output: <nil>
}
