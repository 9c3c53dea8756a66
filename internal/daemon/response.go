package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pebble-project/pebble/internal/apierr"
	"github.com/pebble-project/pebble/internal/changes"
)

// response is what a handler returns; ServeHTTP writes it.
type response interface {
	write(w http.ResponseWriter, r *http.Request)
}

// envelope is the JSON body of every sync, async and error response (api.md §2).
type envelope struct {
	Type       string `json:"type"`
	StatusCode int    `json:"status-code"`
	Status     string `json:"status"`
	Change     string `json:"change,omitempty"`
	Result     any    `json:"result,omitempty"`
	// LatestWarning is set on non-error responses while warnings exist.
	LatestWarning *time.Time `json:"latest-warning,omitempty"`
}

// asyncEnvelope always carries "result", null when there is none.
type asyncEnvelope struct {
	Type       string `json:"type"`
	StatusCode int    `json:"status-code"`
	Status     string `json:"status"`
	Change     string `json:"change"`
	Result     any    `json:"result"`
	// LatestWarning is set while warnings exist.
	LatestWarning *time.Time `json:"latest-warning,omitempty"`
}

// appendJSON appends the envelope as encoding/json encodes it.
func (e envelope) appendJSON(b []byte) ([]byte, error) {
	o := beginJSONObject(b)
	o.str("type", e.Type)
	o.int("status-code", e.StatusCode)
	o.str("status", e.Status)
	o.optStr("change", e.Change)
	if e.Result != nil {
		o.value("result", e.Result)
	}
	o.optTime("latest-warning", e.LatestWarning)
	return o.end()
}

// appendJSON appends the envelope as encoding/json encodes it.
func (e asyncEnvelope) appendJSON(b []byte) ([]byte, error) {
	o := beginJSONObject(b)
	o.str("type", e.Type)
	o.int("status-code", e.StatusCode)
	o.str("status", e.Status)
	o.str("change", e.Change)
	o.value("result", e.Result)
	o.optTime("latest-warning", e.LatestWarning)
	return o.end()
}

type jsonResponse struct {
	status int
	body   any
}

// jsonContentType is the Content-Type of JSON responses, shared by all of
// them: net/http only reads it.
var jsonContentType = []string{"application/json"}

// responseBuffers hold the encoded bodies of responses between requests.
var responseBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledResponse is the largest buffer kept for reuse: a rare huge
// response (a long change list) is not held on to.
const maxPooledResponse = 256 << 10

func (j jsonResponse) write(w http.ResponseWriter, _ *http.Request) {
	buf := responseBuffers.Get().(*[]byte)
	data, err := appendJSONValue((*buf)[:0], j.body)
	if err != nil {
		j = internalError("cannot marshal response: %v", err).(jsonResponse)
		data, _ = appendJSONValue(data[:0], j.body)
	}
	data = append(data, '\n')
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(j.status)
	w.Write(data)
	if cap(data) <= maxPooledResponse {
		*buf = data[:0]
		responseBuffers.Put(buf)
	}
	if e, ok := j.body.(envelope); ok {
		if r, ok := e.Result.(recycler); ok {
			r.recycle()
		}
	}
}

// recycler is a result that gives what it holds back for reuse once its
// response is written, and is not used afterwards.
type recycler interface {
	recycle()
}

func syncResponse(result any) response {
	return syncStatus(http.StatusOK, result)
}

func syncStatus(status int, result any) response {
	return jsonResponse{status: status, body: envelope{
		Type: "sync", StatusCode: status, Status: http.StatusText(status), Result: result,
	}}
}

// isAsync reports whether resp is an async response (it names a change).
func isAsync(resp response) bool {
	j, ok := resp.(jsonResponse)
	if !ok {
		return false
	}
	_, ok = j.body.(asyncEnvelope)
	return ok
}

func asyncResponse(changeID string, result any) response {
	return jsonResponse{status: http.StatusAccepted, body: asyncEnvelope{
		Type: "async", StatusCode: http.StatusAccepted, Status: http.StatusText(http.StatusAccepted),
		Change: changeID, Result: result,
	}}
}

// errorResult is the "result" of an error response (api.md §3).
type errorResult struct {
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
	Value   any    `json:"value,omitempty"`
}

