package plan

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Forwards reports whether t forwards the output of service (layers.md §5):
// the Services list is read from the end, and the first entry that is the
// service or "all" selects it, the first that is "-<service>" or "-all"
// deselects it; no match deselects it.
func (t *LogTarget) Forwards(service string) bool {
	for i := len(t.Services) - 1; i >= 0; i-- {
		s := t.Services[i]
		switch {
		case s == "all" || s == service:
			return true
		case s == "-all" || (len(s) > 1 && s[0] == '-' && s[1:] == service):
			return false
		}
	}
	return false
}

// checkLocation checks that a log target's location is usable by its type:
// an http(s) URL with a host for loki and opentelemetry, and
// tcp://host:port or udp://host:port for syslog.
func checkLocation(t *LogTarget) error {
	u, err := url.Parse(t.Location)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	} else if err != nil {
		return err
	}
	switch t.Type {
	case LokiTarget, OpenTelemetryTarget:
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf(`scheme must be "http" or "https"`)
		}
		if u.Host == "" {
			return fmt.Errorf("no host")
		}
	case SyslogTarget:
		if u.Scheme != "tcp" && u.Scheme != "udp" {
			return fmt.Errorf(`scheme must be "tcp" or "udp"`)
		}
		if u.Path != "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("must be %s://host:port", u.Scheme)
		}
		port := u.Port()
		if u.Hostname() == "" || port == "" {
			return fmt.Errorf("must be %s://host:port", u.Scheme)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("invalid port %q", port)
		}
	}
	return nil
}
