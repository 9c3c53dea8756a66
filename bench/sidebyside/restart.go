package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pebble-project/pebble/client"
)

// stampArg makes this command a restarting service's run instead (see
// runStamp).
const stampArg = "restart-stamp"

// firstRunHold keeps a service's first run alive past the okay delay, so its
// start counts as successful and its later exits are restarted.
const firstRunHold = okayDelay + 500*time.Millisecond

// restartScenario measures the restart gap: a service that exits at once
// with on-success and on-failure restart and a 1 ms backoff, the time from
// one run's exit to the next run's start, read from the monotonic stamps
// the runs themselves append to a file. It reports the first gap and the
// median of cfg.restarts gaps, and the daemon's CPU time per restart; the
// floor is a Go loop that fork+execs the same command and waits.
func (h *harness) restartScenario() error {
	firstName := "restart gap, backoff-delay 1ms, first"
	medianName := fmt.Sprintf("restart gap, backoff-delay 1ms, median of %d", h.cfg.restarts)
	cpuName := "restart, daemon CPU per restart"
	for range h.cfg.rounds {
		for column, bin := range h.daemons() {
			gaps, perRestart, err := h.daemonRestarts(bin)
			if err != nil {
				return err
			}
			h.table.add(firstName, "ms", column, ms(gaps[0]))
			h.table.add(medianName, "ms", column, ms(percentile(gaps, 50)))
			h.table.add(cpuName, "ms", column, ms(perRestart))
		}
		gaps, err := h.floorRestarts()
		if err != nil {
			return err
		}
		h.table.add(firstName, "ms", floor, ms(gaps[0]))
		h.table.add(medianName, "ms", floor, ms(percentile(gaps, 50)))
	}
	return nil
}

// restartingLayer is a layer of one service, name, whose runs append their
// stamps to the file stamps and exit at once (the first after
// firstRunHold), restarted whatever their exit after a 1 ms backoff.
func (h *harness) restartingLayer(name, stamps string) string {
	return fmt.Sprintf(`services:
  %s:
    override: replace
    command: %s %s %s %s
    on-success: restart
    on-failure: restart
    backoff-delay: 1ms
    backoff-factor: 1
`, name, h.targets.self, stampArg, stamps, firstRunHold)
}

func (h *harness) daemonRestarts(bin string) (gaps []time.Duration, perRestart time.Duration, err error) {
	dir, err := os.MkdirTemp(h.work, "restart-")
	if err != nil {
		return nil, 0, fmt.Errorf("cannot create the stamp directory: %w", err)
	}
	stamps := filepath.Join(dir, "stamps")
	s, err := h.startDaemon(bin, h.restartingLayer("flapper", stamps))
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if stopErr := s.stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
		}
	}()
	c, err := client.New(&client.Config{Socket: s.socket})
	if err != nil {
		return nil, 0, err
	}
	opts := &client.ServiceOptions{Names: []string{"flapper"}}
	if _, err := timeChange(c, c.Start, opts); err != nil {
		return nil, 0, fmt.Errorf("%s: start the restarting service: %w", bin, err)
	}
	// The daemon's CPU time per restart is taken over the restarts after
	// the held first run.
	first, err := awaitRuns(stamps, 2)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", bin, err)
	}
	cpu0, err := s.cpu()
	if err != nil {
		return nil, 0, err
	}
	last, err := awaitRuns(stamps, first+h.cfg.restarts)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", bin, err)
	}
	cpu1, err := s.cpu()
	if err != nil {
		return nil, 0, err
	}
	perRestart = (cpu1 - cpu0) / time.Duration(last-first)
	if _, err := timeChange(c, c.Stop, opts); err != nil {
		return nil, 0, fmt.Errorf("%s: stop the restarting service: %w", bin, err)
	}
	starts, exits, err := readStamps(stamps)
	if err != nil {
		return nil, 0, err
	}
	gaps, err = stampGaps(starts, exits, h.cfg.restarts)
	return gaps, perRestart, err
}

// floorRestarts runs the same command cfg.restarts+1 times in a row.
func (h *harness) floorRestarts() ([]time.Duration, error) {
	dir, err := os.MkdirTemp(h.work, "restart-floor-")
	if err != nil {
		return nil, fmt.Errorf("cannot create the stamp directory: %w", err)
	}
	stamps := filepath.Join(dir, "stamps")
	for range h.cfg.restarts + 1 {
		cmd := exec.Command(h.targets.self, stampArg, stamps, "0s")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("cannot run the stamp command: %w", err)
		}
	}
	starts, exits, err := readStamps(stamps)
	if err != nil {
		return nil, err
	}
	return stampGaps(starts, exits, h.cfg.restarts)
}

// stampGaps returns the first n gaps from one run's exit to the next run's
// start.
func stampGaps(starts, exits []time.Duration, n int) ([]time.Duration, error) {
	if len(starts) <= n || len(exits) < n {
		return nil, fmt.Errorf("cannot measure %d restart gaps from %d starts and %d exits", n, len(starts), len(exits))
	}
	gaps := make([]time.Duration, n)
	for i := range gaps {
		gaps[i] = starts[i+1] - exits[i]
	}
	return gaps, nil
}

// readStamps reads the "start <ns>" and "exit <ns>" lines runStamp appends;
// a missing file means no run yet.
func readStamps(path string) (starts, exits []time.Duration, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the stamps: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, value, ok := strings.Cut(sc.Text(), " ")
		ns, convErr := strconv.ParseInt(value, 10, 64)
		if !ok || convErr != nil || (kind != "start" && kind != "exit") {
			return nil, nil, fmt.Errorf("cannot read the stamps: bad line %q in %s", sc.Text(), path)
		}
		if kind == "start" {
			starts = append(starts, time.Duration(ns))
		} else {
			exits = append(exits, time.Duration(ns))
		}
	}
	return starts, exits, sc.Err()
}

// runStamp is one run of the restarting service: it appends its start's
// monotonic time to the stamp file, holds the first run for the given
// duration, and appends its exit's time just before exiting.
func runStamp(args []string) {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "restart-stamp: want a stamp file and a first-run hold")
		os.Exit(2)
	}
	path := args[0]
	hold, err := time.ParseDuration(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart-stamp: cannot read the hold:", err)
		os.Exit(2)
	}
	start := monotonic()
	_, statErr := os.Stat(path)
	first := errors.Is(statErr, os.ErrNotExist)
	appendStamp(path, "start", start)
	if first && hold > 0 {
		time.Sleep(hold)
	}
	appendStamp(path, "exit", monotonic())
}

func monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fmt.Fprintln(os.Stderr, "restart-stamp: cannot read the clock:", err)
		os.Exit(1)
	}
	return time.Duration(ts.Nano())
}

func appendStamp(path, kind string, t time.Duration) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s %d\n", kind, int64(t))
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart-stamp: cannot write the stamp:", err)
		os.Exit(1)
	}
}
