// Package kube tests the Kubernetes sidecar deployment of deploy/kubernetes
// under a real container engine: Debian's podman with runc runs the shipped
// pod manifest (through `podman kube play`, in a copy adapted to podman 4.3)
// with images built by deploy/kubernetes/build-images.sh, the script behind
// `make image`.
package kube

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// podName and imagePrefix name everything the test creates, so that it
	// can remove what an aborted run left.
	podName     = "pebble-podtest"
	imagePrefix = "localhost/pebble-podtest-"
	// lockPath serializes pod tests on one machine (several checkouts may
	// run their suites at once); they share the names above.
	lockPath = "/tmp/pebble-podtest.lock"
	// gracePeriod is the manifest's terminationGracePeriodSeconds, which
	// podman ignores: the test stops the pod with it explicitly.
	gracePeriod = 30
)

// TestPod runs the sidecar pod and checks, from the charm container and
// from outside, what a Juju charm relies on; it logs how long each phase
// took.
func TestPod(t *testing.T) {
	podman := requirePodman(t)
	lockMachine(t)
	work := t.TempDir()
	p := &engine{t: t, bin: podman, env: append(os.Environ(), "CONTAINERS_CONF="+writeContainersConf(t, work))}
	p.removeAll()
	t.Cleanup(func() {
		p.removeAll()
		p.removePauseImage()
	})

	start := time.Now()
	buildImages(t, p, work)
	t.Logf("timing: image build %v", time.Since(start).Round(time.Millisecond))

	shipped, err := os.ReadFile("../../deploy/kubernetes/pod.yaml")
	require.NoError(t, err)
	manifest := filepath.Join(work, "pod.yaml")
	require.NoError(t, os.WriteFile(manifest, testManifest(t, shipped, podName, imagePrefix), 0o644))

	checkRockEntrypoint(t, p)

	start = time.Now()
	p.run("kube", "play", "--network", "none", manifest)
	t.Logf("timing: pod up %v (podman kube play)", time.Since(start).Round(time.Millisecond))

	// The charm drives the workload's daemon and exits 0 when it has
	// checked everything, or found what failed (so that the pod's
	// OnFailure policy does not run it again).
	charm := podName + "-charm"
	code, err := p.output(2*time.Minute, "wait", charm)
	charmLog := p.logs(charm)
	if err != nil || strings.TrimSpace(code) != "0" || !strings.HasSuffix(charmLog, "charm done\n") {
		t.Fatalf("charm exited with %q (%v):\n%s\nworkload log:\n%s", code, err, charmLog, p.logs(podName+"-workload"))
	}
	firstAnswer := parseFirstAnswer(t, charmLog)
	started := p.run("inspect", "--format", "{{.State.StartedAt.UnixNano}}", podName+"-workload")
	startedNS, err := strconv.ParseInt(strings.TrimSpace(started), 10, 64)
	require.NoError(t, err)
	t.Logf("timing: first API answer %v after kube play started, %v after the workload container started",
		firstAnswer.Sub(start).Round(time.Millisecond), firstAnswer.Sub(time.Unix(0, startedNS)).Round(time.Millisecond))
	for _, line := range strings.Split(charmLog, "\n") {
		if strings.HasPrefix(line, "health answered") {
			t.Logf("charm: %s", line)
		}
	}

	start = time.Now()
	p.runTimeout(time.Duration(gracePeriod+15)*time.Second, "pod", "stop", "-t", strconv.Itoa(gracePeriod), podName)
	shutdown := time.Since(start)
	t.Logf("timing: shutdown %v (podman pod stop -t %d)", shutdown.Round(time.Millisecond), gracePeriod)
	workload := podName + "-workload"
	exit := p.run("inspect", "--format", "{{.State.ExitCode}}", workload)
	workloadLog := p.logs(workload)
	require.Equal(t, "0", strings.TrimSpace(exit), "workload exit code; its log:\n%s", workloadLog)
	if err := shutdownProblem(workloadLog); err != nil {
		t.Fatalf("%v; workload log:\n%s", err, workloadLog)
	}
	// Well inside the grace period: the stubborn service's 3 s kill-delay
	// plus a margin for a loaded machine.
	require.Less(t, shutdown, 15*time.Second, "shutdown took too long; workload log:\n%s", workloadLog)
}

