package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// floorServerArg makes this command serve a fixed body instead (see
// runFloorServer).
const floorServerArg = "floor-server"

// server is a process answering HTTP on a UNIX socket: a supervisor daemon
// or the floor server.
type server struct {
	dir    string
	socket string
	cmd    *exec.Cmd
	stderr strings.Builder
	http   *http.Client
}

// startDaemon runs `<bin> run --hold` on a fresh $PEBBLE under the work
// directory holding layer, and waits until its API answers. With -profile,
// our daemon writes its profiles into that directory when it stops.
func (h *harness) startDaemon(bin, layer string) (*server, error) {
	dir, err := os.MkdirTemp(h.work, "pebble-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a $PEBBLE: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "layers"), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the layers directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "layers", "001-bench.yaml"), []byte(layer), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write the layer: %w", err)
	}
	cmd := exec.Command(bin, "run", "--hold")
	cmd.Env = append(os.Environ(), "PEBBLE="+dir)
	if bin == h.targets.ours && h.cfg.profileDir != "" {
		cmd.Env = append(cmd.Env, "PEBBLE_PROFILE_DIR="+h.cfg.profileDir)
	}
	return startServer(cmd, dir, filepath.Join(dir, ".pebble.socket"))
}

// startFloor runs this command as the floor server on a socket under work,
// answering every request with body.
func startFloor(self, work string, body []byte) (*server, error) {
	dir, err := os.MkdirTemp(work, "floor-")
	if err != nil {
		return nil, fmt.Errorf("cannot create the floor directory: %w", err)
	}
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, fmt.Errorf("cannot write the floor body: %w", err)
	}
	socket := filepath.Join(dir, "floor.socket")
	cmd := exec.Command(self, floorServerArg, "-socket", socket, "-body", bodyFile)
	return startServer(cmd, dir, socket)
}

func startServer(cmd *exec.Cmd, dir, socket string) (*server, error) {
	s := &server{dir: dir, socket: socket, cmd: cmd}
	cmd.Stderr = &s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", cmd.Path, err)
	}
	s.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 64,
	}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := s.get("/v1/health")
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not answer on %s: %v\n%s", cmd.Path, socket, err, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get returns the body of a GET of path, an error unless it answered 200.
func (s *server) get(path string) ([]byte, error) {
	resp, err := s.http.Get("http://localhost" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, nil
}

// stop sends SIGTERM and waits for the process, killing it after a minute
// (a daemon stopping its services may take their kill delays).
func (s *server) stop() error {
	s.http.CloseIdleConnections()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		<-done
		return errors.New(s.cmd.Path + " did not stop within a minute")
	}
}

// rss returns the resident set size of the server process in MB.
func (s *server) rss() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the RSS: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kB float64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%f kB", &kB); err != nil {
				return 0, fmt.Errorf("cannot read the RSS from %q: %w", line, err)
			}
			return kB / 1000, nil
		}
	}
	return 0, errors.New("cannot read the RSS: no VmRSS line")
}

// cpu returns the CPU time the server process itself has used so far (not
// its children's): the sum over its threads of the first field of
// /proc/<pid>/task/<tid>/schedstat, in nanoseconds (stat's utime and stime
// count 10 ms ticks, too coarse for one restart).
func (s *server) cpu() (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cannot read the CPU time: %w", err)
	}
	var total time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(filepath.Join(dir, task.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		first, _, _ := strings.Cut(string(data), " ")
		ns, err := strconv.ParseInt(first, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cannot parse the CPU time from %q", data)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// runFloorServer is the floor: a minimal Go HTTP server on a UNIX socket
// answering every request with a fixed JSON body, except /blob (see
// serveBlob).
func runFloorServer(args []string) {
	fs := flag.NewFlagSet(floorServerArg, flag.ExitOnError)
	socket := fs.String("socket", "", "UNIX socket to listen on")
	bodyFile := fs.String("body", "", "file holding the JSON body to answer with")
	fs.Parse(args)
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor-server: cannot read the body:", err)
		os.Exit(1)
	}
	l, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor-server: cannot listen:", err)
		os.Exit(1)
	}
	blob := filepath.Join(filepath.Dir(*socket), "blob")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/blob" {
			serveBlob(w, r, blob)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "floor-server:", err)
		os.Exit(1)
	}
}
