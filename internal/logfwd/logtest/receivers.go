package logtest

import (
	"fmt"
	"net/http"
)

// Loki is a receiver for Loki's push API at /loki/api/v1/push. It answers
// 204 No Content, as Loki does.
type Loki struct{ httpReceiver }

// NewLoki starts a Loki receiver on a loopback port.
func NewLoki() (*Loki, error) {
	r := &Loki{httpReceiver{path: "/loki/api/v1/push", decode: decodeLoki, ok: http.StatusNoContent}}
	return r, r.start()
}

// URL is the push URL, a log target's location.
func (r *Loki) URL() string { return "http://" + r.Addr() + r.path }

// OTLP is a receiver for OTLP/HTTP logs in JSON at /v1/logs. It answers 200
// with an empty ExportLogsServiceResponse.
type OTLP struct{ httpReceiver }

// NewOTLP starts an OTLP receiver on a loopback port.
func NewOTLP() (*OTLP, error) {
	r := &OTLP{httpReceiver{path: "/v1/logs", decode: decodeOTLP, ok: http.StatusOK}}
	return r, r.start()
}

// URL is the base URL, a log target's location.
func (r *OTLP) URL() string { return "http://" + r.Addr() }

// RejectSome makes every later success answer an OTLP partial success that
// says rejected records were refused, with message. The entries are still
// recorded, so a test can tell what was sent.
func (r *OTLP) RejectSome(rejected int, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = fmt.Sprintf(`{"partialSuccess":{"rejectedLogRecords":"%d","errorMessage":%q}}`, rejected, message)
}