// checkRockEntrypoint checks the workload image's rock-style entrypoint:
// `pebble enter --verbose`, where `run IMAGE exec CMD...` runs CMD with the
// container's stdin and exits with its code.
func checkRockEntrypoint(t *testing.T, p *engine) {
	image := imagePrefix + "workload:latest"
	config := p.run("image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", image)
	require.Equal(t, `["/usr/bin/pebble","enter"] ["--verbose"]`, strings.TrimSpace(config))

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, "run", "--rm", "-i", "--network", "none", "--name", podName+"-rock", image,
		"exec", "/bin/sh", "-c", `read line; echo "got $line"; exit 3`)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader("hello\n")
	out, err := cmd.Output()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit) && exit.ExitCode() == 3, "run IMAGE exec: %v, output %q", err, out)
	require.Equal(t, "got hello\n", string(out))
}

// requirePodman returns podman's path, or skips the test where no
// container engine can run.
func requirePodman(t *testing.T) string {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not installed (scripts/install-test-deps.sh installs it as root); the pod test needs a container engine")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatalf("podman is installed but runc is not: run scripts/install-test-deps.sh as root")
	}
	return podman
}

// lockMachine holds lockPath until the test ends, waiting for another
// run's test to finish.
func lockMachine(t *testing.T) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			t.Fatalf("cannot lock %s: %v", lockPath, err)
		}
		select {
		case <-time.After(time.Second):
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", lockPath)
		}
	}
}

// writeContainersConf writes the test's containers.conf: runc, because
// crun refuses this machine's hybrid cgroups; rlimits root may set (podman
// 4.3's defaults are above the hard limits here, and runc cannot set
// RLIMIT_NPROC above kernel.pid_max); events in a file, with no journal.
func writeContainersConf(t *testing.T, dir string) string {
	var nofile, nproc syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile))
	require.NoError(t, syscall.Getrlimit(6 /* RLIMIT_NPROC */, &nproc))
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=%[1]d:%[1]d", "nproc=%[2]d:%[2]d"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`, min(nofile.Max, 65536), min(nproc.Max, 4096))
	path := filepath.Join(dir, "containers.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	return path
}

// buildImages builds the shipped images with the test's names through
// build-images.sh, and the charm image holding the static charm program.
func buildImages(t *testing.T, p *engine, work string) {
	busybox := "/bin/busybox"
	requireStatic(t, busybox)
	script := exec.Command("bash", "../../deploy/kubernetes/build-images.sh")
	script.Env = append(p.env, "PREFIX="+imagePrefix, "TAG=latest", "BUSYBOX="+busybox)
	out, err := script.CombinedOutput()
	require.NoError(t, err, "build-images.sh: %s", out)

	ctx := filepath.Join(work, "charm")
	require.NoError(t, os.MkdirAll(ctx, 0o755))
	build := exec.Command("go", "build", "-o", filepath.Join(ctx, "charm-test"), "./charm")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "cannot build the charm: %s", out)
	containerfile := "FROM scratch\nCOPY charm-test /charm-test\n"
	require.NoError(t, os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(containerfile), 0o644))
	p.run("build", "--network", "none", "-q", "-t", imagePrefix+"charm:latest", ctx)
}

// requireStatic fails unless path is a statically linked executable, which
// a FROM scratch image needs.
func requireStatic(t *testing.T, path string) {
	f, err := elf.Open(path)
	require.NoError(t, err, "busybox-static is needed: run scripts/install-test-deps.sh as root")
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked: install busybox-static", path)
		}
	}
}

