package integration

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lokipb "github.com/strataobs/strata/proto/loki/v1"
)

// lokiProto is a push request as Promtail and Alloy send it: protobuf, snappy block-compressed.
func lokiProto(t *testing.T, req *lokipb.PushRequest) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

// postLoki posts a push, retrying 503 for a while as Loki clients do: just after /ready the
// distributor's view of the ring may not show the ingester yet.
func postLoki(t *testing.T, url, tenant, contentType string, body []byte, gz bool) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, resp := postOTLP(t, url, tenant, contentType, body, gz)
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return code, resp
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func nsText(ts time.Time) string { return strconv.FormatInt(ts.UnixNano(), 10) }

// TestLokiPushLandsInClickHouse pushes JSON, gzipped JSON (on the legacy path) and snappy
// protobuf to the main HTTP server and checks every Loki-derived field of the stored rows.
func TestLokiPushLandsInClickHouse(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789)

	jsonBody := fmt.Sprintf(`{"streams":[{"stream":{"job":"varlogs","env":"prod","filename":"/var/log/app.log"},"values":[
		["%s","level=warn disk almost full",{"user":"bob","trace_id":"abc"}],
		["%s","ERROR connection refused"]]}]}`, nsText(ts), nsText(ts.Add(1)))
	if code, body := postLoki(t, p.HTTPURL()+"/loki/api/v1/push", "t1", "application/json", []byte(jsonBody), false); code != http.StatusNoContent {
		t.Fatalf("JSON push: %d %s", code, body)
	}
	gzBody := fmt.Sprintf(`{"streams":[{"stream":{"service_name":"checkout","level":"info"},"values":[["%s","gzip line"]]}]}`, nsText(ts.Add(2)))
	if code, body := postLoki(t, p.HTTPURL()+"/api/prom/push", "t1", "application/json", []byte(gzBody), true); code != http.StatusNoContent {
		t.Fatalf("gzip JSON push: %d %s", code, body)
	}
	pbBody := lokiProto(t, &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{
		Labels: `{app="shop", env="prod"}`,
		Entries: []*lokipb.EntryAdapter{
			{Timestamp: timestamppb.New(ts.Add(3)), Line: `{"msg":"boom"}`, StructuredMetadata: []*lokipb.LabelPairAdapter{{Name: "level", Value: "error"}}},
			{Timestamp: timestamppb.New(ts.Add(4)), Line: `{"msg":"fine","lvl":"debug"}`},
		},
	}}})
	if code, body := postLoki(t, p.HTTPURL()+"/loki/api/v1/push", "t1", "application/x-protobuf", pbBody, false); code != http.StatusNoContent {
		t.Fatalf("protobuf push: %d %s", code, body)
	}
	db.waitCount(t, 30*time.Second, 5, "SELECT count() FROM %s.logs WHERE tenant = 't1'")

	varlogs := "[env filename job service_name] [prod /var/log/app.log varlogs varlogs]"
	shop := "[app env service_name] [shop prod shop]"
	want := map[string]string{
		"level=warn disk almost full":  "0 warn warn varlogs " + varlogs + " [trace_id user] [abc bob] " + varlogs,
		"ERROR connection refused":     "1 ERROR error varlogs " + varlogs + " [] [] " + varlogs,
		"gzip line":                    "2 info info checkout [level service_name] [info checkout] [] [] [level service_name] [info checkout]",
		`{"msg":"boom"}`:               "3 error error shop " + shop + " [level] [error] " + shop,
		`{"msg":"fine","lvl":"debug"}`: "4 debug debug shop " + shop + " [] [] " + shop,
	}
	rows, err := db.conn(t).Conn().Query(context.Background(), fmt.Sprintf(`SELECT body, timestamp, observed_timestamp, severity_text, level,
		service_name, labels_keys, labels_values, attr_keys, attr_values, res_keys, res_values
		FROM %s.logs WHERE tenant = 't1' ORDER BY timestamp`, db.cfg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			body, sevText, level, svc string
			tsNs, obsNs               int64
			lk, lv, ak, av, rk, rv    []string
		)
		if err := rows.Scan(&body, &tsNs, &obsNs, &sevText, &level, &svc, &lk, &lv, &ak, &av, &rk, &rv); err != nil {
			t.Fatal(err)
		}
		if obsNs != tsNs {
			t.Errorf("row %q: observed_timestamp %d != timestamp %d", body, obsNs, tsNs)
		}
		got := fmt.Sprint(tsNs-ts.UnixNano(), " ", sevText, " ", level, " ", svc, " ", lk, " ", lv, " ", ak, " ", av, " ", rk, " ", rv)
		if got != want[body] {
			t.Errorf("row %q:\n got %s\nwant %s", body, got, want[body])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// The querier mounts /loki/api/ as a prefix; it must still answer its own paths.
	if resp, err := http.Get(p.HTTPURL() + "/loki/api/v1/status/buildinfo"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("querier buildinfo next to the push route: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestLokiPushBadInput checks status and message of each kind of bad push, and that a
// partly bad push stores its valid entries.
func TestLokiPushBadInput(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	url := p.HTTPURL() + "/loki/api/v1/push"
	now := time.Now()
	badLabels := lokiProto(t, &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{
		Labels: `{job=varlogs}`, Entries: []*lokipb.EntryAdapter{{Timestamp: timestamppb.New(now), Line: "bad labels"}},
	}}})
	cases := []struct {
		name, ct string
		body     []byte
		code     int
		msg      string
	}{
		{"malformed json", "application/json", []byte(`{"streams":[{"stream":`), 400, "malformed Loki push JSON"},
		{"bad label string", "application/x-protobuf", badLabels, 400, `invalid stream labels "{job=varlogs}": at offset 5: label job: expected a quoted label value`},
		{"timestamp in 1970", "application/json", []byte(`{"streams":[{"stream":{"job":"bad"},"values":[["1","old"]]}]}`), 400, "older than the limit reject_older_than=168h0m0s"},
		{"wrong content type", "text/plain", []byte("hello"), 415, `unsupported content type "text/plain"`},
		{"not snappy", "application/x-protobuf", []byte("plain text"), 400, "not snappy block-compressed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postOTLP(t, url, "t1", tc.ct, tc.body, false)
			if code != tc.code || !strings.Contains(string(body), tc.msg) {
				t.Errorf("got %d %s, want %d containing %q", code, body, tc.code, tc.msg)
			}
		})
	}

	t.Run("partly rejected", func(t *testing.T) {
		body := fmt.Sprintf(`{"streams":[{"stream":{"job":"partial"},"values":[["%s","a"],["1","too old"],["%s","b"]]}]}`, nsText(now), nsText(now.Add(1)))
		code, resp := postLoki(t, url, "t1", "application/json", []byte(body), false)
		if code != 400 || !strings.Contains(string(resp), "1 of 3 records rejected") || !strings.Contains(string(resp), "reject_older_than") {
			t.Errorf("got %d %s, want 400 saying 1 of 3 records were rejected for reject_older_than", code, resp)
		}
	})

	db.waitCount(t, 30*time.Second, 2, "SELECT count() FROM %s.logs WHERE service_name = 'partial'")
	if n := db.count(t, "SELECT count() FROM %s.logs WHERE service_name != 'partial'"); n != 0 {
		t.Errorf("%d rejected entries were stored", n)
	}
}
