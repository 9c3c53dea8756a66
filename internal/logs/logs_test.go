package logs

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 20, 1, 41, 32, 866_999_999, time.UTC)

func fixedWriter(service string, buf *Buffer, m *Mirror) *Writer {
	w := NewWriter(service, buf, m)
	tick := 0
	w.now = func() time.Time {
		tick++
		return t0.Add(time.Duration(tick-1) * time.Second).In(time.FixedZone("X", 3600))
	}
	return w
}

func contents(b *Buffer) string {
	data, _ := b.snapshot()
	return string(data)
}

func TestWriterFormat(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("srv1", buf, nil)
	io.WriteString(w, "Log 0 from srv1\nsecond")
	io.WriteString(w, " half\n\nthird\n")
	want := "2026-01-20T01:41:32.866Z [srv1] Log 0 from srv1\n" +
		"2026-01-20T01:41:32.866Z [srv1] second half\n" +
		"2026-01-20T01:41:33.866Z [srv1] \n" +
		"2026-01-20T01:41:33.866Z [srv1] third\n"
	assert.Equal(t, want, contents(buf))
}

func TestRingWraps(t *testing.T) {
	buf := NewBuffer(10)
	buf.Write([]byte("0123456"))
	buf.Write([]byte("789abc"))
	assert.Equal(t, "3456789abc", contents(buf))
	buf.Write([]byte(strings.Repeat("x", 25) + "END"))
	assert.Equal(t, "xxxxxxxEND", contents(buf))
}

func TestIterator(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(-1)
	_, ok := it.Next()
	assert.False(t, ok)
	written := make(chan struct{}, 1)
	defer buf.Watch(written)()
	io.WriteString(w, "one\ntw")
	select {
	case <-written:
	default:
		t.Fatal("watcher not woken by a write")
	}
	e, ok := it.Next()
	require.True(t, ok)
	assert.Equal(t, Entry{Time: t0.Truncate(time.Millisecond), Service: "svc", Message: "one"}, e)
	_, ok = it.Next()
	assert.False(t, ok, "partial line returned")
	io.WriteString(w, "o\n")
	e, ok = it.Next()
	require.True(t, ok)
	assert.Equal(t, "two", e.Message)
	_, cutBytes := it.Truncated()
	assert.Zero(t, cutBytes)

	// New iterators positioned by count.
	io.WriteString(w, "three\nfour\n")
	var got []string
	for it := buf.NewIterator(2); ; {
		e, ok := it.Next()
		if !ok {
			break
		}
		got = append(got, e.Message)
	}
	assert.Equal(t, []string{"three", "four"}, got)
	_, ok = buf.NewIterator(0).Next()
	assert.False(t, ok)
}

func TestIteratorLongLine(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	long := strings.Repeat("a", MaxEntrySize) + strings.Repeat("b", MaxEntrySize) + "cc"
	io.WriteString(w, long+"\nafter\n")
	it := buf.NewIterator(-1)
	var msgs []string
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		assert.Equal(t, "svc", e.Service)
		msgs = append(msgs, e.Message)
	}
	assert.Equal(t, []string{strings.Repeat("a", MaxEntrySize), strings.Repeat("b", MaxEntrySize), "cc", "after"}, msgs)
}

func TestIteratorTruncation(t *testing.T) {
	buf := NewBuffer(200)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(-1)
	io.WriteString(w, "first\n")
	e, ok := it.Next()
	require.True(t, ok)
	assert.Equal(t, "first", e.Message)
	for i := range 20 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	// Every line is either received whole or counted as lost, exactly;
	// the rest of a line whose start was lost counts as lost.
	var whole []string
	var lostLines uint64
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		lines, cut := it.Truncated()
		lostLines += lines
		if cut > 0 {
			assert.Equal(t, it.Lost(), cut)
		}
		if regexp.MustCompile(`^line \d+$`).MatchString(e.Message) {
			whole = append(whole, e.Message)
		}
	}
	lines, cut := it.Truncated()
	assert.Zero(t, lines+cut, "counts not cleared")
	require.NotEmpty(t, whole)
	assert.Equal(t, 20, len(whole)+int(lostLines))
	assert.Equal(t, fmt.Sprintf("line %d", lostLines), whole[0])
	assert.Equal(t, "line 19", whole[len(whole)-1])
}

