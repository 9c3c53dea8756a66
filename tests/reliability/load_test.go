package reliability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
)

// Issue 17's load: 100 services, 100 clients, one request in five a write.
const (
	loadServices  = 100
	loadClients   = 100
	loadPerClient = 40 // requests per client in the mixed phase
)

// loadReads are the reads of the mix; /v1/health is what probes read.
var loadReads = []string{"/v1/services", "/v1/system-info", "/v1/health"}

// TestReadsDoNotWaitOnWrites runs issue 17's mix on a daemon whose $PEBBLE
// (and so its state file) is on a small ext4 file system of its own: 100
// clients, one request in five a write (a custom notice, which the state
// file keeps and a client hears of only once it is on disk), the rest reads
// of /v1/services, /v1/system-info and /v1/health. It prints the latencies
// as figures: on a shared machine they are not a criterion, even the floor
// server's p99 is about 100 ms there under this load.
//
// The criterion is what a probe depends on and timing cannot show: reads
// never wait on a write. The file system is frozen (FIFREEZE), so a write's
// state file save blocks in the kernel, and while that write waits, 100
// clients read the three endpoints: every read must be answered. Durable
// reads (changes, notices) are left out: they wait for the state file by
// design (docs/durability.md).
func TestReadsDoNotWaitOnWrites(t *testing.T) {
	dir := ownFileSystem(t)
	var layer strings.Builder
	layer.WriteString("services:\n")
	var names []string
	for i := range loadServices {
		name := fmt.Sprintf("svc%03d", i)
		names = append(names, name)
		fmt.Fprintf(&layer, "  %s:\n    override: replace\n    command: sleep 1000\n", name)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "layers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "layers", "001-load.yaml"), []byte(layer.String()), 0o644))
	d := run.Start(t, dir)
	status, env := d.MustRequest("POST", "/v1/services", map[string]any{"action": "start", "services": names})
	require.Equal(t, 202, status, env.Message())
	status, env = d.MustRequest("GET", "/v1/changes/"+env.Change+"/wait?timeout=60s", nil)
	require.Equal(t, 200, status, env.Message())

	c := loadClient(dir)
	defer c.CloseIdleConnections()
	lat := mixedLoad(t, c)
	for _, kind := range []string{"reads", "/v1/health", "write"} {
		ds := lat[kind]
		require.NotEmpty(t, ds, kind)
		t.Logf("figure: %d services, %d clients, 1 in 5 a write: %s p50 %v, p99 %v (%d requests)",
			loadServices, loadClients, kind, percentile(ds, 50), percentile(ds, 99), len(ds))
	}

	// A write stalled on the frozen file system.
	frozen := freeze(t, dir)
	wrote := make(chan error, 1)
	go func() {
		status, env, err := harness.Do(context.Background(), c, "POST", "/v1/notices",
			strings.NewReader(`{"action":"add","type":"custom","key":"example.com/stalled"}`))
		if err == nil && status != 200 {
			err = fmt.Errorf("%d %s", status, env.Message())
		}
		wrote <- err
	}()
	testutil.WaitFor(t, 20*time.Second, func() error {
		if !blockedInKernel(d.PID()) {
			return fmt.Errorf("no thread of the daemon waits on the frozen file system yet")
		}
		return nil
	})
	start := time.Now()
	reads := readAll(t, c)
	t.Logf("figure: %d reads by %d clients while a write waits on a frozen file system: %v, p99 %v",
		len(reads), loadClients, time.Since(start), percentile(reads, 99))
	select {
	case err := <-wrote:
		t.Fatalf("the write was answered while its file system was frozen: %v", err)
	default:
	}
	frozen()
	select {
	case err := <-wrote:
		require.NoError(t, err, "the stalled write, once the file system thawed")
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled write was not answered 30 s after the file system thawed")
	}
}

// ownFileSystem mounts a fresh 64 MiB ext4 file system (a loop device) for
// a $PEBBLE and returns it; the test is skipped where that cannot be done.
func ownFileSystem(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a file system to freeze needs root")
	}
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("skipping: no mkfs.ext4")
	}
	img := filepath.Join(t.TempDir(), "pebble.img")
	require.NoError(t, os.WriteFile(img, nil, 0o600))
	require.NoError(t, os.Truncate(img, 64<<20))
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot make a file system: %v: %s", err, out)
	}
	dir := run.NewDir(t, nil)
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount a loop device: %v: %s", err, out)
	}
	// Lazily, since the daemon's cleanup (registered later, so run
	// earlier) may leave it busy for a moment; the loop device goes with
	// the mount.
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// The file system freeze ioctls (linux/fs.h: _IOWR('X', 119 and 120,
// int)), which golang.org/x/sys/unix does not define.
const (
	fiFreeze = 0xc0045877
	fiThaw   = 0xc0045878
)

