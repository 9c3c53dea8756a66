package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func drain(it interface{ Next() (Entry, bool) }) []Entry {
	var out []Entry
	for {
		e, ok := it.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

func messages(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Service + ":" + e.Message
	}
	return out
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-01-20T01:41:32.866Z", "1999-12-31T23:59:59.999Z", "2024-02-29T00:00:00.000Z"} {
		want, err := time.Parse(TimeLayout, s)
		require.NoError(t, err)
		got, ok := parseTime([]byte(s))
		require.True(t, ok, s)
		assert.True(t, want.Equal(got), "%s: %v != %v", s, got, want)
	}
	for _, s := range []string{"", "2026-01-20T01:41:32.866", "2026-13-20T01:41:32.866Z", "2026-01-20T01:41:32.8a6Z", "2026-01-20 01:41:32.866Z"} {
		_, ok := parseTime([]byte(s))
		assert.False(t, ok, s)
	}
}

func TestIteratorNewOnlySkipsLineInProgress(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	io.WriteString(w, "old\nhalf")
	it := buf.NewIterator(0)
	io.WriteString(w, " done\nnew\n")
	assert.Equal(t, []string{"svc:new"}, messages(drain(it)))
}

func TestIteratorStopHere(t *testing.T) {
	buf := NewBuffer(0)
	w := fixedWriter("svc", buf, nil)
	io.WriteString(w, "a\nb\npart")
	it := buf.NewIterator(-1)
	it.StopHere()
	io.WriteString(w, "ial\nc\n")
	assert.Equal(t, []string{"svc:a", "svc:b"}, messages(drain(it)))
	it.Unstop()
	assert.Equal(t, []string{"svc:partial", "svc:c"}, messages(drain(it)))
}

func TestIteratorLost(t *testing.T) {
	buf := NewBuffer(100)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(-1)
	assert.Zero(t, it.Lost())
	for i := range 10 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	es := drain(it)
	require.NotEmpty(t, es)
	assert.Equal(t, "line 9", es[len(es)-1].Message)
	// 10 lines of 38 bytes were written into 100 bytes: 280 were
	// overwritten, and the 24 that remain of the line they cut are read
	// back without what is left of its prefix.
	assert.Equal(t, uint64(380-100), it.Lost())
	assert.Equal(t, "line 7", es[0].Message)
}

// TestIteratorSplitPrefix feeds a line byte by byte: the prefix and the
// message arrive in pieces.
func TestIteratorSplitPrefix(t *testing.T) {
	buf := NewBuffer(0)
	it := buf.NewIterator(-1)
	line := "2026-01-20T01:41:32.866Z [svc] hello\n"
	for i := range len(line) - 1 {
		buf.Write([]byte{line[i]})
		_, ok := it.Next()
		require.False(t, ok, "entry after %d bytes", i+1)
	}
	buf.Write([]byte("\n"))
	e, ok := it.Next()
	require.True(t, ok)
	assert.Equal(t, Entry{Time: t0.Truncate(time.Millisecond), Service: "svc", Message: "hello"}, e)
}

func TestIteratorForeignLines(t *testing.T) {
	buf := NewBuffer(0)
	buf.Write([]byte("no prefix here\n2026-01-20T01:41:32.866Z [a] ok\n"))
	es := drain(buf.NewIterator(-1))
	require.Len(t, es, 2)
	assert.True(t, es[0].Time.IsZero())
	assert.Equal(t, ":no prefix here", es[0].Service+":"+es[0].Message)
	assert.Equal(t, "a:ok", es[1].Service+":"+es[1].Message)
}

func TestWatch(t *testing.T) {
	a, b := NewBuffer(0), NewBuffer(0)
	ch := make(chan struct{}, 1)
	stopA := a.Watch(ch)
	stopB := b.Watch(ch)
	b.Write([]byte("x"))
	a.Write([]byte("y")) // coalesces with the first wake-up
	select {
	case <-ch:
	default:
		t.Fatal("no wake-up")
	}
	select {
	case <-ch:
		t.Fatal("wake-ups did not coalesce")
	default:
	}
	stopA()
	stopB()
	a.Write([]byte("z"))
	select {
	case <-ch:
		t.Fatal("wake-up after unwatch")
	default:
	}
	assert.Empty(t, a.watchers)
}

