package logs

import (
	"encoding/binary"
	"time"
	"unicode/utf8"
)

// MaxJSONLine is the longest JSON line AppendJSON writes by default. Pebble's
// Go client reads the logs API with a 5 KiB line buffer, so longer lines
// (a 4 KiB message of control bytes or invalid UTF-8 can take six times its
// size once escaped) would break it; such entries are split instead.
const MaxJSONLine = 5 * 1024

// AppendJSON appends e to dst in the logs API's JSON Lines format (api.md
// §14):
//
//	{"time":"2026-01-20T02:11:09.361Z","service":"svc1","message":"Serving on :5000"}
//
// followed by a newline. HTML characters are not escaped; invalid UTF-8 is
// replaced by U+FFFD, as encoding/json does. If the line would be longer
// than maxLine bytes (0 means MaxJSONLine), the message is split over
// several lines with the same time and service.
func AppendJSON(dst []byte, e Entry, maxLine int) []byte {
	start := len(dst)
	dst = appendJSONHeader(dst, e.Time, e.Service)
	return appendJSONLine(dst, dst[start:], []byte(e.Message), maxLine)
}

// appendJSONHeader appends the JSON line of an entry up to its message's
// text: {"time":"...","service":"...","message":"
func appendJSONHeader(dst []byte, t time.Time, service string) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","service":`...)
	dst = appendJSONString(dst, service)
	return append(dst, `,"message":"`...)
}

// appendJSONLine appends the rest of the JSON line of an entry, msg, to
// dst, which ends with its header (appendJSONHeader); a message that does
// not fit in maxLine goes on in more lines with the same header, as
// AppendJSON says.
func appendJSONLine(dst, header, msg []byte, maxLine int) []byte {
	if maxLine <= 0 {
		maxLine = MaxJSONLine
	}
	const tail = "\"}\n"
	budget := maxLine - len(header) - len(tail)
	if budget < 64 {
		budget = 64 // a service name this long cannot fit anyway
	}
	used := 0
	for i := 0; i < len(msg); {
		// A run of bytes that need no escaping is copied as it is.
		if j := i + plainRun(msg[i:]); j > i {
			if used >= budget {
				dst = append(dst, tail...)
				dst = append(dst, header...)
				used = 0
			}
			n := min(j-i, budget-used)
			dst = append(dst, msg[i:i+n]...)
			used += n
			i += n
			continue
		}
		before := len(dst)
		var size int
		dst, size = appendRune(dst, msg[i:])
		n := len(dst) - before
		if used+n > budget && used > 0 {
			var enc [6]byte
			copy(enc[:], dst[before:])
			dst = append(dst[:before], tail...)
			dst = append(dst, header...)
			dst = append(dst, enc[:n]...)
			used = 0
		}
		used += n
		i += size
	}
	return append(dst, tail...)
}

const hexDigits = "0123456789abcdef"

// plainRun returns the length of the run of bytes at the start of s that
// are written as they are in a JSON string, looking at 8 bytes at a time.
func plainRun(s []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		quote, backslash := x^('"'*ones), x^('\\'*ones)
		// The high bit of a byte of special is set where x has a byte
		// below 0x20 or a zero byte of quote or backslash (the classic
		// "has a byte less than" test, exact for whether there is one),
		// and x itself has a byte of 0x80 or more where its high bit is.
		special := (x-0x20*ones)&^x | (quote-ones)&^quote | (backslash-ones)&^backslash | x
		if special&highs != 0 {
			break
		}
	}
	for i < len(s) && plainJSON(s[i]) {
		i++
	}
	return i
}

// plainJSON reports whether c is written as it is in a JSON string.
func plainJSON(c byte) bool {
	return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\'
}

// appendRune appends the JSON string encoding of the first rune of s and
// returns its length in s.
func appendRune(dst, s []byte) ([]byte, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		switch {
		case c >= 0x20 && c != '"' && c != '\\':
			return append(dst, c), 1
		case c == '"' || c == '\\':
			return append(dst, '\\', c), 1
		case c == '\n':
			return append(dst, '\\', 'n'), 1
		case c == '\r':
			return append(dst, '\\', 'r'), 1
		case c == '\t':
			return append(dst, '\\', 't'), 1
		case c == '\b':
			return append(dst, '\\', 'b'), 1
		case c == '\f':
			return append(dst, '\\', 'f'), 1
		}
		return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf]), 1
	}
	r, size := utf8.DecodeRune(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return append(dst, `\ufffd`...), 1
	case r == '\u2028':
		return append(dst, `\u2028`...), size
	case r == '\u2029':
		return append(dst, `\u2029`...), size
	}
	return append(dst, s[:size]...), size
}

// appendJSONString appends str as a JSON string with the same escaping.
func appendJSONString(dst []byte, str string) []byte {
	dst = append(dst, '"')
	s := []byte(str)
	for i := 0; i < len(s); {
		var size int
		dst, size = appendRune(dst, s[i:])
		i += size
	}
	return append(dst, '"')
}
