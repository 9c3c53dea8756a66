// Command charm is the charm of the pod test in tests/kube: a static program
// run in the pod's charm container, which drives the workload container's
// pebble over the socket on the shared volume, as a Juju charm does. It
// prints one line per step it verified and then "charm done", or what
// failed; it exits 0 either way, since the pod's restart policy would run a
// failed charm again. The line "first-api-answer <unix nanoseconds>" tells the test
// when the daemon first answered.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pebble-project/pebble/client"
)

const (
	socketPath = "/charm/containers/workload/pebble.socket"
	healthURL  = "http://localhost:38813/v1/health"
	// restartKey is the custom notice the flaky service records each time
	// it starts.
	restartKey = "pebble-project.example/flaky-started"
)

// charmLayer adds a service that ignores SIGTERM (so that shutdown has to
// kill it at its kill-delay) and one that records a notice on every start
// and then fails (so that the daemon restarts it).
const charmLayer = `
services:
  stubborn:
    override: replace
    startup: enabled
    kill-delay: 3s
    command: /bin/sh -c 'trap "echo stubborn ignores SIGTERM" TERM; echo stubborn up; while :; do sleep 1; done'
  flaky:
    override: replace
    startup: enabled
    backoff-delay: 100ms
    command: /bin/sh -c '/charm/bin/pebble notify ` + restartKey + `; sleep 1.5; exit 1'
`

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Printf("FAIL: %v\n", err)
		return
	}
	fmt.Println("charm done")
}

// step is one thing the charm checks.
type step struct {
	name string
	do   func(context.Context, *client.Client) error
}

func run(ctx context.Context) error {
	c, err := client.New(&client.Config{Socket: socketPath})
	if err != nil {
		return err
	}
	err = runSteps(ctx, c, []step{
		{"first answer", waitFirstAnswer},
		{"injected binary", checkInjected},
		{"held services", checkHeld},
		{"health over --http", checkHTTPHealth},
	})
	if err != nil {
		return err
	}
	// From now on the kubelet's probes come all the time, whatever the
	// charm does.
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	probes := make(chan error, 1)
	go func() { probes <- probeUntil(probeCtx) }()
	err = runSteps(ctx, c, []step{
		{"add layer and replan", addLayerAndReplan},
		{"exec with stdin and exit code", checkExec},
		{"pebble is PID 1", checkPID1},
		{"push and pull", checkFiles},
		{"notice on restart", checkRestartNotice},
	})
	stopProbes()
	if perr := <-probes; perr != nil {
		return errors.Join(err, fmt.Errorf("health while the charm worked: %w", perr))
	}
	return err
}