func TestMerger(t *testing.T) {
	a, b := NewBuffer(0), NewBuffer(0)
	wa, wb := fixedWriter("a", a, nil), fixedWriter("b", b, nil)
	// Times: each writer call advances its clock by a second.
	io.WriteString(wa, "a0\n") // t0
	io.WriteString(wa, "a1\n") // t0+1s
	io.WriteString(wb, "b0\n") // t0
	io.WriteString(wa, "a2\n") // t0+2s
	io.WriteString(wb, "b1\n") // t0+1s
	m := NewMerger(a.NewIterator(-1), b.NewIterator(-1))
	assert.Equal(t, []string{"a:a0", "b:b0", "a:a1", "b:b1", "a:a2"}, messages(drain(m)))
}

func TestMergerMarkers(t *testing.T) {
	buf := NewBuffer(100)
	w := fixedWriter("svc", buf, nil)
	it := buf.NewIterator(-1)
	io.WriteString(w, "first\n")
	m := NewMerger(it)
	m.Markers = true
	assert.Equal(t, []string{"svc:first"}, messages(drain(m)))
	for i := range 10 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	es := drain(m)
	require.Greater(t, len(es), 1)
	assert.Regexp(t, `^\(\.\.\. output truncated: \d+ lines? \(\d+ bytes\) lost \.\.\.\)$`, es[0].Message)
	assert.Equal(t, es[1].Time, es[0].Time)
	assert.Equal(t, "line 9", es[len(es)-1].Message)
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	samples := []string{"", "plain", `<a href="x">&amp;</a>`, "tab\there\r\n\b\f\x00\x1f\x7f", "é ü 😀 \u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "\\ back\\slash"}
	for range 200 {
		b := make([]byte, r.IntN(50))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		samples = append(samples, string(b))
	}
	// Mostly plain text, for the runs read 8 bytes at a time.
	for range 300 {
		b := make([]byte, r.IntN(100))
		for i := range b {
			b[i] = byte(' ' + r.IntN(95))
			if r.IntN(30) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		samples = append(samples, string(b))
	}
	for _, msg := range samples {
		e := Entry{Time: t0, Service: "svc<1>", Message: msg}
		got := AppendJSON(nil, e, 0)
		header := appendJSONHeader(nil, e.Time, e.Service)
		assert.Equal(t, string(got), string(appendJSONLine(header, header, []byte(msg), 0)), "message %q as bytes", msg)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(struct {
			Time    time.Time `json:"time"`
			Service string    `json:"service"`
			Message string    `json:"message"`
		}{e.Time.UTC(), e.Service, e.Message}))
		assert.Equal(t, want.String(), string(got), "message %q", msg)
	}
}

func TestAppendJSONSplitsLongLines(t *testing.T) {
	cases := map[string]string{
		"binary":  strings.Repeat("\x01\xff", MaxEntrySize/2),
		"quotes":  strings.Repeat(`"`, MaxEntrySize),
		"emoji":   strings.Repeat("😀", MaxEntrySize/4),
		"plain":   strings.Repeat("x", MaxEntrySize),
		"escapes": strings.Repeat("a\u2028", MaxEntrySize/4),
	}
	for name, msg := range cases {
		t.Run(name, func(t *testing.T) {
			out := AppendJSON(nil, Entry{Time: t0, Service: "svc", Message: msg}, 0)
			var joined strings.Builder
			lines := strings.SplitAfter(string(out), "\n")
			require.Equal(t, "", lines[len(lines)-1])
			for _, line := range lines[:len(lines)-1] {
				assert.LessOrEqual(t, len(line), MaxJSONLine)
				var v struct{ Time, Service, Message string }
				require.NoError(t, json.Unmarshal([]byte(line), &v))
				assert.Equal(t, "svc", v.Service)
				assert.Equal(t, "2026-01-20T01:41:32.866999999Z", v.Time)
				joined.WriteString(v.Message)
			}
			want := []rune{}
			for _, r := range msg {
				want = append(want, r)
			}
			assert.Equal(t, string(want), joined.String())
		})
	}
}

// TestIteratorCountsLostLines writes numbered lines of random lengths in
// random chunks into small buffers and reads at random moments: each line
// is received whole or counted as lost, exactly once, in order; the rest
// of a line whose start was lost counts as lost.
func TestIteratorCountsLostLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	whole := regexp.MustCompile(`^L(\d{6})-x*$`)
	for round := range 200 {
		buf := NewBuffer(256 + rng.IntN(4096))
		w := fixedWriter("svc", buf, nil)
		it := buf.NewIterator(0)
		var out bytes.Buffer
		const lines = 400
		for i := range lines {
			fmt.Fprintf(&out, "L%06d-%s\n", i, strings.Repeat("x", rng.IntN(300)))
		}
		data := out.Bytes()
		next, lost := 0, uint64(0)
		read := func() {
			for e, ok := it.Next(); ok; e, ok = it.Next() {
				n, _ := it.Truncated()
				lost += n
				m := whole.FindStringSubmatch(e.Message)
				if m == nil {
					require.NotZero(t, n, "round %d: a rest of a line not after a loss: %q", round, e.Message)
					continue
				}
				num, _ := strconv.Atoi(m[1])
				require.Equal(t, next+int(lost), num, "round %d", round)
				next++
			}
		}
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(2000))
			if rng.IntN(3) == 0 {
				// Read at the end of a line: on a slow machine a line
				// left without its newline for PartialLineWait would be
				// returned in two parts.
				n = bytes.IndexByte(data[n-1:], '\n') + n
				w.Write(data[:n])
				data = data[n:]
				read()
				continue
			}
			w.Write(data[:n])
			data = data[n:]
		}
		read()
		require.Equal(t, lines, next+int(lost), "round %d: received %d, lost %d", round, next, lost)
	}
}

