// Package logger writes the daemon's log lines in the format of cli.md §7:
// `<UTC time YYYY-MM-DDTHH:MM:SS.mmmZ> [pebble] <message>`. A Logger is a
// value passed to the components that log; there is no global logger.
package logger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// TimeFormat is the timestamp layout of daemon and service log lines.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// secondLayout is TimeFormat up to the second; in UTC the rest is the
// milliseconds and "Z".
const secondLayout = "2006-01-02T15:04:05"

// Logger writes log lines to one writer; it is safe for concurrent use.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
	now   func() time.Time
	// second is the text of the latest second a line was stamped with.
	second atomic.Pointer[stampedSecond]
}

// stampedSecond is a second of the timestamp layout as text, without its
// milliseconds: the lines written in that second share it.
type stampedSecond struct {
	unix int64
	text []byte
}

// New returns a Logger writing to w; debug enables Debugf lines.
func New(w io.Writer, debug bool) *Logger {
	return &Logger{w: w, debug: debug, now: time.Now}
}

// Noticef writes one log line.
func (l *Logger) Noticef(format string, args ...any) {
	line := l.begin()
	*line = fmt.Appendf(*line, format, args...)
	l.end(line)
}

// Notice writes msg as one log line: Noticef without the formatting, for
// the request log, which is written for almost every request.
func (l *Logger) Notice(msg []byte) {
	line := l.begin()
	*line = append(*line, msg...)
	l.end(line)
}

// Debugf writes one "DEBUG" log line when debugging is on.
func (l *Logger) Debugf(format string, args ...any) {
	if l.debug {
		line := l.begin()
		*line = append(*line, "DEBUG "...)
		*line = fmt.Appendf(*line, format, args...)
		l.end(line)
	}
}

// SecurityEvent writes a security event as a JSON log line (behaviour.md §12).
func (l *Logger) SecurityEvent(level, event, description string) {
	data, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Datetime    string `json:"datetime"`
		Level       string `json:"level"`
		Event       string `json:"event"`
		Description string `json:"description"`
		AppID       string `json:"appid"`
	}{"security", l.now().UTC().Format(time.RFC3339), level, event, description, "pebble"})
	l.Notice(data)
}

// lines hold log lines while they are formatted and written.
var lines = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledLine is the longest line buffer kept for reuse.
const maxPooledLine = 4 << 10

// begin returns a line buffer holding the line's prefix; end writes it.
func (l *Logger) begin() *[]byte {
	line := lines.Get().(*[]byte)
	*line = l.appendStamp((*line)[:0], l.now())
	*line = append(*line, " [pebble] "...)
	return line
}

// appendStamp appends t in TimeFormat, in UTC.
func (l *Logger) appendStamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	sec := l.second.Load()
	if sec == nil || sec.unix != t.Unix() {
		sec = &stampedSecond{unix: t.Unix(), text: t.AppendFormat(nil, secondLayout)}
		l.second.Store(sec)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, sec.text...)
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// end ends the line with exactly one newline, writes it in one write and
// recycles the buffer.
func (l *Logger) end(line *[]byte) {
	*line = append(bytes.TrimRight(*line, "\n"), '\n')
	l.mu.Lock()
	l.w.Write(*line)
	l.mu.Unlock()
	if cap(*line) <= maxPooledLine {
		lines.Put(line)
	}
}
