package logtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Syslog receives RFC 5424 messages over TCP (octet-counting framing, RFC
// 6587) and UDP on the same loopback port.
type Syslog struct {
	tcp net.Listener
	udp net.PacketConn

	mu       sync.Mutex
	entries  []Entry
	raw      []string
	problems []string
	notify   chan struct{}
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

// NewSyslog starts a syslog receiver.
func NewSyslog() (*Syslog, error) {
	s := &Syslog{conns: make(map[net.Conn]bool)}
	var err error
	for range 20 {
		s.tcp, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// The same port for UDP, so one address serves both.
		s.udp, err = net.ListenPacket("udp", s.tcp.Addr().String())
		if err == nil {
			break
		}
		s.tcp.Close()
	}
	if err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.acceptTCP()
	go s.readUDP()
	return s, nil
}

// Addr is the host:port of both listeners.
func (s *Syslog) Addr() string { return s.tcp.Addr().String() }

func (s *Syslog) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.readTCP(c)
	}
}

func (s *Syslog) readTCP(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReader(c)
	for {
		lenStr, err := r.ReadString(' ')
		if err != nil {
			if (err != io.EOF || lenStr != "") && !errors.Is(err, net.ErrClosed) {
				s.problem(fmt.Sprintf("tcp: cannot read frame length: %q %v", lenStr, err))
			}
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil || n <= 0 || lenStr[0] == '0' {
			s.problem(fmt.Sprintf("tcp: bad octet count %q", lenStr))
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			s.problem(fmt.Sprintf("tcp: short frame: %v", err))
			return
		}
		s.add(string(msg))
	}
}

func (s *Syslog) readUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, _, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if n > 4000 {
			s.problem(fmt.Sprintf("udp: datagram of %d bytes", n))
		}
		s.add(string(buf[:n]))
	}
}

func (s *Syslog) problem(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, p)
}

func (s *Syslog) add(msg string) {
	e, problems := ParseRFC5424(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw = append(s.raw, msg)
	s.problems = append(s.problems, problems...)
	if len(problems) == 0 {
		s.entries = append(s.entries, e)
	}
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
}

// Entries returns the messages received so far.
func (s *Syslog) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

// Raw returns the messages received so far, as they arrived.
func (s *Syslog) Raw() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.raw...)
}

// Problems returns every deviation from the format seen so far.
func (s *Syslog) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// WaitFor waits until f, called with everything received so far, returns
// nil, or ctx ends; it returns f's last error then.
func (s *Syslog) WaitFor(ctx context.Context, f func([]Entry) error) error {
	for {
		s.mu.Lock()
		if s.notify == nil {
			s.notify = make(chan struct{})
		}
		changed := s.notify
		s.mu.Unlock()
		err := f(s.Entries())
		if err == nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return err
		}
	}
}

// DropConnections closes every TCP connection, as a restarted receiver
// would.
func (s *Syslog) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops the receiver.
func (s *Syslog) Close() {
	s.tcp.Close()
	s.udp.Close()
	s.DropConnections()
	s.wg.Wait()
}