// freeze freezes dir's file system and returns the function that thaws
// it, which the test's cleanup also calls, so a failing test never leaves
// it frozen.
func freeze(t *testing.T, dir string) (thaw func()) {
	f, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetInt(int(f.Fd()), fiFreeze, 0))
	var once sync.Once
	thaw = func() {
		once.Do(func() {
			assert.NoError(t, unix.IoctlSetInt(int(f.Fd()), fiThaw, 0))
			f.Close()
		})
	}
	t.Cleanup(thaw)
	return thaw
}

// blockedInKernel reports whether a thread of process pid sleeps
// uninterruptibly (state D), as one writing to a frozen file system does.
func blockedInKernel(pid int) bool {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue
		}
		// The state follows the command name, which is in parentheses.
		if i := strings.LastIndexByte(string(data), ')'); i >= 0 && strings.HasPrefix(string(data[i:]), ") D") {
			return true
		}
	}
	return false
}

// loadClient returns a client of the daemon on dir that keeps connections
// open between requests, as a busy client does.
func loadClient(dir string) *http.Client {
	socket := filepath.Join(dir, ".pebble.socket")
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", socket)
			},
			MaxIdleConnsPerHost: loadClients,
		},
		Timeout: 60 * time.Second,
	}
}

// mixedLoad runs the mix, loadPerClient requests from each client, and
// returns the latencies by kind: "reads" (all reads), "/v1/health" and
// "write". Every request must succeed.
func mixedLoad(t *testing.T, c *http.Client) map[string][]time.Duration {
	return clients(t, func(client, i int) (kind, method, path, body string) {
		if i%5 == 4 {
			return "write", "POST", "/v1/notices", fmt.Sprintf(`{"action":"add","type":"custom","key":"example.com/c%d"}`, client)
		}
		path = loadReads[(client+i)%len(loadReads)]
		return path, "GET", path, ""
	}, c, loadPerClient)
}

// readAll has every client read each of loadReads twice and returns the
// latencies. Every read must succeed.
func readAll(t *testing.T, c *http.Client) []time.Duration {
	lat := clients(t, func(client, i int) (kind, method, path, body string) {
		path = loadReads[(client+i)%len(loadReads)]
		return "reads", "GET", path, ""
	}, c, 2*len(loadReads))
	return lat["reads"]
}

// clients runs loadClients clients, each making n requests that next
// chooses, and returns their latencies by kind ("/v1/health" latencies are
// also reads). A request that fails or answers an error fails the test.
func clients(t *testing.T, next func(client, i int) (kind, method, path, body string), c *http.Client, n int) map[string][]time.Duration {
	t.Helper()
	var mu sync.Mutex
	lat := make(map[string][]time.Duration)
	var errs []error
	var wg sync.WaitGroup
	for client := range loadClients {
		wg.Go(func() {
			for i := range n {
				kind, method, path, body := next(client, i)
				start := time.Now()
				status, env, err := harness.Do(t.Context(), c, method, path, strings.NewReader(body))
				took := time.Since(start)
				mu.Lock()
				if err == nil && status/100 != 2 {
					err = fmt.Errorf("%s %s: %d %s", method, path, status, env.Message())
				}
				if err != nil {
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				lat[kind] = append(lat[kind], took)
				if method == "GET" && kind != "reads" {
					lat["reads"] = append(lat["reads"], took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	return lat
}

// percentile returns the p-th percentile of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
