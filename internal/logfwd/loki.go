package logfwd

import (
	"context"
	"encoding/json"
	"strconv"
)

// lokiSender posts to Loki's push API (behaviour.md §9.4):
//
//	{"streams":[{"stream":{<labels>,"pebble_service":"<svc>"},
//	             "values":[["<unix ns>","<message>"],...]}]}
type lokiSender struct {
	http *httpPoster
}

type lokiPush struct {
	Streams []lokiStream `json:"streams"`
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

func (l *lokiSender) send(ctx context.Context, batch []item) error {
	var push lokiPush
	for _, s := range byService(batch) {
		ls := lokiStream{Stream: map[string]string{"pebble_service": s.service}}
		if s.labels != nil {
			for k, v := range s.labels.values {
				ls.Stream[k] = v
			}
		}
		ls.Values = make([][2]string, len(s.items))
		for i, it := range s.items {
			ls.Values[i] = [2]string{strconv.FormatInt(it.Time.UnixNano(), 10), it.Message}
		}
		push.Streams = append(push.Streams, ls)
	}
	l.http.body.Reset()
	enc := json.NewEncoder(&l.http.body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(push); err != nil {
		return &sendError{err: err}
	}
	_, err := l.http.post(ctx)
	return err
}

func (l *lokiSender) close() { l.http.close() }
