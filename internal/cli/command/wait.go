package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/pebble-project/pebble/client"
)

// NoWaitFlag adds --no-wait to fs, stored in *p.
func NoWaitFlag(fs *FlagSet, p *bool) {
	fs.Bool(p, 0, "no-wait", "Print the change ID and return at once, without waiting for the change to finish")
}

// waitChange waits for the change to be ready, polling it every e.Poll
// (cli.md §1.2). While it waits it prints new log lines of running tasks to
// stdout and, on a terminal, a spinner. If ctx ends or the user presses
// Ctrl-C, it asks the daemon to abort the change and keeps waiting for it to
// finish. It returns an error unless the change ends Done.
func (e *Env) WaitChange(ctx context.Context, cli *client.Client, id string) (*client.Change, error) {
	interrupted, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	// Requests must outlive an interrupt: after it, the wait goes on.
	reqCtx := context.WithoutCancel(ctx)

	sp := &spinner{e: e}
	defer sp.clear()

	aborted := false
	seen := map[string][]string{} // task ID to the log lines already printed
	var goneSince time.Time
	ticker := time.NewTicker(e.Poll)
	defer ticker.Stop()
	for {
		// The client retries a GET while the daemon is unreachable; stop
		// that once the daemon has been gone for maxGone.
		start := time.Now()
		deadline := start.Add(e.MaxGone)
		if !goneSince.IsZero() {
			deadline = goneSince.Add(e.MaxGone)
		}
		pollCtx, cancel := context.WithDeadline(reqCtx, deadline)
		chg, err := cli.Change(pollCtx, id)
		cancel()
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr):
			return nil, err
		case err != nil:
			// Most likely the daemon went away, perhaps to restart.
			if goneSince.IsZero() {
				goneSince = start
			}
			if time.Since(goneSince) >= e.MaxGone {
				return nil, err
			}
			sp.spin("Waiting for server to restart")
		default:
			goneSince = time.Time{}
			for _, t := range chg.Tasks {
				if t.Status != "Doing" {
					continue
				}
				for _, line := range newLines(seen[t.ID], t.Log) {
					sp.println(line)
				}
				seen[t.ID] = t.Log
				sp.spin(t.Summary)
			}
			if chg.Ready {
				switch {
				case chg.Status == "Done":
					return chg, nil
				case chg.Err != "":
					return chg, errors.New(chg.Err)
				}
				return nil, fmt.Errorf("change finished in status %q with no error message", chg.Status)
			}
		}

		select {
		case <-ticker.C:
		case <-interrupted.Done():
			if !aborted {
				aborted = true
				if _, err := cli.Abort(reqCtx, id); err != nil {
					fmt.Fprintln(e.Stderr, err)
				}
			}
			<-ticker.C
		}
	}
}

// newLines returns the lines of now that come after the lines of before.
// Task logs keep only their last entries, so before's last line is looked
// up in now rather than counted.
func newLines(before, now []string) []string {
	if len(before) == 0 {
		return now
	}
	last := before[len(before)-1]
	for i := len(now) - 1; i >= 0; i-- {
		if now[i] == last && slices.Equal(tail(before, i+1), now[:i+1]) {
			return now[i+1:]
		}
	}
	return now
}

// tail returns the last n elements of s (all of s if shorter).
func tail(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// spinner shows progress on a terminal, and nothing elsewhere.
type spinner struct {
	e     *Env
	frame int
	shown bool
}

const spinnerFrames = `|/-\`

func (s *spinner) spin(label string) {
	if !s.e.TTY {
		return
	}
	fmt.Fprintf(s.e.Stdout, "\r\033[K%c %s", spinnerFrames[s.frame%len(spinnerFrames)], label)
	s.frame++
	s.shown = true
}

// println prints a line, above the spinner if it is showing.
func (s *spinner) println(line string) {
	s.clear()
	fmt.Fprintln(s.e.Stdout, line)
}

func (s *spinner) clear() {
	if s.shown {
		fmt.Fprint(s.e.Stdout, "\r\033[K")
		s.shown = false
	}
}
