package distributor

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/golang/snappy"
	"github.com/grafana/dskit/flagext"
	dsring "github.com/grafana/dskit/ring"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strataobs/strata/limits"
)

// TestLokiPushHandlerErrors covers every answer that comes before replication (so no
// ring is needed): status, plain-text message and Retry-After.
func TestLokiPushHandlerErrors(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	lim.IngestionBurstRecords = 2
	newDist := func(auth bool) *Distributor {
		cfg := Config{MaxRecvMsgSize: 1000, AuthEnabled: auth, DefaultTenant: "anonymous"}
		return New(cfg, nil, nil, limits.NewOverrides(lim), prometheus.NewRegistry(), log.NewNopLogger())
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	entries := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = `["` + now + `","line ` + strconv.Itoa(i) + `"]`
		}
		return `{"streams":[{"stream":{"job":"x"},"values":[` + strings.Join(vals, ",") + `]}]}`
	}
	cases := []struct {
		name, method, path, ct, enc, tenant string
		auth                                bool
		body                                []byte
		code                                int
		msg, retryAfter                     string
	}{
		{name: "GET", method: http.MethodGet, code: 405, msg: "GET is not allowed: the Loki push API takes POST"},
		{name: "wrong content type", ct: "text/plain", body: []byte("x"), code: 415, msg: `unsupported content type "text/plain": the Loki push API takes application/json or snappy-compressed application/x-protobuf`},
		{name: "bad JSON", ct: "application/json", body: []byte(`{"streams":`), code: 400, msg: "malformed Loki push JSON: unexpected end of JSON input"},
		{name: "bad gzip JSON", ct: "application/json", enc: "gzip", body: []byte("not gzip"), code: 400, msg: "malformed gzip body"},
		{name: "unknown encoding", ct: "application/json", enc: "br", body: []byte("{}"), code: 415, msg: `unsupported Content-Encoding "br"`},
		{name: "not snappy", ct: "application/x-protobuf", body: []byte{0xff, 0xff, 0xff, 0xff, 0xff}, code: 400, msg: "body is not snappy block-compressed"},
		{name: "no content type is protobuf", body: []byte{0xff, 0xff, 0xff, 0xff, 0xff}, code: 400, msg: "malformed Loki push protobuf"},
		{name: "snappy content encoding is accepted", ct: "application/x-protobuf", enc: "snappy", body: snappy.Encode(nil, nil), code: 204},
		{name: "oversize body", ct: "application/json", body: make([]byte, 2000), code: 413, msg: "max_recv_msg_size=1000"},
		{name: "oversize after gzip", ct: "application/json", enc: "gzip", body: gz(make([]byte, 2000)), code: 413, msg: "max_recv_msg_size=1000"},
		{name: "oversize after snappy", ct: "application/x-protobuf", body: snappy.Encode(nil, make([]byte, 2000)), code: 413, msg: "max_recv_msg_size=1000"},
		{name: "no tenant with auth", ct: "application/json", auth: true, body: []byte(`{}`), code: 401, msg: "X-Scope-OrgID"},
		{name: "bad tenant", ct: "application/json", tenant: "a/b", body: []byte(`{}`), code: 400, msg: "unsupported character '/'"},
		{name: "empty push", ct: "application/json", body: []byte(`{"streams":[]}`), code: 204},
		{name: "legacy path", path: "/api/prom/push", ct: "application/json", body: []byte(`{"streams":[]}`), code: 204},
		{name: "all entries rejected", ct: "application/json", body: []byte(`{"streams":[{"stream":{"job":"x"},"values":[["1","old"]]}]}`), code: 400,
			msg: `1 of 1 records rejected; first: entry for stream {job="x"}: timestamp 1970-01-01T00:00:00.000000001Z is older than the limit reject_older_than=168h0m0s`},
		{name: "bad labels", ct: "application/json", body: []byte(`{"streams":[{"labels":"{job=x}","entries":[{"ts":"2024-01-01T00:00:00Z","line":"x"}]}]}`), code: 400,
			msg: `invalid stream labels "{job=x}": at offset 5: label job: expected a quoted label value`},
		{name: "rate limited", ct: "application/json", body: []byte(entries(3)), code: 429, msg: "ingestion_burst_records=2", retryAfter: "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = LokiPushPaths[0]
			}
			req := httptest.NewRequest(method, path, bytes.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.enc != "" {
				req.Header.Set("Content-Encoding", tc.enc)
			}
			if tc.tenant != "" {
				req.Header.Set("X-Scope-OrgID", tc.tenant)
			}
			rec := httptest.NewRecorder()
			newDist(tc.auth).LokiPushHandler().ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tc.code || !strings.Contains(body, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, body, tc.code, tc.msg)
			}
			if tc.code != 204 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", rec.Header().Get("Content-Type"))
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

// emptyRing is a ring with no ingesters.
type emptyRing struct{}

func (emptyRing) Get(uint32, dsring.Operation, []dsring.InstanceDesc, []string, []string) (dsring.ReplicationSet, error) {
	return dsring.ReplicationSet{}, dsring.ErrEmptyRing
}
func (emptyRing) ReplicationFactor() int { return 1 }
func (emptyRing) InstancesCount() int    { return 0 }

func TestLokiPushWithoutIngestersIs503(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	d := New(Config{MaxRecvMsgSize: 1 << 20, DefaultTenant: "anonymous", RemoteTimeout: time.Second}, emptyRing{}, nil, limits.NewOverrides(lim), prometheus.NewRegistry(), log.NewNopLogger())
	body := `{"streams":[{"stream":{"job":"x"},"values":[["` + strconv.FormatInt(time.Now().UnixNano(), 10) + `","x"]]}]}`
	req := httptest.NewRequest(http.MethodPost, LokiPushPaths[0], strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	d.LokiPushHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "quorum") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d %q Retry-After %q, want 503 naming the quorum, with Retry-After", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
}
