package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
)

// logsJSON is a logs API response (api.md §14).
const logsJSON = `{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on <:5000>"}
{"time":"2026-01-20T02:11:09.4Z","service":"svc2","message":"ready & waiting"}
`

// Print the last lines the services wrote.
func ExampleClient_Logs() {
	d, err := startFakeDaemon(map[string]reply{"GET /v1/logs": {200, logsJSON}})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	c, _ := client.New(&client.Config{Socket: d.Socket})

	err = c.Logs(context.Background(), &client.LogsOptions{
		Services: []string{"svc1", "svc2"},
		N:        10,
		WriteLog: func(e client.LogEntry) error {
			fmt.Printf("%s [%s] %s\n", e.Time.Format("15:04:05.000"), e.Service, e.Message)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 02:11:09.361 [svc1] Serving on <:5000>
	// 02:11:09.400 [svc2] ready & waiting
}

func TestLogsRequest(t *testing.T) {
	d, c := newFakeDaemon(t, map[string]reply{"GET /v1/logs": {200, logsJSON}})
	var got []client.LogEntry
	opts := &client.LogsOptions{Services: []string{"a", "b"}, N: -1, WriteLog: func(e client.LogEntry) error {
		got = append(got, e)
		return nil
	}}
	if err := c.Logs(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := []client.LogEntry{
		{Time: time.Date(2026, 1, 20, 2, 11, 9, 361_000_000, time.UTC), Service: "svc1", Message: "Serving on <:5000>"},
		{Time: time.Date(2026, 1, 20, 2, 11, 9, 400_000_000, time.UTC), Service: "svc2", Message: "ready & waiting"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	opts.N = 0
	opts.Services = nil
	if err := c.Logs(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	reqs := d.Requests()
	if len(reqs) != 2 || reqs[0].RawQuery != "n=-1&services=a&services=b" || reqs[1].RawQuery != "" {
		t.Errorf("requests %+v", reqs)
	}

	stop := errors.New("enough")
	opts.WriteLog = func(client.LogEntry) error { return stop }
	if err := c.Logs(context.Background(), opts); !errors.Is(err, stop) {
		t.Errorf("error %v, want one wrapping %v", err, stop)
	}
	if err := c.Logs(context.Background(), &client.LogsOptions{}); err == nil {
		t.Errorf("no error without WriteLog")
	}
}

func TestLogsError(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{
		"GET /v1/logs": errorJSON(400, "Bad Request", `{"message":"n must be -1, 0, or a positive integer"}`),
	})
	err := c.Logs(context.Background(), &client.LogsOptions{N: -5, WriteLog: func(client.LogEntry) error { return nil }})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Message != "n must be -1, 0, or a positive integer" || apiErr.StatusCode != 400 {
		t.Errorf("error %#v", err)
	}
}

// TestFollowLogs streams from a server that never ends the response:
// entries arrive as they are written, and cancelling ends the call cleanly.
func TestFollowLogs(t *testing.T) {
	dir := t.TempDir()
	socket := filepath.Join(dir, "s")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	more := make(chan string)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "follow=true" {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		for {
			select {
			case line := <-more:
				fmt.Fprintln(w, line)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	defer os.Remove(socket)
	c, err := client.New(&client.Config{Socket: socket})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan client.LogEntry)
	done := make(chan error, 1)
	go func() {
		done <- c.FollowLogs(ctx, &client.LogsOptions{WriteLog: func(e client.LogEntry) error {
			got <- e
			return nil
		}})
	}()
	for i := range 3 {
		more <- fmt.Sprintf(`{"time":"2026-01-20T02:11:09.361Z","service":"s","message":"m%d"}`, i)
		select {
		case e := <-got:
			if e.Message != fmt.Sprintf("m%d", i) {
				t.Fatalf("entry %+v", e)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("entry did not arrive")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("FollowLogs returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FollowLogs did not return")
	}
}

func TestLogTargets(t *testing.T) {
	_, c := newFakeDaemon(t, map[string]reply{"GET /v1/log-targets": {200, `{"type":"sync","status-code":200,"status":"OK","result":[` +
		`{"name":"t","type":"loki","location":"http://x","services":["a"],"sent":3,"dropped":1,"lost-bytes":7,"failures":2,"pending":4,` +
		`"last-error":"boom","last-error-time":"2026-01-02T03:04:05Z"}]}`}})
	targets, err := c.LogTargets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Name != "t" || targets[0].Sent != 3 || targets[0].LostBytes != 7 ||
		targets[0].LastError != "boom" || !targets[0].LastErrorTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("targets %+v", targets[0])
	}
}
