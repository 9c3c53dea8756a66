package logfwd

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// syslogSender sends RFC 5424 messages (behaviour.md §9.4):
//
//	<13>1 <time> <hostname> <service> - - [pebble@28978 k="v" ...] <message>
//
// over TCP with octet-counting framing (RFC 6587: "<length> <message>"),
// or over UDP, one datagram per message of at most maxDatagram bytes.
type syslogSender struct {
	network  string // "tcp" or "udp"
	addr     string
	hostname string
	timeout  time.Duration
	conn     net.Conn
	buf      []byte
	msg      []byte
}

// maxDatagram bounds a UDP message; longer messages are cut.
const maxDatagram = 4000

// syslogPRI is facility user (1), severity notice (5): 1*8+5.
const syslogPRI = "<13>1 "

// sdID is the structured-data ID of the labels (28978 is Canonical's
// private enterprise number).
const sdID = "pebble@28978"

func newSyslogSender(opts Options, location string) *syslogSender {
	s := &syslogSender{hostname: syslogField(opts.Hostname, 255), timeout: opts.Timeout}
	if u, err := url.Parse(location); err == nil {
		s.network, s.addr = u.Scheme, u.Host
	}
	return s
}

func (s *syslogSender) send(ctx context.Context, batch []item) error {
	if s.network != "tcp" && s.network != "udp" {
		return &sendError{err: fmt.Errorf("cannot use location: scheme must be tcp or udp")}
	}
	if s.conn != nil && s.network == "tcp" && peerClosed(s.conn) {
		// The receiver went away (or restarted): a write would seem to
		// succeed and the data be lost, so reconnect first.
		s.conn.Close()
		s.conn = nil
	}
	if s.conn == nil {
		d := net.Dialer{Timeout: s.timeout}
		conn, err := d.DialContext(ctx, s.network, s.addr)
		if err != nil {
			return &sendError{err: err, retry: true}
		}
		s.conn = conn
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	// A cancelled ctx interrupts a blocked write.
	stop := context.AfterFunc(ctx, func() { s.conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var err error
	if s.network == "tcp" {
		s.buf = s.buf[:0]
		for _, it := range batch {
			s.msg = s.format(s.msg[:0], it)
			s.buf = strconv.AppendInt(s.buf, int64(len(s.msg)), 10)
			s.buf = append(s.buf, ' ')
			s.buf = append(s.buf, s.msg...)
		}
		_, err = s.conn.Write(s.buf)
	} else {
		for _, it := range batch {
			s.buf = s.format(s.buf[:0], it)
			if len(s.buf) > maxDatagram {
				s.buf = s.buf[:maxDatagram]
			}
			if _, err = s.conn.Write(s.buf); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.conn.Close()
		s.conn = nil
		return &sendError{err: err, retry: true}
	}
	return nil
}

// peerClosed reports whether the other end of a TCP connection has closed
// it. A syslog receiver never sends anything, so a peek that finds the end
// of the stream (or an error) means the connection is gone.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		closed = (n == 0 && err == nil) || (err != nil && err != unix.EAGAIN && err != unix.EINTR)
		return true
	})
	return closed || err != nil
}

// format appends one RFC 5424 message.
func (s *syslogSender) format(dst []byte, it item) []byte {
	dst = append(dst, syslogPRI...)
	if it.Time.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = it.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	dst = append(dst, ' ')
	dst = append(dst, s.hostname...)
	dst = append(dst, ' ')
	dst = append(dst, syslogField(it.Service, 48)...)
	dst = append(dst, " - - ["...)
	dst = append(dst, sdID...)
	if it.labels != nil {
		for _, k := range it.labels.keys {
			dst = append(dst, ' ')
			dst = append(dst, sdName(k)...)
			dst = append(dst, '=', '"')
			dst = appendSDValue(dst, it.labels.values[k])
			dst = append(dst, '"')
		}
	}
	dst = append(dst, "] "...)
	return append(dst, it.Message...)
}

// syslogField makes s a valid header field: printable US-ASCII without
// spaces, at most maxLen bytes, "-" when empty.
func syslogField(s string, maxLen int) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// sdName makes k a valid SD-NAME: printable US-ASCII except '=', ' ', ']'
// and '"', at most 32 bytes.
func sdName(k string) string {
	b := []byte(syslogField(k, 32))
	for i, c := range b {
		if c == '=' || c == ']' || c == '"' {
			b[i] = '_'
		}
	}
	return string(b)
}

// appendSDValue escapes '"', '\' and ']' with a backslash (RFC 5424 §6.3.3).
func appendSDValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '"', '\\', ']':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func (s *syslogSender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}
