package servstate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/testutil"
)

// The test binary doubles as the service: with PEBBLE_TEST_HELPER set,
// TestMain runs one of these behaviours instead of the tests.
var helpers = map[string]func(){
	"sleep": func() { writePID(); select {} },
	"ignore-term": func() {
		signal.Ignore(syscall.SIGTERM)
		writePID()
		fmt.Println("ignoring SIGTERM")
		select {}
	},
	"setsid-child": func() {
		spawn("sleep", true)
		writePID()
		select {}
	},
	// double-fork: a child forks a grandchild and exits, so the grandchild
	// is re-parented to the nearest subreaper (the test process).
	"double-fork": func() {
		c := spawn("fork-exit", false)
		c.Wait()
		writePID()
		select {}
	},
	"fork-exit": func() {
		spawn("sleep", os.Getenv("PEBBLE_TEST_SETSID") == "1")
		os.Exit(0)
	},
	"usr1": func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		writePID()
		fmt.Println("ready")
		for range ch {
			fmt.Println("got usr1")
		}
	},
	"flood": func() {
		// Megabytes of lines, binary garbage and a 1 MiB line without a
		// newline, then exit.
		line := strings.Repeat("y", 100) + "\n"
		for range 30000 {
			os.Stdout.WriteString(line)
		}
		garbage := make([]byte, 256*1024)
		for i := range garbage {
			garbage[i] = byte(i * 13)
		}
		os.Stdout.Write(garbage)
		os.Stdout.WriteString(strings.Repeat("z", 1<<20))
		os.Exit(0)
	},
}

func TestMain(m *testing.M) {
	if name := os.Getenv("PEBBLE_TEST_HELPER"); name != "" {
		helpers[name]()
		os.Exit(0)
	}
	testutil.MainWithReaper(m)
}

// writePID appends the process's PID to $PEBBLE_TEST_PIDFILE.
func writePID() {
	path := os.Getenv("PEBBLE_TEST_PIDFILE")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(f, os.Getpid())
	f.Close()
}

// spawn starts the test binary as another helper.
func spawn(helper string, setsid bool) *exec.Cmd {
	exe, _ := os.Executable()
	c := exec.Command(exe)
	c.Env = append(os.Environ(), "PEBBLE_TEST_HELPER="+helper)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := c.Start(); err != nil {
		panic(err)
	}
	return c
}

// helperService returns a service running the test binary as helper.
func helperService(t *testing.T, name, helper string) (*plan.Service, string) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(t.TempDir(), "pids")
	return &plan.Service{
		Name:    name,
		Command: "'" + exe + "' -test.run=none",
		Environment: map[string]string{
			"PEBBLE_TEST_HELPER":  helper,
			"PEBBLE_TEST_PIDFILE": pidfile,
		},
	}, pidfile
}

// readPIDs returns the PIDs helpers wrote to a pid file.
func readPIDs(path string) []int {
	data, _ := os.ReadFile(path)
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processExists reports whether pid names a live process (zombies count as
// gone only once reaped: a zombie still has a /proc entry).
func processExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

func newPlan(services ...*plan.Service) *plan.Plan {
	p := &plan.Plan{Services: make(map[string]*plan.Service)}
	for _, s := range services {
		p.Services[s.Name] = s
	}
	return p
}

// logRecorder collects log lines for assertions and mirrors them to t.Logf.
type logRecorder struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.t.Logf("log: %s", msg)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, msg)
}

func (r *logRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *logRecorder) has(line string) error {
	for _, l := range r.all() {
		if l == line {
			return nil
		}
	}
	return fmt.Errorf("no log line %q in %q", line, r.all())
}

type fixture struct {
	m        *Manager
	log      *logRecorder
	shutdown chan int
}

// newFixture returns a manager with short delays; opts may adjust options.
func newFixture(t *testing.T, p *plan.Plan, opts func(*Options)) *fixture {
	f := &fixture{log: &logRecorder{t: t}, shutdown: make(chan int, 10)}
	o := Options{
		Logf:          f.log.Logf,
		Dir:           t.TempDir(),
		Shutdown:      func(code int) { f.shutdown <- code },
		OkayDelay:     100 * time.Millisecond,
		KillFailDelay: time.Second,
	}
	if opts != nil {
		opts(&o)
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	m.SetPlan(p)
	f.m = m
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, name := range m.ActiveServices() {
			m.Stop(ctx, name, nil)
		}
		m.Close()
	})
	return f
}

func (f *fixture) info(t *testing.T, name string) ServiceInfo {
	t.Helper()
	infos := f.m.Services([]string{name})
	if len(infos) != 1 {
		t.Fatalf("no service %q", name)
	}
	return infos[0]
}

func (f *fixture) waitCurrent(t *testing.T, name, current string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() error {
		if got := f.info(t, name).Current; got != current {
			return fmt.Errorf("service %q is %s, want %s", name, got, current)
		}
		return nil
	})
}

// execHelper returns an unstarted command running the test binary as helper.
func execHelper(exe, helper string) *exec.Cmd {
	c := exec.Command(exe)
	c.Env = append(os.Environ(), "PEBBLE_TEST_HELPER="+helper)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// syncWriter is a goroutine-safe io.Writer that counts what it got.
type syncWriter struct {
	mu sync.Mutex
	n  int
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += len(p)
	return len(p), nil
}