// ParseRFC5424 parses one syslog message strictly:
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
//
// Service is the APP-NAME and Labels the params of the pebble@28978
// structured-data element, unescaped.
func ParseRFC5424(msg string) (Entry, []string) {
	var e Entry
	fail := func(format string, args ...any) (Entry, []string) {
		return e, []string{fmt.Sprintf("syslog message %q: ", short([]byte(msg))) + fmt.Sprintf(format, args...)}
	}
	rest, ok := strings.CutPrefix(msg, "<")
	if !ok {
		return fail("no PRI")
	}
	pri, rest, ok := strings.Cut(rest, ">")
	if n, err := strconv.Atoi(pri); !ok || err != nil || n < 0 || n > 191 || len(pri) > 3 {
		return fail("bad PRI %q", pri)
	}
	fields := strings.SplitN(rest, " ", 7)
	if len(fields) < 7 {
		return fail("too few fields")
	}
	if fields[0] != "1" {
		return fail("version %q, want 1", fields[0])
	}
	ts := fields[1]
	if ts != "-" {
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return fail("bad TIMESTAMP %q: %v", ts, err)
		}
		if _, frac, ok := strings.Cut(ts, "."); ok {
			if digits := len(frac) - len(strings.TrimLeft(frac, "0123456789")); digits > 6 {
				return fail("TIMESTAMP %q has more than 6 fraction digits", ts)
			}
		}
		e.Time = tm.UTC()
	}
	for i, f := range []struct {
		name string
		max  int
	}{{"HOSTNAME", 255}, {"APP-NAME", 48}, {"PROCID", 128}, {"MSGID", 32}} {
		v := fields[2+i]
		if v == "" || len(v) > f.max {
			return fail("%s %q empty or longer than %d", f.name, v, f.max)
		}
		for _, c := range []byte(v) {
			if c < 33 || c > 126 {
				return fail("%s %q has a byte outside printable US-ASCII", f.name, v)
			}
		}
	}
	e.Service = fields[3]
	sd, text, problem := parseSD(fields[6])
	if problem != "" {
		return fail("%s", problem)
	}
	e.Labels = sd["pebble@28978"]
	if e.Labels == nil {
		return fail("no pebble@28978 element")
	}
	e.Message = text
	return e, nil
}

// ParseStructuredData parses a STRUCTURED-DATA field (as rsyslog's
// structured-data property gives it) into its elements and their params,
// unescaped.
func ParseStructuredData(sd string) (map[string]map[string]string, error) {
	out, rest, problem := parseSD(sd)
	if problem == "" && rest != "" {
		problem = fmt.Sprintf("data after STRUCTURED-DATA: %q", rest)
	}
	if problem != "" {
		return nil, fmt.Errorf("cannot parse structured data %q: %s", sd, problem)
	}
	return out, nil
}

// parseSD parses STRUCTURED-DATA and returns its elements and the MSG after
// it.
func parseSD(s string) (map[string]map[string]string, string, string) {
	out := make(map[string]map[string]string)
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return out, strings.TrimPrefix(rest, " "), ""
	}
	i := 0
	for i < len(s) && s[i] == '[' {
		i++
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != ']' {
			j++
		}
		id := s[i:j]
		if id == "" || len(id) > 32 {
			return nil, "", fmt.Sprintf("bad SD-ID %q", id)
		}
		params := make(map[string]string)
		out[id] = params
		i = j
		for i < len(s) && s[i] == ' ' {
			i++
			j := strings.IndexByte(s[i:], '=')
			if j <= 0 || j > 32 {
				return nil, "", "bad SD-PARAM name"
			}
			name := s[i : i+j]
			if strings.ContainsAny(name, ` ]"`) {
				return nil, "", fmt.Sprintf("bad SD-PARAM name %q", name)
			}
			i += j + 1
			if i >= len(s) || s[i] != '"' {
				return nil, "", "SD-PARAM value not quoted"
			}
			i++
			var v strings.Builder
			for {
				if i >= len(s) {
					return nil, "", "unterminated SD-PARAM value"
				}
				c := s[i]
				if c == '\\' && i+1 < len(s) && strings.IndexByte(`"\]`, s[i+1]) >= 0 {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '"' {
					i++
					break
				}
				if c == ']' {
					return nil, "", "unescaped ] in SD-PARAM value"
				}
				v.WriteByte(c)
				i++
			}
			params[name] = v.String()
		}
		if i >= len(s) || s[i] != ']' {
			return nil, "", "unterminated SD-ELEMENT"
		}
		i++
	}
	if i == 0 {
		return nil, "", "no STRUCTURED-DATA"
	}
	rest := s[i:]
	if rest != "" && rest[0] != ' ' {
		return nil, "", "no space after STRUCTURED-DATA"
	}
	return out, strings.TrimPrefix(rest, " "), ""
}
