package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func readAll(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 64<<20))
}

// object decodes raw as a JSON object whose keys must all be in allowed
// (compared exactly, unlike encoding/json's field matching) and which must
// have every key in required.
func object(raw json.RawMessage, where string, required []string, allowed ...string) (map[string]json.RawMessage, []string) {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return nil, []string{fmt.Sprintf("%s: not a JSON object: %s", where, short(raw))}
	}
	var problems []string
	ok := map[string]bool{}
	for _, k := range append(required, allowed...) {
		ok[k] = true
	}
	for k := range m {
		if !ok[k] {
			problems = append(problems, fmt.Sprintf("%s: unexpected key %q", where, k))
		}
	}
	for _, k := range required {
		if _, has := m[k]; !has {
			problems = append(problems, fmt.Sprintf("%s: missing key %q", where, k))
		}
	}
	return m, problems
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

func short(raw []byte) string {
	if len(raw) > 80 {
		return string(raw[:80]) + "..."
	}
	return string(raw)
}

// nanos parses a decimal uint64 string of Unix nanoseconds.
func nanos(raw json.RawMessage, where string) (time.Time, []string) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, []string{fmt.Sprintf("%s: timestamp is not a string: %s", where, short(raw))}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strings.TrimLeft(s, "0123456789") != "" {
		return time.Time{}, []string{fmt.Sprintf("%s: timestamp %q is not positive decimal nanoseconds", where, s)}
	}
	return time.Unix(0, n).UTC(), nil
}

var lokiLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// decodeLoki checks a push request against Loki's JSON push format:
//
//	{"streams":[{"stream":{"<label>":"<value>",...},
//	             "values":[["<unix ns>","<line>"(,{<metadata>})?],...]}]}
//
// and returns its entries, with Service taken from pebble_service.
func decodeLoki(r *http.Request, body []byte) ([]Entry, []string) {
	var problems []string
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want %q", ct, "application/json; charset=utf-8"))
	}
	if !utf8.Valid(body) {
		problems = append(problems, "body is not valid UTF-8")
	}
	top, p := object(body, "push", []string{"streams"})
	problems = append(problems, p...)
	var streams []json.RawMessage
	if err := json.Unmarshal(top["streams"], &streams); err != nil || len(streams) == 0 {
		return nil, append(problems, "streams: not a non-empty array")
	}
	var entries []Entry
	for i, raw := range streams {
		where := fmt.Sprintf("streams[%d]", i)
		s, p := object(raw, where, []string{"stream", "values"})
		problems = append(problems, p...)
		var labels map[string]string
		if err := strictUnmarshal(s["stream"], &labels); err != nil || len(labels) == 0 {
			problems = append(problems, where+".stream: not a non-empty object of strings")
			continue
		}
		for _, k := range sortedKeys(labels) {
			if !lokiLabelName.MatchString(k) {
				problems = append(problems, fmt.Sprintf("%s.stream: invalid label name %q", where, k))
			}
		}
		service, ok := labels["pebble_service"]
		if !ok {
			problems = append(problems, where+".stream: no pebble_service label")
		}
		delete(labels, "pebble_service")
		var values [][]json.RawMessage
		if err := json.Unmarshal(s["values"], &values); err != nil || len(values) == 0 {
			problems = append(problems, where+".values: not a non-empty array of arrays")
			continue
		}
		var last time.Time
		for j, v := range values {
			where := fmt.Sprintf("%s.values[%d]", where, j)
			if len(v) != 2 && len(v) != 3 {
				problems = append(problems, fmt.Sprintf("%s: %d elements, want 2 or 3", where, len(v)))
				continue
			}
			tm, p := nanos(v[0], where)
			problems = append(problems, p...)
			var line string
			if err := json.Unmarshal(v[1], &line); err != nil {
				problems = append(problems, where+": line is not a string")
			}
			if tm.Before(last) {
				problems = append(problems, where+": entries out of order")
			}
			last = tm
			entries = append(entries, Entry{Service: service, Labels: labels, Time: tm, Message: line})
		}
	}
	return entries, problems
}

// decodeOTLP checks a request's Content-Type and its body (ParseOTLP).
func decodeOTLP(r *http.Request, body []byte) ([]Entry, []string) {
	var problems []string
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want %q", ct, "application/json"))
	}
	entries, p := ParseOTLP(body)
	return entries, append(problems, p...)
}