func runSteps(ctx context.Context, c *client.Client, steps []step) error {
	for _, step := range steps {
		if err := step.do(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Printf("ok: %s\n", step.name)
	}
	return nil
}

// probeUntil asks for alive and ready health every 100 ms, as the probes do
// with their 1 s timeout, until ctx ends; it returns the first failure, or
// nil after printing the slowest answer.
func probeUntil(ctx context.Context) error {
	var slowest time.Duration
	n := 0
	for ctx.Err() == nil {
		for _, level := range []string{"alive", "ready"} {
			start := time.Now()
			if err := checkHealth(level); err != nil {
				return err
			}
			slowest = max(slowest, time.Since(start))
			n++
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	fmt.Printf("health answered %d probes, slowest in %v\n", n, slowest)
	return nil
}

// waitFirstAnswer polls until the daemon answers on its socket, and prints
// when that happened.
func waitFirstAnswer(ctx context.Context, c *client.Client) error {
	for {
		if _, err := c.SysInfo(ctx); err == nil {
			fmt.Printf("first-api-answer %d\n", time.Now().UnixNano())
			return nil
		} else if ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// checkInjected checks that charm-init left the static binary in
// /charm/bin, and no state file (PEBBLE_PERSIST=never) or socket.
func checkInjected(context.Context, *client.Client) error {
	info, err := os.Stat("/charm/bin/pebble")
	if err != nil {
		return err
	}
	if info.Mode()&0o111 == 0 {
		return fmt.Errorf("/charm/bin/pebble has mode %v, want executable", info.Mode())
	}
	for _, name := range []string{".pebble.state", ".pebble.socket"} {
		if _, err := os.Stat("/charm/bin/" + name); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("/charm/bin/%s: %v, want it not to exist", name, err)
		}
	}
	return nil
}

// checkHeld checks that the image's layer was copied in by
// PEBBLE_COPY_ONCE and that --hold left its services stopped.
func checkHeld(ctx context.Context, c *client.Client) error {
	svcs, err := c.Services(ctx, nil)
	if err != nil {
		return err
	}
	got := map[string]client.ServiceStatus{}
	for _, svc := range svcs {
		got[svc.Name] = svc.Current
	}
	for _, name := range []string{"db", "web"} {
		if got[name] != client.StatusInactive {
			return fmt.Errorf("service %q is %q, want inactive (services: %v)", name, got[name], got)
		}
	}
	return nil
}

// checkHTTPHealth asks the --http listener what the kubelet's probes ask.
func checkHTTPHealth(context.Context, *client.Client) error {
	for _, level := range []string{"alive", "ready"} {
		if err := checkHealth(level); err != nil {
			return err
		}
	}
	return nil
}

// checkHealth asks for health at level within the probes' 1 s timeout.
func checkHealth(level string) error {
	hc := &http.Client{Timeout: time.Second}
	rsp, err := hc.Get(healthURL + "?level=" + level)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"healthy":true`) {
		return fmt.Errorf("level %s: status %d, body %s", level, rsp.StatusCode, body)
	}
	return nil
}

func addLayerAndReplan(ctx context.Context, c *client.Client) error {
	err := c.AddLayer(ctx, &client.AddLayerOptions{Label: "charm", LayerData: []byte(charmLayer)})
	if err != nil {
		return err
	}
	id, err := c.Replan(ctx, &client.ServiceOptions{})
	if err != nil {
		return err
	}
	chg, err := c.WaitChange(ctx, id, nil)
	if err != nil {
		return err
	}
	if chg.Status != "Done" {
		return fmt.Errorf("replan change %s is %s: %s", id, chg.Status, chg.Err)
	}
	svcs, err := c.Services(ctx, &client.ServicesOptions{Names: []string{"db", "web", "stubborn"}})
	if err != nil {
		return err
	}
	for _, svc := range svcs {
		if svc.Current != client.StatusActive {
			return fmt.Errorf("service %q is %q after replan, want active", svc.Name, svc.Current)
		}
	}
	return nil
}

func checkExec(ctx context.Context, c *client.Client) error {
	var stdout bytes.Buffer
	proc, err := c.Exec(ctx, &client.ExecOptions{
		Command: []string{"/bin/sh", "-c", "read line; echo \"got $line\"; exit 7"},
		Stdin:   strings.NewReader("hello\n"),
		Stdout:  &stdout,
	})
	if err != nil {
		return err
	}
	err = proc.Wait(ctx)
	var exit *client.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		return fmt.Errorf("wait returned %v, want exit code 7", err)
	}
	if stdout.String() != "got hello\n" {
		return fmt.Errorf("stdout %q, want %q", stdout.String(), "got hello\n")
	}
	return nil
}

// checkPID1 reads the workload container's /proc/1/cmdline through exec.
func checkPID1(ctx context.Context, c *client.Client) error {
	var stdout bytes.Buffer
	proc, err := c.Exec(ctx, &client.ExecOptions{Command: []string{"cat", "/proc/1/cmdline"}, Stdout: &stdout})
	if err != nil {
		return err
	}
	if err := proc.Wait(ctx); err != nil {
		return err
	}
	args := strings.Split(strings.TrimRight(stdout.String(), "\x00"), "\x00")
	if len(args) < 2 || args[0] != "/charm/bin/pebble" || args[1] != "run" {
		return fmt.Errorf("PID 1 is %q, want /charm/bin/pebble run", args)
	}
	return nil
}

func checkFiles(ctx context.Context, c *client.Client) error {
	const path = "/tmp/charm/config.txt"
	content := fmt.Sprintf("written by the charm at %s\n", time.Now().Format(time.RFC3339Nano))
	err := c.Push(ctx, &client.PushOptions{Source: strings.NewReader(content), Path: path, MakeDirs: true})
	if err != nil {
		return err
	}
	var got bytes.Buffer
	if err := c.Pull(ctx, &client.PullOptions{Path: path, Target: &got}); err != nil {
		return err
	}
	if got.String() != content {
		return fmt.Errorf("pulled %q, pushed %q", got.String(), content)
	}
	return nil
}

// checkRestartNotice waits for the flaky service's notice, then for its
// next occurrence, which only a restart of the service records; then it
// stops the service.
func checkRestartNotice(ctx context.Context, c *client.Client) error {
	opts := &client.NoticesOptions{Types: []client.NoticeType{client.CustomNotice}, Keys: []string{restartKey}}
	var first *client.Notice
	for first == nil || first.Occurrences < 2 {
		notices, err := c.WaitNotices(ctx, 30*time.Second, opts)
		if err != nil {
			return err
		}
		if len(notices) == 0 {
			return errors.New("no notice within 30s")
		}
		first = notices[0]
		opts.After = first.LastRepeated
	}
	id, err := c.Stop(ctx, &client.ServiceOptions{Names: []string{"flaky"}})
	if err != nil {
		return err
	}
	_, err = c.WaitChange(ctx, id, nil)
	return err
}