func TestLastLines(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	lines, cut := buf.LastLines(20)
	assert.Nil(t, lines)
	assert.False(t, cut)
	io.WriteString(w, "a\nb\nc")
	lines, cut = buf.LastLines(20)
	assert.Equal(t, []string{"a", "b", "c"}, lines)
	assert.False(t, cut)
	lines, cut = buf.LastLines(2)
	assert.Equal(t, []string{"b", "c"}, lines)
	assert.True(t, cut)

	small := NewBuffer(100)
	w = fixedWriter("svc", small, nil)
	for i := range 10 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	lines, cut = small.LastLines(20)
	assert.True(t, cut)
	assert.Equal(t, "line 9", lines[len(lines)-1])
	for _, l := range lines {
		assert.Regexp(t, `^line \d$`, l)
	}
}

// TestHugeOutput writes megabytes, binary garbage and a 1 MiB line without
// a newline: the buffer stays at its size and readers still work.
func TestHugeOutput(t *testing.T) {
	buf := NewBuffer(0)
	w := NewWriter("svc", buf, nil)
	garbage := make([]byte, 64*1024)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	for range 32 {
		w.Write(garbage)
	}
	w.Write(bytes.Repeat([]byte("x"), 1<<20))
	lines, cut := buf.LastLines(20)
	assert.True(t, cut)
	require.NotEmpty(t, lines)
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], ContinuedMarker+"xxx"), "a continuation of the long line")
	io.WriteString(w, "\nfinal\n")
	assert.Equal(t, DefaultBufferSize, len(buf.data))
	assert.Equal(t, DefaultBufferSize, cap(buf.data))
	lines, cut = buf.LastLines(1)
	assert.True(t, cut)
	assert.Equal(t, []string{"final"}, lines)
	it := buf.NewIterator(-1)
	var last Entry
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		last = e
	}
	assert.Equal(t, "final", last.Message)
}

// gateWriter holds every Write until the gate is open, and records what
// was written.
type gateWriter struct {
	gate chan struct{}
	syncBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.gate
	return g.syncBuffer.Write(p)
}

// TestMirrorBackPressure: while stdout takes nothing, a service flooding
// its pipe is held in its own write(2) once its lane and pipe are full,
// with the daemon's memory bounded by the lane; when stdout takes output
// again every line comes out once and in order, and another service's
// lines are not held up behind the flood.
func TestMirrorBackPressure(t *testing.T) {
	out := &gateWriter{gate: make(chan struct{})}
	m := NewMirror(out, 4096)
	flood := fixedWriter("flood", NewBuffer(0), m)
	other := fixedWriter("other", NewBuffer(0), m)
	pipe, child, err := flood.NewPipe()
	require.NoError(t, err)
	pipe.Start()
	const lines = 50000
	wrote := make(chan int, lines)
	go func() {
		defer child.Close()
		for i := range lines {
			fmt.Fprintf(child, "%06d\n", i)
			wrote <- i
		}
	}()
	// The writer gets stuck: the lane holds ~4 KiB, the pipe its size.
	testutilWaitStuck(t, wrote)
	m.mu.Lock()
	held := 0
	for _, l := range m.ready {
		held += len(l.pending)
	}
	m.mu.Unlock()
	assert.Less(t, held, 4096+readSize+readSize/7*32, "the lane is bounded by its size and one read")

	io.WriteString(other, "hello\n")
	close(out.gate)
	pipe.Finish(time.Minute)
	m.Close()
	assert.Zero(t, m.Dropped())

	text := out.String()
	got := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	next, otherAt := 0, -1
	for i, line := range got {
		_, svc, msg, ok := parsePrefix([]byte(line))
		require.True(t, ok, line)
		if string(svc) == "other" {
			otherAt = i
			continue
		}
		require.Equal(t, fmt.Sprintf("%06d", next), string(msg), "line %d", i)
		next++
	}
	assert.Equal(t, lines, next)
	assert.GreaterOrEqual(t, otherAt, 0)
	assert.Less(t, otherAt, len(got)/2, "the other service waited for the flood")
}