// ParseOTLP checks body against OTLP/HTTP's JSON encoding of
// ExportLogsServiceRequest (field names in lowerCamelCase, 64-bit integers
// as decimal strings, AnyValue objects with one value key, string
// attributes, scope "pebble") and returns its entries, with Service taken
// from the service.name resource attribute, and every deviation found.
// The OTLP receiver checks each request with it; the tests against the
// real OpenTelemetry Collector read what the collector exports with it.
func ParseOTLP(body []byte) ([]Entry, []string) {
	var problems []string
	top, p := object(body, "request", []string{"resourceLogs"})
	problems = append(problems, p...)
	var rls []json.RawMessage
	if err := json.Unmarshal(top["resourceLogs"], &rls); err != nil || len(rls) == 0 {
		return nil, append(problems, "resourceLogs: not a non-empty array")
	}
	var entries []Entry
	for i, raw := range rls {
		where := fmt.Sprintf("resourceLogs[%d]", i)
		rl, p := object(raw, where, []string{"resource", "scopeLogs"}, "schemaUrl")
		problems = append(problems, p...)
		res, p := object(rl["resource"], where+".resource", []string{"attributes"}, "droppedAttributesCount")
		problems = append(problems, p...)
		attrs, p := otlpAttributes(res["attributes"], where+".resource.attributes")
		problems = append(problems, p...)
		service, ok := attrs["service.name"]
		if !ok {
			problems = append(problems, where+": no service.name attribute")
		}
		delete(attrs, "service.name")
		var sls []json.RawMessage
		if err := json.Unmarshal(rl["scopeLogs"], &sls); err != nil || len(sls) == 0 {
			problems = append(problems, where+".scopeLogs: not a non-empty array")
			continue
		}
		for j, raw := range sls {
			where := fmt.Sprintf("%s.scopeLogs[%d]", where, j)
			sl, p := object(raw, where, []string{"scope", "logRecords"}, "schemaUrl")
			problems = append(problems, p...)
			scope, p := object(sl["scope"], where+".scope", []string{"name"}, "version", "attributes", "droppedAttributesCount")
			problems = append(problems, p...)
			var name string
			if json.Unmarshal(scope["name"], &name); name != "pebble" {
				problems = append(problems, fmt.Sprintf("%s.scope.name %q, want \"pebble\"", where, name))
			}
			var records []json.RawMessage
			if err := json.Unmarshal(sl["logRecords"], &records); err != nil || len(records) == 0 {
				problems = append(problems, where+".logRecords: not a non-empty array")
				continue
			}
			for k, raw := range records {
				where := fmt.Sprintf("%s.logRecords[%d]", where, k)
				rec, p := object(raw, where, []string{"timeUnixNano", "body"},
					"observedTimeUnixNano", "severityNumber", "severityText", "attributes",
					"droppedAttributesCount", "flags", "traceId", "spanId", "eventName")
				problems = append(problems, p...)
				tm, p := nanos(rec["timeUnixNano"], where+".timeUnixNano")
				problems = append(problems, p...)
				msg, p := otlpString(rec["body"], where+".body")
				problems = append(problems, p...)
				entries = append(entries, Entry{Service: service, Labels: attrs, Time: tm, Message: msg})
			}
		}
	}
	return entries, problems
}

// otlpAttributes decodes a KeyValue list whose values must be strings.
func otlpAttributes(raw json.RawMessage, where string) (map[string]string, []string) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, []string{where + ": not an array"}
	}
	var problems []string
	out := make(map[string]string)
	for i, raw := range list {
		where := fmt.Sprintf("%s[%d]", where, i)
		kv, p := object(raw, where, []string{"key", "value"})
		problems = append(problems, p...)
		var key string
		if err := json.Unmarshal(kv["key"], &key); err != nil || key == "" {
			problems = append(problems, where+".key: not a non-empty string")
		}
		if _, dup := out[key]; dup {
			problems = append(problems, fmt.Sprintf("%s: duplicate key %q", where, key))
		}
		v, p := otlpString(kv["value"], where+".value")
		problems = append(problems, p...)
		out[key] = v
	}
	return out, problems
}

// otlpString decodes an AnyValue that must hold a stringValue.
func otlpString(raw json.RawMessage, where string) (string, []string) {
	v, problems := object(raw, where, []string{"stringValue"})
	var s string
	if err := json.Unmarshal(v["stringValue"], &s); err != nil {
		problems = append(problems, where+".stringValue: not a string")
	}
	return s, problems
}