// parseFirstAnswer returns the time the charm printed on its
// "first-api-answer" line.
func parseFirstAnswer(t *testing.T, charmLog string) time.Time {
	sc := bufio.NewScanner(strings.NewReader(charmLog))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "first-api-answer "); ok {
			ns, err := strconv.ParseInt(rest, 10, 64)
			require.NoError(t, err)
			return time.Unix(0, ns)
		}
	}
	t.Fatalf("no first-api-answer line in the charm's log:\n%s", charmLog)
	return time.Time{}
}

// engine runs podman with the test's configuration.
type engine struct {
	t   *testing.T
	bin string
	env []string
}

// logs returns a container's output, its stdout and stderr in the order
// they were written.
func (p *engine) logs(container string) string {
	p.t.Helper()
	cmd := exec.Command(p.bin, "logs", container)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	require.NoError(p.t, err, "podman logs %s: %s", container, out)
	return string(out)
}

func (p *engine) run(args ...string) string {
	return p.runTimeout(time.Minute, args...)
}

// runTimeout runs podman and returns its stdout, failing the test if it
// fails or outlasts timeout.
func (p *engine) runTimeout(timeout time.Duration, args ...string) string {
	p.t.Helper()
	out, err := p.output(timeout, args...)
	require.NoError(p.t, err)
	return out
}

func (p *engine) output(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v: %s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// pauseImage is the image podman builds for a pod's infra container when
// it needs one and has none; it is removed after the test unless another
// pod still uses it (podman builds it again when needed).
const pauseImage = "localhost/podman-pause"

func (p *engine) removePauseImage() {
	out := p.run("images", "--format", "{{.Repository}}:{{.Tag}}", pauseImage)
	for _, name := range strings.Fields(out) {
		if _, err := p.output(time.Minute, "rmi", name); err != nil && !strings.Contains(err.Error(), "in use") {
			p.t.Error(err)
		}
	}
}

// removeAll removes the pod, containers, volumes and images of this test,
// including those an aborted run left; it fails the test if any remain.
func (p *engine) removeAll() {
	p.t.Helper()
	// A container restarting while the pod goes can make one removal
	// fail; the next finds it stopped.
	var err error
	for attempt := 0; attempt < 3 && p.podExists(); attempt++ {
		_, err = p.output(time.Minute, "pod", "rm", "--force", "--time", "0", podName)
	}
	if p.podExists() {
		p.t.Errorf("cannot remove pod %s: %v", podName, err)
	}
	for _, kind := range []string{"container", "volume", "image"} {
		for _, name := range p.leftovers(kind) {
			args := []string{kind, "rm", "--force", name}
			if _, err := p.output(time.Minute, args...); err != nil {
				p.t.Error(err)
			}
		}
		if left := p.leftovers(kind); len(left) > 0 {
			p.t.Errorf("cannot remove the test's %ss: %q", kind, left)
		}
	}
}

func (p *engine) podExists() bool {
	_, err := p.output(time.Minute, "pod", "exists", podName)
	return err == nil
}

// leftovers lists the test's containers, volumes or images.
func (p *engine) leftovers(kind string) []string {
	var args []string
	switch kind {
	case "container":
		args = []string{"ps", "--all", "--format", "{{.Names}}"}
	case "volume":
		args = []string{"volume", "ls", "--format", "json"}
	case "image":
		args = []string{"images", "--format", "{{.Repository}}:{{.Tag}}"}
	}
	out, err := p.output(time.Minute, args...)
	if err != nil {
		p.t.Error(err)
		return nil
	}
	var names []string
	if kind == "volume" {
		var vols []struct {
			Name   string
			Labels map[string]string
		}
		if err := json.Unmarshal([]byte(out), &vols); err != nil {
			p.t.Errorf("cannot decode podman's volumes: %v", err)
		}
		for _, v := range vols {
			if strings.HasPrefix(v.Name, podName) {
				names = append(names, v.Name)
			}
		}
		return names
	}
	prefix := map[string]string{"container": podName + "-", "image": imagePrefix}[kind]
	for _, name := range strings.Fields(out) {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names
}