// testutilWaitStuck waits until the writer reporting on wrote makes no
// progress for a while: it is blocked in write(2).
func testutilWaitStuck(t *testing.T, wrote <-chan int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-wrote:
		case <-time.After(200 * time.Millisecond):
			return
		case <-deadline:
			t.Fatal("the writer never blocked")
		}
	}
}

func TestMirrorCopiesEverything(t *testing.T) {
	var out syncBuffer
	m := NewMirror(&out, 0)
	w := fixedWriter("a", NewBuffer(0), m)
	io.WriteString(w, "x\ny")
	io.WriteString(w, "z\n")
	m.Close()
	assert.Equal(t, "2026-01-20T01:41:32.866Z [a] x\n2026-01-20T01:41:32.866Z [a] yz\n", out.String())
	assert.Zero(t, m.Dropped())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIteratorOverrunInLongLine: a reader that falls behind inside a line
// longer than the buffer keeps reading that line where the buffer now
// starts, and every byte is either returned or counted as cut.
func TestIteratorOverrunInLongLine(t *testing.T) {
	buf := NewBuffer(3 * MaxEntrySize)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(0)
	io.WriteString(w, "begin ")
	got := 0
	e, ok := it.Next()
	require.False(t, ok, "partial line returned")
	var cut uint64
	for i := range 60 {
		io.WriteString(w, strings.Repeat(string(rune('a'+i%26)), 1000))
		if i%20 != 19 {
			continue
		}
		for {
			if e, ok = it.Next(); !ok {
				break
			}
			_, c := it.Truncated()
			cut += c
			assert.Equal(t, "svc", e.Service)
			got += len(e.Message)
		}
	}
	io.WriteString(w, " end\n")
	last := ""
	for {
		if e, ok = it.Next(); !ok {
			break
		}
		_, c := it.Truncated()
		cut += c
		got += len(e.Message)
		last = e.Message
	}
	assert.True(t, strings.HasSuffix(last, " end"), last)
	assert.Equal(t, len("begin ")+60000+len(" end"), got+int(cut))
	assert.Greater(t, got, 20000, "the rest of the line was skipped")
	assert.Equal(t, cut, it.Lost())
}

// TestIteratorPartialLine: a line left without its newline is returned once
// the writer has been idle for PartialLineWait (the watchers are woken
// then), and the rest of the line comes as the next entry.
func TestIteratorPartialLine(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(0)
	wake := make(chan struct{}, 1)
	defer buf.Watch(wake)()
	start := time.Now()
	io.WriteString(w, "prompt> ")
	<-wake // the write
	for {
		if e, ok := it.Next(); ok {
			assert.Equal(t, "prompt> ", e.Message)
			assert.GreaterOrEqual(t, time.Since(start), PartialLineWait)
			break
		}
		<-wake // the partial line is due
	}
	io.WriteString(w, "yes\n")
	e, ok := it.Next()
	require.True(t, ok)
	assert.Equal(t, "yes", e.Message)

	// A line ended only by EndLine, after it was returned, gives no empty
	// entry.
	io.WriteString(w, "last")
	for {
		if e, ok = it.Next(); ok {
			break
		}
		<-wake
	}
	assert.Equal(t, "last", e.Message)
	w.EndLine()
	w.EndLine() // at the start of a line: nothing
	io.WriteString(w, "next\n")
	e, ok = it.Next()
	require.True(t, ok)
	assert.Equal(t, "next", e.Message)
	_, ok = it.Next()
	assert.False(t, ok)
	lines, _ := buf.LastLines(-1)
	assert.Equal(t, []string{"prompt> yes", "last", "next"}, lines)
}
