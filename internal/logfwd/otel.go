package logfwd

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// otelSender posts OTLP/HTTP JSON logs to <location>/v1/logs
// (behaviour.md §9.4): one resourceLogs per service, with the resource
// attribute service.name and the target's labels, and scope "pebble".
type otelSender struct {
	http *httpPoster
}

type otelRequest struct {
	ResourceLogs []otelResourceLogs `json:"resourceLogs"`
}

type otelResourceLogs struct {
	Resource  otelResource    `json:"resource"`
	ScopeLogs []otelScopeLogs `json:"scopeLogs"`
}

type otelResource struct {
	Attributes []otelAttribute `json:"attributes"`
}

type otelAttribute struct {
	Key   string    `json:"key"`
	Value otelValue `json:"value"`
}

type otelValue struct {
	StringValue string `json:"stringValue"`
}

type otelScopeLogs struct {
	Scope      otelScope       `json:"scope"`
	LogRecords []otelLogRecord `json:"logRecords"`
}

type otelScope struct {
	Name string `json:"name"`
}

type otelLogRecord struct {
	TimeUnixNano string    `json:"timeUnixNano"`
	Body         otelValue `json:"body"`
}

func (o *otelSender) send(ctx context.Context, batch []item) error {
	var req otelRequest
	for _, s := range byService(batch) {
		attrs := []otelAttribute{{Key: "service.name", Value: otelValue{s.service}}}
		if s.labels != nil {
			for _, k := range s.labels.keys {
				attrs = append(attrs, otelAttribute{Key: k, Value: otelValue{s.labels.values[k]}})
			}
		}
		records := make([]otelLogRecord, len(s.items))
		for i, it := range s.items {
			records[i] = otelLogRecord{
				TimeUnixNano: strconv.FormatInt(it.Time.UnixNano(), 10),
				Body:         otelValue{it.Message},
			}
		}
		req.ResourceLogs = append(req.ResourceLogs, otelResourceLogs{
			Resource:  otelResource{Attributes: attrs},
			ScopeLogs: []otelScopeLogs{{Scope: otelScope{Name: "pebble"}, LogRecords: records}},
		})
	}
	o.http.body.Reset()
	enc := json.NewEncoder(&o.http.body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		return &sendError{err: err}
	}
	answer, err := o.http.post(ctx)
	if err != nil {
		return err
	}
	return otelRejected(answer)
}

// otelResponse is what a sender reads of an ExportLogsServiceResponse: a
// partial success, naming how many records the receiver rejected.
type otelResponse struct {
	PartialSuccess struct {
		// RejectedLogRecords is an int64, which proto3's JSON mapping
		// writes as a string and readers also accept as a number.
		RejectedLogRecords json.RawMessage `json:"rejectedLogRecords"`
		ErrorMessage       string          `json:"errorMessage"`
	} `json:"partialSuccess"`
}

// otelRejected reads a successful answer: a partial success that rejected
// records is a *rejectedError (OTLP says not to send those again); an empty
// or unreadable answer, or one rejecting nothing, is full success.
func otelRejected(answer []byte) error {
	var rsp otelResponse
	if json.Unmarshal(answer, &rsp) != nil {
		return nil
	}
	count, err := strconv.Atoi(strings.Trim(string(rsp.PartialSuccess.RejectedLogRecords), `"`))
	if err != nil || count <= 0 {
		return nil
	}
	err = fmt.Errorf("server rejected %d entries", count)
	if msg := strings.TrimSpace(rsp.PartialSuccess.ErrorMessage); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return &rejectedError{count: count, err: err}
}

func (o *otelSender) close() { o.http.close() }
