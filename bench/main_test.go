package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/testutil"
)

var pebbleBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pebble-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pebbleBin = filepath.Join(dir, "pebble")
	build := exec.Command("go", "build", "-o", pebbleBin, "../cmd/pebble")
	if os.Getenv("PEBBLE_PROFILE_DIR") != "" {
		// The daemons inherit it and write their profiles there.
		build.Args = append(build.Args[:2], "-tags", "pprof", "-o", pebbleBin, "../cmd/pebble")
	}
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build pebble:", err)
		os.Exit(1)
	}
	code := testutil.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a pebble run process on its own $PEBBLE.
type daemon struct {
	dir    string
	cmd    *exec.Cmd
	client *client.Client
}

// startDaemon runs `pebble run --hold` on a fresh directory with the given
// layer and waits until the API answers.
func startDaemon(b *testing.B, layer string, env ...string) *daemon {
	b.Helper()
	return startDaemonWith(b, layer, nil, nil, env...)
}

// startDaemonWith is startDaemon with extra arguments to `pebble run` and
// the daemon's stdout going to stdout (nil: nowhere).
func startDaemonWith(b *testing.B, layer string, args []string, stdout io.Writer, env ...string) *daemon {
	b.Helper()
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "layers"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "layers", "001-bench.yaml"), []byte(layer), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(pebbleBin, append([]string{"run", "--hold"}, args...)...)
	cmd.Env = append(append(os.Environ(), "PEBBLE="+dir), env...)
	cmd.Stdout = stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c, err := client.New(&client.Config{Socket: filepath.Join(dir, ".pebble.socket")})
	if err != nil {
		b.Fatal(err)
	}
	d := &daemon{dir: dir, cmd: cmd, client: c}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.SysInfo(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("daemon did not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// stop sends SIGTERM and waits for the daemon to exit.
func (d *daemon) stop(b *testing.B) {
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("daemon exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		b.Errorf("daemon did not stop within 60s")
	}
}