// TestAppendJSONSplitsPlainRuns: runs of bytes copied as they are are split
// at the line limit like everything else.
func TestAppendJSONSplitsPlainRuns(t *testing.T) {
	msg := strings.Repeat("plain text \"quoted\" \x01 é ", 40)
	out := AppendJSON(nil, Entry{Time: t0, Service: "svc", Message: msg}, 200)
	var joined strings.Builder
	lines := strings.SplitAfter(string(out), "\n")
	require.Greater(t, len(lines), 10)
	for _, line := range lines[:len(lines)-1] {
		assert.LessOrEqual(t, len(line), 200)
		var v struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		joined.WriteString(v.Message)
	}
	assert.Equal(t, msg, joined.String())
}

// TestIteratorOverrunKeepsLineTime: an iterator that has read nothing yet
// and finds its position overwritten in the middle of a long line (cut at
// MaxLineSize into continuations) returns the rest of that line with the
// line's own time, not that of a later line already written: a forwarder
// that started with the service and was slow to read sent a later time
// first, and Loki refused the batch as out of order.
func TestIteratorOverrunKeepsLineTime(t *testing.T) {
	for _, chunk := range []int{4 << 10, 64 << 10, 256 << 10, 3 << 20} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			buf := NewBuffer(0)
			w := fixedWriter("svc", buf, nil)
			it := buf.NewIterator(0)
			long := strings.Repeat("x", 1<<20)
			for rest := long; len(rest) > 0; {
				n := min(chunk, len(rest))
				io.WriteString(w, rest[:n])
				rest = rest[n:]
			}
			io.WriteString(w, "\n")
			io.WriteString(w, strings.Repeat("garbage\n", 2000))
			io.WriteString(w, "end\n")
			var last time.Time
			n, msg := 0, ""
			for e, ok := it.Next(); ok; e, ok = it.Next() {
				require.False(t, e.Time.Before(last), "entry %d (%q...) at %v after one at %v", n, e.Message[:min(20, len(e.Message))], e.Time, last)
				if strings.Trim(strings.TrimPrefix(e.Message, ContinuedMarker), "x") == "" {
					assert.Equal(t, t0.Truncate(time.Millisecond), e.Time, "entry %d: a piece of the long line", n)
				}
				last, msg = e.Time, e.Message
				n++
			}
			assert.Equal(t, "end", msg)
		})
	}
}
