// Command logwriter is the service of the logs benchmark: it writes
// numbered lines to stdout as fast as it can for a given time, each line
// in its own write(2) as a line-buffered logger does (or in 64 KiB blocks
// with -block), then writes how many lines it wrote to the file -count.
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
	size := flag.Int("size", 80, "bytes per line, newline included")
	block := flag.Bool("block", false, "write 64 KiB blocks of lines instead of one line per write")
	countFile := flag.String("count", "", "file to write the number of lines to")
	flag.Parse()

	pad := make([]byte, max(*size-20, 1))
	for i := range pad {
		pad[i] = 'x'
	}
	var buf []byte
	n := 0
	deadline := time.Now().Add(*duration)
	for {
		// The clock is read every 256 lines: cheap, and precise enough.
		if n%256 == 0 && time.Now().After(deadline) {
			break
		}
		n++
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, ' ')
		buf = append(buf, pad...)
		buf = append(buf, '\n')
		if !*block || len(buf) >= 64<<10 {
			if _, err := os.Stdout.Write(buf); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		os.Stdout.Write(buf)
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
