package logfwd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// sender delivers batches to one receiver. It is used by one goroutine.
type sender interface {
	// send delivers the batch, or fails; a *sendError says whether to try
	// again. It must return soon after ctx ends.
	send(ctx context.Context, batch []item) error
	close()
}

// sendError is a failed delivery. retry is set for failures that may pass
// (network errors, 429 and 5xx answers).
type sendError struct {
	err        error
	retry      bool
	retryAfter time.Duration // from a Retry-After header, if any
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

func newSender(opts Options, typ plan.LogTargetType, location string) sender {
	switch typ {
	case plan.LokiTarget:
		return &lokiSender{http: newHTTPPoster(opts, location, "application/json; charset=utf-8")}
	case plan.OpenTelemetryTarget:
		url := strings.TrimSuffix(location, "/") + "/v1/logs"
		return &otelSender{http: newHTTPPoster(opts, url, "application/json")}
	case plan.SyslogTarget:
		return newSyslogSender(opts, location)
	}
	return nil
}

// httpPoster posts request bodies to one URL with its own connection pool.
type httpPoster struct {
	url         string
	contentType string
	userAgent   string
	client      *http.Client
	body        bytes.Buffer // reused between requests
}

func newHTTPPoster(opts Options, url, contentType string) *httpPoster {
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: opts.Timeout,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
	}
	return &httpPoster{
		url:         url,
		contentType: contentType,
		userAgent:   opts.UserAgent,
		client:      &http.Client{Transport: transport},
	}
}

// rejectedError is a delivery that the receiver accepted in part: it
// refused count entries of the batch, which will not be sent again.
type rejectedError struct {
	count int
	err   error
}

func (e *rejectedError) Error() string { return e.err.Error() }

// post sends p.body and returns the start of a successful answer's body
// (up to 64 KiB). 2xx is success; 429 and 5xx are worth retrying; any other
// answer is a permanent failure.
func (p *httpPoster) post(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.body.Bytes()))
	if err != nil {
		return nil, &sendError{err: err}
	}
	req.Header.Set("Content-Type", p.contentType)
	if p.userAgent != "" {
		req.Header.Set("User-Agent", p.userAgent)
	}
	rsp, err := p.client.Do(req)
	if err != nil {
		return nil, &sendError{err: err, retry: true}
	}
	defer rsp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(rsp.Body, 64<<10))
	io.Copy(io.Discard, io.LimitReader(rsp.Body, 64<<10)) // so the connection can be reused
	if rsp.StatusCode >= 200 && rsp.StatusCode < 300 {
		return answer, nil
	}
	snippet := answer[:min(len(answer), 512)]
	err = fmt.Errorf("server returned HTTP %s", rsp.Status)
	if msg := strings.TrimSpace(string(bytes.ToValidUTF8(snippet, []byte("?")))); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	se := &sendError{err: err}
	if rsp.StatusCode == http.StatusTooManyRequests || rsp.StatusCode >= 500 {
		se.retry = true
		if secs, err := strconv.Atoi(rsp.Header.Get("Retry-After")); err == nil && secs > 0 {
			se.retryAfter = time.Duration(secs) * time.Second
		}
	}
	return nil, se
}

func (p *httpPoster) close() { p.client.CloseIdleConnections() }

// byService groups a batch into streams: one per service (and labels, if
// they changed within the batch), sorted by service, entries in order.
func byService(batch []item) []stream {
	var out []stream
	index := make(map[streamKey]int)
	for _, it := range batch {
		k := streamKey{it.Service, it.labels}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, stream{service: it.Service, labels: it.labels})
		}
		out[i].items = append(out[i].items, it)
	}
	sortStreams(out)
	return out
}

type streamKey struct {
	service string
	labels  *labelSet
}

type stream struct {
	service string
	labels  *labelSet // may be nil
	items   []item
}

func sortStreams(s []stream) {
	// Stable: streams of one service keep the order they were first seen.
	sort.SliceStable(s, func(i, j int) bool { return s[i].service < s[j].service })
}
