package distributor

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"google.golang.org/grpc/codes"
)

// LokiPushPaths are the paths of Loki's push API: the v1 path and the legacy one that
// older Promtail versions still use.
var LokiPushPaths = []string{"/loki/api/v1/push", "/api/prom/push"}

// LokiPushHandler serves Loki's push API (POST, JSON or snappy-compressed protobuf) so
// that Promtail, Alloy and Fluent Bit can send to Strata. It answers like Loki: 204 on
// success, and a plain-text message otherwise.
func (d *Distributor) LokiPushHandler() http.Handler {
	return http.HandlerFunc(d.serveLokiPush)
}

func (d *Distributor) serveLokiPush(w http.ResponseWriter, r *http.Request) {
	p, tenant, err := d.readLokiPush(r)
	if err != nil {
		writeLokiError(w, err)
		return
	}
	res, err := d.pushLoki(r.Context(), tenant, p)
	if err != nil {
		writeLokiError(w, err)
		return
	}
	// Like Loki, a push with rejected entries is a 400 even though the valid ones were
	// stored: the client must not retry it, and the message says what was dropped.
	if res.Rejected > 0 {
		writeLokiError(w, newInvalidError(res.Message))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readLokiPush checks method, content type and tenant, then reads and decodes the body.
func (d *Distributor) readLokiPush(r *http.Request) (*lokiPush, string, error) {
	if r.Method != http.MethodPost {
		return nil, "", &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusMethodNotAllowed, Msg: r.Method + " is not allowed: the Loki push API takes POST"}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	// Loki reads a request without a content type as protobuf; so do we.
	if ct != ctJSON && ct != ctProtobuf && ct != "" {
		return nil, "", &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusUnsupportedMediaType,
			Msg: fmt.Sprintf("unsupported content type %q: the Loki push API takes %s or snappy-compressed %s", r.Header.Get("Content-Type"), ctJSON, ctProtobuf)}
	}
	tenant, err := d.resolveTenant(r.Header.Get("X-Scope-OrgID"))
	if err != nil {
		return nil, "", err
	}
	if err := d.pushBack(); err != nil {
		return nil, "", err
	}
	enc := r.Header.Get("Content-Encoding")
	if enc == "snappy" && ct != ctJSON {
		// Protobuf bodies are always snappy-compressed; some clients say so in the header.
		enc = ""
	}
	body, err := d.readEncodedBody(r.Body, enc)
	if err != nil {
		return nil, "", err
	}
	var p *lokiPush
	if ct == ctJSON {
		p, err = decodeLokiJSON(body)
	} else {
		p, err = decodeLokiProto(body, d.cfg.MaxRecvMsgSize)
	}
	return p, tenant, err
}

// pushLoki validates and replicates a decoded Loki push for a tenant.
func (d *Distributor) pushLoki(ctx context.Context, tenant string, p *lokiPush) (Result, error) {
	lim, err := d.admit(tenant, "logs", p.entryCount())
	if err != nil {
		return Result{}, err
	}
	c := convertLoki(tenant, d.validator(lim), p)
	d.streams.admit(tenant, lim.MaxStreams, d.now(), c)
	return d.push(ctx, tenant, "logs", c)
}

// writeLokiError answers in Loki's style: the status and a plain-text message, plus
// Retry-After on retryable statuses.
func writeLokiError(w http.ResponseWriter, err error) {
	e := asError(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, e.RetryAfter.Seconds()))))
	}
	if e.HTTPStatus == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	http.Error(w, e.Msg, e.HTTPStatus)
}
