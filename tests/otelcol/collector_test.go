package otelcol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/logfwd/logtest"
	"github.com/pebble-project/pebble/internal/testutil"
)

// Time limits of the collector helpers: upper bounds for waits on events.
const (
	collectorReadyTimeout = 30 * time.Second // start until it serves
	collectorExitTimeout  = 30 * time.Second // SIGTERM until exit
)

// collectorSources are the files the collector binary is built from; their
// contents key its cache, so that a change of version or of the components
// builds it again.
var collectorSources = []string{"go.mod", "go.sum", "collector/main.go"}

// collectorBinary returns the path of the collector of ./collector,
// building it once per machine into the user's cache directory (like
// internal/realpebble does for Pebble). built reports whether this call
// built it.
func collectorBinary() (path string, built bool, err error) {
	h := sha256.New()
	for _, name := range collectorSources {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", false, fmt.Errorf("cannot key the collector's cache: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir() // no $HOME: cached for this boot only
	}
	dir := filepath.Join(cache, "pebble-project-tests")
	bin := filepath.Join(dir, "otel-collector-"+hex.EncodeToString(h.Sum(nil))[:16])
	if info, err := os.Stat(bin); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
		return bin, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cannot build the collector: %w", err)
	}
	// Build into a temporary name and rename, so that a concurrent run
	// never sees half a binary. Built with the default flags, it reuses
	// what `go vet` (make lint) compiled of its dependencies.
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	build := exec.Command("go", "build", "-o", tmp, "./collector")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("cannot build the collector: %v: %s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("cannot build the collector: %w", err)
	}
	return bin, true, nil
}

// collector is one running collector whose logs pipeline goes from its
// OTLP/HTTP receiver to a file, one JSON ExportLogsServiceRequest a line.
type collector struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr testutil.SyncBuffer
	exited chan struct{} // closed when cmd.Wait returned
	err    error         // cmd.Wait's result, once exited is closed

	// URL is the receiver's base URL, a log target's location.
	URL string
	// Export is the file exporter's output.
	Export string
}

// startCollector runs the collector on a free loopback port and waits until
// it is ready. The test's cleanup kills it if the test did not stop it.
func startCollector(t testing.TB) *collector {
	t.Helper()
	// Between finding a free port and the collector listening on it,
	// another process may take it: then try another.
	const attempts = 3
	for i := 1; ; i++ {
		c, err := launchCollector(t)
		if err == nil {
			return c
		}
		if i == attempts || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func launchCollector(t testing.TB) (*collector, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	c := &collector{t: t, URL: "http://" + addr, Export: filepath.Join(dir, "logs.json"), exited: make(chan struct{})}
	config := filepath.Join(dir, "config.yaml")
	// No metrics of its own (they would listen on a fixed port), and the
	// file flushed often so that polling it sees entries soon.
	err = os.WriteFile(config, []byte(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: `+addr+`
exporters:
  file:
    path: `+c.Export+`
    format: json
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`), 0o644)
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(collectorBin, "--config", config)
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.cleanup)
	deadline := time.After(collectorReadyTimeout)
	for !strings.Contains(c.stderr.String(), "Everything is ready") {
		select {
		case <-c.exited:
			return nil, fmt.Errorf("collector exited before it was ready (%v); stderr:\n%s", c.err, c.stderr.String())
		case <-deadline:
			return nil, fmt.Errorf("collector not ready after %v; stderr:\n%s", collectorReadyTimeout, c.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return c, nil
}

func (c *collector) cleanup() {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Kill()
		<-c.exited
	}
	if c.t.Failed() {
		c.t.Logf("collector stderr:\n%s", c.stderr.String())
	}
}

// Stop sends SIGTERM, which makes the collector flush its exporter, and
// requires a clean exit.
func (c *collector) Stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(collectorExitTimeout):
		c.t.Fatalf("collector did not exit within %v; stderr:\n%s", collectorExitTimeout, c.stderr.String())
	}
	if c.err != nil {
		c.t.Fatalf("collector exit after SIGTERM: %v; stderr:\n%s", c.err, c.stderr.String())
	}
}

// Entries reads what the collector exported so far, each request checked
// against the OTLP JSON encoding by logtest.ParseOTLP, the checker of our
// own receiver. problems has every deviation found, with its line number.
// A last line still being written is left for a later call, unless the
// collector has exited.
func (c *collector) Entries() (entries []logtest.Entry, problems []string, err error) {
	data, err := os.ReadFile(c.Export)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil // nothing exported yet
	}
	if err != nil {
		return nil, nil, err
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, line := range lines {
		if !bytes.HasSuffix(line, []byte("\n")) {
			select {
			case <-c.exited:
				if len(line) > 0 {
					problems = append(problems, fmt.Sprintf("%s:%d: unterminated line", c.Export, i+1))
				}
			default:
			}
			break
		}
		es, ps := logtest.ParseOTLP(line)
		entries = append(entries, es...)
		for _, p := range ps {
			problems = append(problems, fmt.Sprintf("%s:%d: %s", c.Export, i+1, p))
		}
	}
	return entries, problems, nil
}
