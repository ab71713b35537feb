package querier

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

type tailMessage struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	} `json:"streams"`
}

func dialTail(t *testing.T, srv *httptest.Server, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/loki/api/v1/tail?" + qs("query", query, "limit", "5", "start", ns(base), "tenant", tenantA)
	conn, err := websocket.Dial(u, "", srv.URL)
	if err != nil {
		t.Fatalf("dial tail: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func readTail(t *testing.T, conn *websocket.Conn) tailMessage {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var raw string
	if err := websocket.Message.Receive(conn, &raw); err != nil {
		t.Fatalf("read tail: %v", err)
	}
	var m tailMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("tail message %q: %v", raw, err)
	}
	return m
}

// TestTail connects as the UI does (tenant as a parameter): the first message holds
// the newest `limit` lines since start, oldest first; a line written later arrives in
// a later message, once.
func TestTail(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.q.Handler())
	defer srv.Close()
	conn := dialTail(t, srv, `{service_name="checkout"}`)
	first := readTail(t, conn)
	var got []string
	for _, s := range first.Streams {
		for _, v := range s.Values {
			got = append(got, v[0])
		}
	}
	var want []string
	for _, r := range f.rows(tenantA, false) {
		if r.Entry.Stream.Get("service_name") == "checkout" && len(want) < 5 {
			want = append([]string{strconv.FormatInt(r.Entry.Timestamp, 10)}, want...)
		}
	}
	slices.Sort(got)
	if len(got) != 5 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("first tail batch %v, want %v", got, want)
	}

	late := chtest.SampleLogs(tenantA, base.Add(30*time.Minute), 1, 9)
	late[0].Record.Body = "arrived while tailing"
	for _, r := range f.logs {
		if r.Row().Entry.Stream.Get("service_name") == "checkout" {
			late[0].Stream, late[0].Resource = r.Stream, r.Resource
			break
		}
	}
	chtest.WriteLogs(t, f.store, late)
	for seen := 0; seen == 0; {
		m := readTail(t, conn)
		for _, s := range m.Streams {
			for _, v := range s.Values {
				if v[1] != "arrived while tailing" {
					t.Fatalf("repeated or unexpected line %v", v)
				}
				seen++
			}
		}
	}
}

func TestTailRejectsBeforeUpgrade(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) { d.Store = func() *clickhouse.Client { return nil } })
	for path, want := range map[string]string{
		"/loki/api/v1/tail?" + qs("query", `{service_name="x"`):                    "parse error",
		"/loki/api/v1/tail?" + qs("query", `{service_name="x"}`, "delay_for", "6"): "delay_for",
		"/loki/api/v1/tail?" + qs("query", `rate({service_name="x"}[1m])`):         "log query",
	} {
		if r := f.get(path); r.status != http.StatusBadRequest || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := f.getAs("", "/loki/api/v1/tail?"+qs("query", `{service_name="x"}`, "tenant", "a|b")); r.status != http.StatusBadRequest || !strings.Contains(r.body, "unsupported character") {
		t.Errorf("tenant parameter: %d %s", r.status, r.body)
	}
}
