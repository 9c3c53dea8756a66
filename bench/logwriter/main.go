// Command logwriter is the service of the logs benchmark and of the logs
// end-to-end tests: it writes numbered lines ("<n> xxx...") to stdout, as
// fast as it can for a given time, each line in its own write(2) as a
// line-buffered logger does (or in 64 KiB blocks with -block), or paced at
// -rate lines per second (the lines due every millisecond in one write of
// at most 8 KiB each), then writes how many lines it wrote to the file
// -count.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	duration := flag.Duration("d", 10*time.Second, "how long to write")
	lines := flag.Int("n", 0, "write this many lines instead (with or without -d)")
	size := flag.Int("size", 80, "bytes per line, newline included")
	block := flag.Bool("block", false, "write 64 KiB blocks of lines instead of one line per write")
	rate := flag.Int("rate", 0, "lines per second (0: as fast as possible)")
	gate := flag.String("gate", "", "file to wait for before writing")
	countFile := flag.String("count", "", "file to write the number of lines to")
	flag.Parse()

	if *gate != "" {
		for {
			if _, err := os.Stat(*gate); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w := &writer{pad: make([]byte, max(*size-20, 1))}
	for i := range w.pad {
		w.pad[i] = 'x'
	}
	var n int
	switch {
	case *rate > 0:
		n = w.paced(*rate, *lines, *duration)
	default:
		n = w.flatOut(*lines, *duration, *block)
	}
	if *countFile != "" {
		if err := os.WriteFile(*countFile, []byte(strconv.Itoa(n)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// Stay alive, so the service does not count as exited while the
	// benchmark reads the results.
	for {
		time.Sleep(time.Hour)
	}
}

type writer struct {
	pad []byte
	buf []byte
	n   int
}

// line appends the next line.
func (w *writer) line() {
	w.n++
	w.buf = strconv.AppendInt(w.buf, int64(w.n), 10)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, w.pad...)
	w.buf = append(w.buf, '\n')
}

func (w *writer) flush() {
	if len(w.buf) == 0 {
		return
	}
	if _, err := os.Stdout.Write(w.buf); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w.buf = w.buf[:0]
}

// flatOut writes as fast as it can until lines are written (when not 0)
// or d has passed.
func (w *writer) flatOut(lines int, d time.Duration, block bool) int {
	deadline := time.Now().Add(d)
	for lines == 0 || w.n < lines {
		// The clock is read every 256 lines: cheap, and precise enough.
		if w.n%256 == 0 && time.Now().After(deadline) {
			break
		}
		w.line()
		if !block || len(w.buf) >= 64<<10 {
			w.flush()
		}
	}
	w.flush()
	return w.n
}

// paced writes rate lines per second until lines are written (when not 0)
// or d has passed: every millisecond, the lines due by then.
func (w *writer) paced(rate, lines int, d time.Duration) int {
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for lines == 0 || w.n < lines {
		elapsed := time.Since(start)
		if lines == 0 && elapsed >= d {
			break
		}
		due := int(elapsed.Seconds() * float64(rate))
		if lines > 0 {
			due = min(due, lines)
		}
		for w.n < due {
			w.line()
			if len(w.buf) >= 8<<10 {
				w.flush()
			}
		}
		w.flush()
		<-tick.C
	}
	return w.n
}
