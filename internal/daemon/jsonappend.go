package daemon

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The hot responses (GET /v1/services, which probes and dashboards poll,
// and every envelope) are encoded by appending to one buffer instead of
// through encoding/json's reflection: with 100 services, reflection and
// time.Time's MarshalJSON (whose output encoding/json then re-validates)
// were 44 % of a request's CPU. The output is byte for byte what
// encoding/json gives (jsonappend_test.go compares them); anything unusual
// (a string that needs escaping, a rarely set field) goes through
// encoding/json.

// jsonAppender is a value that appends its own JSON encoding to b.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// appendJSONValue appends v as encoding/json encodes it, through its own
// appendJSON if it has one.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(b)
	}
	data, err := json.Marshal(v)
	return append(b, data...), err
}

// appendJSONString appends s as a JSON string. Strings that need no
// escaping (service names, states, statuses) are copied as they are; the
// rest go through encoding/json, which escapes HTML characters and
// replaces invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			data, _ := json.Marshal(s) // a string always encodes
			return append(b, data...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain marks the bytes that a JSON string holds as they are:
// printable ASCII but the quote, the backslash and the HTML characters,
// which encoding/json escapes.
var jsonPlain = func() (plain [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		plain[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return plain
}()

// jsonObject appends the members of one JSON object, in the order of the
// calls; the first error sticks and is returned by end. The optional
// members follow encoding/json's omitempty.
type jsonObject struct {
	b       []byte
	members int
	err     error
}

// beginJSONObject starts an object at the end of b.
func beginJSONObject(b []byte) jsonObject {
	return jsonObject{b: append(b, '{')}
}

// key appends a member name, which needs no escaping, and its colon.
func (o *jsonObject) key(name string) {
	if o.members > 0 {
		o.b = append(o.b, ',')
	}
	o.members++
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(name, s string) {
	o.key(name)
	o.b = appendJSONString(o.b, s)
}

func (o *jsonObject) int(name string, n int) {
	o.key(name)
	o.b = strconv.AppendInt(o.b, int64(n), 10)
}

// value appends v as encoding/json encodes it.
func (o *jsonObject) value(name string, v any) {
	o.key(name)
	if o.err == nil {
		o.b, o.err = appendJSONValue(o.b, v)
	}
}

func (o *jsonObject) optStr(name, s string) {
	if s != "" {
		o.str(name, s)
	}
}

func (o *jsonObject) optInt(name string, n int) {
	if n != 0 {
		o.int(name, n)
	}
}

func (o *jsonObject) optIntPtr(name string, n *int) {
	if n != nil {
		o.int(name, *n)
	}
}

// optTime appends t as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds, an error for a year it cannot write), if t is set.
func (o *jsonObject) optTime(name string, t *time.Time) {
	if t == nil {
		return
	}
	o.key(name)
	text, err := timeText(*t)
	if err != nil && o.err == nil {
		o.err = err
	}
	o.b = append(o.b, text...)
}

// end closes the object and returns the buffer.
func (o *jsonObject) end() ([]byte, error) {
	return append(o.b, '}'), o.err
}

// timeTexts caches the JSON text of the times encoded: most are encoded
// again and again (each service's current-since, between two polls), and
// formatting one costs several times looking it up. It is emptied once it
// holds maxTimeTexts, so it stays small.
var timeTexts struct {
	sync.Map // time.Time → []byte
	n        atomic.Int32
}

// maxTimeTexts bounds timeTexts: about 100 KB.
const maxTimeTexts = 1024

// timeText returns t as encoding/json writes a time.Time: quoted RFC 3339
// with nanoseconds, an error for a year it cannot write. The text is
// shared: callers must not change it.
func timeText(t time.Time) ([]byte, error) {
	if text, ok := timeTexts.Load(t); ok {
		return text.([]byte), nil
	}
	text, err := t.AppendText([]byte{'"'})
	if err != nil {
		return nil, err
	}
	text = append(text, '"')
	if timeTexts.n.Add(1) > maxTimeTexts {
		timeTexts.Clear()
		timeTexts.n.Store(0)
	}
	timeTexts.Store(t, text)
	return text, nil
}
