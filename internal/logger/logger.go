// Package logger writes the daemon's log lines in the format of cli.md §7:
// `<UTC time YYYY-MM-DDTHH:MM:SS.mmmZ> [pebble] <message>`. A Logger is a
// value passed to the components that log; there is no global logger.
package logger

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// TimeFormat is the timestamp layout of daemon and service log lines.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Logger writes log lines to one writer; it is safe for concurrent use.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
	now   func() time.Time
}

// New returns a Logger writing to w; debug enables Debugf lines.
func New(w io.Writer, debug bool) *Logger {
	return &Logger{w: w, debug: debug, now: time.Now}
}

// Noticef writes one log line.
func (l *Logger) Noticef(format string, args ...any) {
	l.write(fmt.Sprintf(format, args...))
}

// Debugf writes one "DEBUG" log line when debugging is on.
func (l *Logger) Debugf(format string, args ...any) {
	if l.debug {
		l.write("DEBUG " + fmt.Sprintf(format, args...))
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
	l.write(string(data))
}

func (l *Logger) write(msg string) {
	line := l.now().UTC().Format(TimeFormat) + " [pebble] " + strings.TrimRight(msg, "\n") + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}
