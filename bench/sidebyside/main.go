// Command sidebyside measures our pebble, Canonical's Pebble v1.32.1 (built
// from the Go module proxy, never a dependency of our go.mod) and the floor
// (the least any supervisor could spend on the same work) one after the
// other in the same run, and prints a table of medians, min–max and ratios.
// `make bench` runs it; run it alone with `go run ./bench/sidebyside`.
//
// Every scenario runs -rounds times (3 by default); in each round the three
// targets take turns, so machine noise falls on all of them alike. All
// servers listen on UNIX sockets in temporary directories that are removed
// at the end, and every process started is stopped and waited for.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/realpebble"
)

// pebbleVersion is the Canonical release we compare with.
const pebbleVersion = "v1.32.1"

// config is what the command line chooses.
type config struct {
	rounds    int
	latencyN  int
	rpsWindow time.Duration
	execRuns  int
	restarts  int
	fileMiB   int
	// profileDir, when set, is where our daemon (built with -tags pprof)
	// writes its CPU, heap, block and mutex profiles.
	profileDir string
	// loadWindow is how long each load measurement lasts.
	loadWindow time.Duration
	// big adds the 1000-service scenarios.
	big bool
	// noPebble leaves Canonical's Pebble out (a quicker look at ours).
	noPebble bool
	only     []string
	counts   []int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == floorServerArg {
		runFloorServer(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == stampArg {
		runStamp(os.Args[2:])
		return
	}
	cfg := config{counts: []int{10, 100}}
	flag.IntVar(&cfg.rounds, "rounds", 3, "times each scenario runs; the table shows the median")
	flag.IntVar(&cfg.latencyN, "requests", 200, "sequential requests per latency measurement")
	flag.DurationVar(&cfg.rpsWindow, "rps-window", time.Second, "how long each throughput measurement lasts")
	flag.IntVar(&cfg.execRuns, "exec-runs", 200, "exec runs per measurement")
	flag.IntVar(&cfg.restarts, "restarts", 10, "restart gaps measured per restart-gap measurement")
	flag.IntVar(&cfg.fileMiB, "file-mib", 64, "size in MiB of the file pushed and pulled")
	flag.DurationVar(&cfg.loadWindow, "load-window", 5*time.Second, "how long each load measurement (flood, mixed, crash loop) lasts")
	flag.BoolVar(&cfg.big, "services-1000", false, "also start and stop 1000 services, and the flood scenario (one round: Pebble takes about 30 s a phase)")
	flag.StringVar(&cfg.profileDir, "profile", "", "directory where our daemon writes cpu/heap/block/mutex profiles (one set per daemon run; go tool pprof merges them)")
	flag.BoolVar(&cfg.noPebble, "no-pebble", false, "measure only ours and the floor (a quicker look while optimising)")
	only := flag.String("only", "", "comma-separated scenarios to run (api, startstop, exec, execcli, restart, files, idle, flood, mixed, crashloop); all when empty")
	flag.Parse()
	if cfg.big {
		cfg.counts = append(cfg.counts, bigCount)
	}
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
	}
	if cfg.rounds < 1 || cfg.latencyN < 1 || cfg.execRuns < 4 || cfg.rpsWindow <= 0 || cfg.loadWindow <= 0 || cfg.restarts < 1 || cfg.fileMiB < 1 {
		fmt.Fprintln(os.Stderr, "sidebyside: -rounds, -requests, -restarts and -file-mib must be at least 1, -exec-runs at least 4, -rps-window and -load-window positive")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	work, err := os.MkdirTemp("", "pebble-sidebyside-")
	if err != nil {
		return fmt.Errorf("cannot create the work directory: %w", err)
	}
	defer os.RemoveAll(work)
	targets, err := buildTargets(work, cfg.profileDir != "")
	if err != nil {
		return err
	}
	t := &table{}
	scenarios := []struct {
		name string
		run  func(*harness) error
	}{
		{"api", func(h *harness) error { return h.apiScenarios("/v1/services") }},
		{"api", func(h *harness) error { return h.apiScenarios("/v1/system-info") }},
		{"api", func(h *harness) error { return h.apiScenarios("/v1/health") }},
		{"startstop", func(h *harness) error { return h.startStopScenarios() }},
		{"exec", func(h *harness) error { return h.execScenario() }},
		{"execcli", func(h *harness) error { return h.execCLIScenario() }},
		{"restart", func(h *harness) error { return h.restartScenario() }},
		{"files", func(h *harness) error { return h.filesScenario() }},
		{"idle", func(h *harness) error { return h.idleScenarios() }},
		{"mixed", func(h *harness) error { return h.mixedScenario() }},
		{"crashloop", func(h *harness) error { return h.crashLoopScenario() }},
		{"flood", func(h *harness) error { return h.floodScenario() }},
	}
	h := &harness{cfg: cfg, targets: targets, work: work, table: t}
	for _, s := range scenarios {
		if len(cfg.only) > 0 && !slices.Contains(cfg.only, s.name) {
			continue
		}
		if err := s.run(h); err != nil {
			t.print(os.Stdout)
			return err
		}
	}
	t.print(os.Stdout)
	return nil
}

// targets are the binaries measured: ours, built from this tree, and
// Canonical's, built from the module proxy; the floor server is this
// command itself.
type targets struct {
	ours, pebble, self string
}

func buildTargets(work string, profiled bool) (targets, error) {
	ours := filepath.Join(work, "pebble-ours")
	build := exec.Command("go", "build", "-o", ours, "./cmd/pebble")
	if profiled {
		build.Args = append(build.Args[:2], "-tags", "pprof", "-o", ours, "./cmd/pebble")
	}
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return targets{}, fmt.Errorf("cannot build our pebble (run from the repository root): %v: %s", err, out)
	}
	start := time.Now()
	pebble, built, err := realpebble.Binary(pebbleVersion)
	if err != nil {
		return targets{}, err
	}
	if built {
		fmt.Fprintf(os.Stderr, "built Canonical's Pebble %s in %v\n", pebbleVersion, time.Since(start).Round(time.Second))
	}
	self, err := os.Executable()
	if err != nil {
		return targets{}, fmt.Errorf("cannot find this command's executable: %w", err)
	}
	return targets{ours: ours, pebble: pebble, self: self}, nil
}
