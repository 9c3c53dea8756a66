package logs

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
)

// numberedBlock returns 64 KiB of numbered 100-byte lines, as
// bench/logwriter writes them, and how many lines that is.
func numberedBlock() ([]byte, int) {
	var block []byte
	n := 0
	for len(block)+100 <= 64<<10 {
		n++
		start := len(block)
		block = strconv.AppendInt(block, int64(n), 10)
		block = append(block, ' ')
		for len(block) < start+99 {
			block = append(block, 'x')
		}
		block = append(block, '\n')
	}
	return block, n
}

// countingSink counts the lines it is given and signals each time the
// count reaches another step of perStep lines, the first after first.
type countingSink struct {
	lines, next, perStep int
	reached              chan struct{}
	following            chan struct{} // closed at the first Flush
}

func (s *countingSink) Write(p []byte) error {
	s.lines += bytes.Count(p, newline)
	for s.lines >= s.next {
		s.next += s.perStep
		s.reached <- struct{}{}
	}
	return nil
}

func (s *countingSink) Flush() error {
	select {
	case <-s.following:
	default:
		close(s.following)
	}
	return nil
}

// BenchmarkFollow: a follower of one service (the /v1/logs follow path,
// JSON encoding included) takes each 64 KiB write of 100-byte lines before
// the next one is made. Reported per line.
func BenchmarkFollow(b *testing.B) {
	block, lines := numberedBlock()
	buf := NewBuffer(0)
	w := NewWriter("w", buf, nil)
	sink := &countingSink{next: 1, perStep: lines, reached: make(chan struct{}), following: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Stream(ctx, []*Buffer{buf}, StreamOptions{Follow: true}, sink) }()
	<-sink.following
	io.WriteString(w, "start\n")
	<-sink.reached
	b.SetBytes(int64(len(block)))
	b.ResetTimer()
	for range b.N {
		w.Write(block)
		<-sink.reached
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// stepWriter is an io.Writer that counts the lines written to it and
// signals each time the count reaches another step of perStep lines.
type stepWriter struct {
	lines, next, perStep int
	reached              chan struct{}
}

func (s *stepWriter) Write(p []byte) (int, error) {
	s.lines += bytes.Count(p, newline)
	for s.lines >= s.next {
		s.next += s.perStep
		s.reached <- struct{}{}
	}
	return len(p), nil
}

// BenchmarkMirror: the daemon's stdout path in verbose mode, from a
// service's write of 64 KiB of 100-byte lines to the Mirror's writes, each
// write taken before the next is made. Reported per line.
func BenchmarkMirror(b *testing.B) {
	block, lines := numberedBlock()
	out := &stepWriter{next: lines, perStep: lines, reached: make(chan struct{})}
	m := NewMirror(out, 0)
	defer m.Close()
	w := NewWriter("w", NewBuffer(0), m)
	b.SetBytes(int64(len(block)))
	for range b.N {
		w.Write(block)
		<-out.reached
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
