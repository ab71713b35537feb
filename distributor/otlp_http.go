package distributor

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	ctProtobuf = "application/x-protobuf"
	ctJSON     = "application/json"
)

// HTTPHandler serves OTLP/HTTP: POST /v1/logs and /v1/traces.
func (d *Distributor) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/logs", d.serveOTLPLogs)
	mux.HandleFunc("/v1/traces", d.serveOTLPTraces)
	return mux
}

// exportRequest is what plogotlp and ptraceotlp requests and responses have in common.
type codec interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type encoder interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (d *Distributor) serveOTLPLogs(w http.ResponseWriter, r *http.Request) {
	req := plogotlp.NewExportRequest()
	ct, tenant, ok := d.readOTLP(w, r, req)
	if !ok {
		return
	}
	res, err := d.PushLogs(r.Context(), tenant, req.Logs())
	if err != nil {
		writeHTTPError(w, ct, err)
		return
	}
	resp := plogotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.Message)
	}
	writeOTLP(w, ct, resp)
}

func (d *Distributor) serveOTLPTraces(w http.ResponseWriter, r *http.Request) {
	req := ptraceotlp.NewExportRequest()
	ct, tenant, ok := d.readOTLP(w, r, req)
	if !ok {
		return
	}
	res, err := d.PushTraces(r.Context(), tenant, req.Traces())
	if err != nil {
		writeHTTPError(w, ct, err)
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.Message)
	}
	writeOTLP(w, ct, resp)
}

// readOTLP checks method, content type and tenant, reads the (possibly gzipped) body
// within the size limit and decodes it. On failure it has already answered.
func (d *Distributor) readOTLP(w http.ResponseWriter, r *http.Request, into codec) (ct, tenant string, ok bool) {
	ct, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeHTTPError(w, ctJSON, &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusMethodNotAllowed, Msg: r.Method + " is not allowed: OTLP/HTTP takes POST"})
		return "", "", false
	}
	if ct != ctProtobuf && ct != ctJSON {
		writeHTTPError(w, ctJSON, &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusUnsupportedMediaType,
			Msg: fmt.Sprintf("unsupported content type %q: OTLP/HTTP takes %s or %s", r.Header.Get("Content-Type"), ctProtobuf, ctJSON)})
		return "", "", false
	}
	tenant, err := d.resolveTenant(r.Header.Get("X-Scope-OrgID"))
	if err != nil {
		writeHTTPError(w, ct, err)
		return "", "", false
	}
	if err := d.pushBack(); err != nil {
		writeHTTPError(w, ct, err)
		return "", "", false
	}
	body, err := d.readBody(r)
	if err != nil {
		writeHTTPError(w, ct, err)
		return "", "", false
	}
	if ct == ctJSON {
		err = into.UnmarshalJSON(body)
	} else {
		err = into.UnmarshalProto(body)
	}
	if err != nil {
		writeHTTPError(w, ct, newInvalidError(fmt.Sprintf("malformed OTLP %s payload: %v", ct, err)))
		return "", "", false
	}
	return ct, tenant, true
}

func (d *Distributor) readBody(r *http.Request) ([]byte, error) {
	return d.readEncodedBody(r.Body, r.Header.Get("Content-Encoding"))
}

// readEncodedBody reads a body with the given Content-Encoding, decompressed, within
// max_recv_msg_size.
func (d *Distributor) readEncodedBody(body io.Reader, enc string) ([]byte, error) {
	limit := int64(d.cfg.MaxRecvMsgSize)
	src := body
	switch enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(body, limit+1))
		if err != nil {
			return nil, newInvalidError("malformed gzip body: " + err.Error())
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &Error{Code: codes.InvalidArgument, HTTPStatus: http.StatusUnsupportedMediaType, Msg: "unsupported Content-Encoding " + strconv.Quote(enc) + ": use gzip or none"}
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(src, limit+1))
	if err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, newInvalidError("malformed gzip body: " + err.Error())
		}
		return nil, newInvalidError("read body: " + err.Error())
	}
	if n > limit {
		return nil, tooLargeError(limit)
	}
	return buf.Bytes(), nil
}

func tooLargeError(limit int64) error {
	return newTooLargeError(fmt.Sprintf("request body exceeds the limit max_recv_msg_size=%d bytes (-distributor.max-recv-msg-size); send smaller batches", limit))
}

func writeOTLP(w http.ResponseWriter, ct string, resp encoder) {
	var body []byte
	var err error
	if ct == ctJSON {
		body, err = resp.MarshalJSON()
	} else {
		body, err = resp.MarshalProto()
	}
	if err != nil {
		writeHTTPError(w, ct, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// writeHTTPError answers with a google.rpc.Status in the request's encoding, as the
// OTLP/HTTP spec asks, plus Retry-After on retryable statuses.
func writeHTTPError(w http.ResponseWriter, ct string, err error) {
	e := asError(err)
	st := &spb.Status{Code: int32(e.Code), Message: e.Msg}
	var body []byte
	if ct == ctProtobuf {
		body, _ = proto.Marshal(st) // a Status always marshals
	} else {
		ct = ctJSON
		body, _ = protojson.Marshal(st)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, e.RetryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(e.HTTPStatus)
	w.Write(body)
}