func errorStatus(status int, kind, format string, args ...any) response {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if status == http.StatusUnauthorized {
		kind = "login-required"
	}
	return jsonResponse{status: status, body: envelope{
		Type: "error", StatusCode: status, Status: http.StatusText(status),
		Result: errorResult{Message: msg, Kind: kind},
	}}
}

func badRequest(format string, args ...any) response {
	return errorStatus(http.StatusBadRequest, "", format, args...)
}

func notFound(format string, args ...any) response {
	return errorStatus(http.StatusNotFound, "", format, args...)
}

func internalError(format string, args ...any) response {
	return errorStatus(http.StatusInternalServerError, "", format, args...)
}

// errorResponse is the one place where errors of verbs become HTTP
// statuses.
func errorResponse(err error) response {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge(tooLarge.Limit)
	}
	switch {
	case errors.Is(err, changes.ErrNotFound):
		return notFound("%s", err)
	case errors.Is(err, changes.ErrNothingPending):
		return badRequest("%s", err)
	}
	var oe *apierr.Error
	if errors.As(err, &oe) {
		status := http.StatusInternalServerError
		switch oe.Class {
		case apierr.BadRequest:
			status = http.StatusBadRequest
		case apierr.NotFound:
			status = http.StatusNotFound
		case apierr.Forbidden:
			status = http.StatusForbidden
		case apierr.Timeout:
			status = http.StatusGatewayTimeout
		}
		return errorStatus(status, oe.Kind, "%s", oe.Message)
	}
	return internalError("%s", err.Error())
}

func bodyTooLarge(limit int64) response {
	return errorStatus(http.StatusRequestEntityTooLarge, "",
		"request body too large: limit is %d bytes", limit)
}

// decodeJSON decodes a request body; errors carry the spec's prefix
// ("cannot decode request body" or "cannot decode data from request body").
// A body that is not valid UTF-8 is refused: encoding/json would quietly
// replace the bad bytes, and a layer or command would not be what was sent.
func decodeJSON(r *http.Request, prefix string, v any) response {
	body, err := readBody(r.Body)
	if err == nil && !utf8.Valid(body) {
		return badRequest("%s: invalid UTF-8", prefix)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err == nil {
		err = dec.Decode(v)
	}
	if err == nil {
		// Anything after the JSON value must be white space.
		var extra json.RawMessage
		switch err = dec.Decode(&extra); {
		case err == nil:
			return badRequest("%s: unexpected data after JSON value", prefix)
		case errors.Is(err, io.EOF):
			return nil
		}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyTooLarge(tooLarge.Limit)
	}
	return badRequest("%s: %v", prefix, err)
}

// bodyBlock is the size of the blocks readBody reads a body in.
const bodyBlock = 32 << 10

// readBody reads a request body in blocks of a fixed size and joins them
// once the whole body is in. A body refused part-way (over the limit) so
// costs what was read of it, not the copies a growing buffer leaves
// behind.
func readBody(body io.Reader) ([]byte, error) {
	var blocks [][]byte
	block := make([]byte, 0, bodyBlock)
	for {
		n, err := body.Read(block[len(block):cap(block)])
		block = block[:len(block)+n]
		if errors.Is(err, io.EOF) {
			if len(blocks) == 0 {
				return block, nil
			}
			return bytes.Join(append(blocks, block), nil), nil
		}
		if err != nil {
			return nil, err
		}
		if len(block) == cap(block) {
			blocks = append(blocks, block)
			block = make([]byte, 0, bodyBlock)
		}
	}
}

// Body-decoding error prefixes, as api.md §4 assigns them per endpoint.
const (
	decodeBody     = "cannot decode request body"
	decodeDataBody = "cannot decode data from request body"
)

// queryOf returns r's query parameters, parsed (into a new map) only if
// there are any: most polls have none.
func queryOf(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return nil
	}
	return r.URL.Query()
}

// multiValue splits a multi-valued query parameter given by repetition and/or
// commas, trimming items and dropping empty ones (api.md §4).
func multiValue(r *http.Request, key string) []string {
	var out []string
	for _, v := range queryOf(r)[key] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}
