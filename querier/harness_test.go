package querier

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/dskit/flagext"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// The fixture's clock: data from base to base+400s, crossing midnight (two partitions).
var (
	base    = time.Date(2026, 11, 24, 23, 57, 0, 0, time.UTC)
	fixNow  = base.Add(time.Hour)
	tenantA = "team-a"
	tenantB = "team-b"
)

// fixture is a querier over a fresh ClickHouse database holding tenant A's logs and
// traces (tenant B has none), plus everything that was written, for references.
type fixture struct {
	t      *testing.T
	q      *Querier
	store  *clickhouse.Client
	logs   []chtest.LogRecord
	traces []chtest.SpanRecord
}

func defaultConfig() Config {
	var cfg Config
	flagext.DefaultValues(&cfg)
	return cfg
}

func newFixture(t *testing.T, mutate ...func(*Config, *Deps)) *fixture {
	t.Helper()
	return newFixtureStoring(t, func(int) bool { return true }, func(int) bool { return true }, mutate...)
}

// newFixtureStoring writes only the log records and spans whose index passes the
// filters to ClickHouse (the rest exist only in memory, for Recent tests).
func newFixtureStoring(t *testing.T, storeLog, storeSpan func(i int) bool, mutate ...func(*Config, *Deps)) *fixture {
	t.Helper()
	c := chtest.New(t)
	f := &fixture{t: t, store: c, logs: chtest.SampleLogs(tenantA, base, 400, 1), traces: chtest.SampleTraces(tenantA, base, 30, 1)}
	var logs []chtest.LogRecord
	for i, r := range f.logs {
		if storeLog(i) {
			logs = append(logs, r)
		}
	}
	var spans []chtest.SpanRecord
	for i, r := range f.traces {
		if storeSpan(i) {
			spans = append(spans, r)
		}
	}
	chtest.WriteLogs(t, c, logs)
	chtest.WriteSpans(t, c, spans)
	// Copies of some records under another flush id: reads must count them once.
	copies := slices.Clone(logs[50:80])
	for i := range copies {
		copies[i].FlushID = 777
	}
	chtest.WriteLogs(t, c, copies)
	cfg := defaultConfig()
	deps := Deps{Store: func() *clickhouse.Client { return c }}
	for _, m := range mutate {
		m(&cfg, &deps)
	}
	f.q = New(cfg, deps)
	f.q.now = func() time.Time { return fixNow }
	return f
}

// response is one HTTP answer.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// get sends a request as Grafana's backend would, provisioned with tenant A's
// X-Scope-OrgID header (contract §7): path with query, and headers.
func (f *fixture) get(path string, headers ...string) response {
	f.t.Helper()
	return f.getAs(tenantA, path, headers...)
}

// getAs sends a request as tenant ("" sends no X-Scope-OrgID).
func (f *fixture) getAs(tenant, path string, headers ...string) response {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.q.Handler().ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return response{status: rec.Code, header: rec.Header(), body: string(b)}
}

func ns(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

func qs(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// rows returns tenant's fixture rows (each record once) in direction order.
func (f *fixture) rows(tenant string, forward bool) []clickhouse.LogRow {
	seen := map[uint64]bool{}
	var out []clickhouse.LogRow
	for _, r := range f.logs {
		if r.Tenant == tenant && !seen[r.Record.Id] {
			seen[r.Record.Id] = true
			out = append(out, r.Row())
		}
	}
	slices.SortFunc(out, compareRows(forward))
	return out
}

// memSource serves the fixture from memory: the reference for metric queries.
func (f *fixture) memSource(tenant string) logql.Source {
	var entries []logql.Entry
	for _, r := range f.rows(tenant, true) {
		entries = append(entries, r.Entry)
	}
	return logql.SliceSource(entries)
}

// memLogs is the reference answer of a log query, computed with logql in memory.
func (f *fixture) memLogs(tenant string, lq lokiQuery) logql.Streams {
	f.t.Helper()
	e, err := logql.ParseLogQuery(lq.query)
	if err != nil {
		f.t.Fatal(err)
	}
	var entries []logql.Entry
	for _, r := range f.rows(tenant, lq.forward) {
		if ts := r.Entry.Timestamp; ts >= lq.start && ts < lq.end && logql.MatchesLabels(e.Matchers, r.Entry.Stream) {
			entries = append(entries, r.Entry)
		}
	}
	s, err := logql.EvalLogs(f.t.Context(), e, logql.NewSliceIterator(entries), logql.EvalLogsParams{Limit: lq.limit, Categorize: lq.categorize})
	if err != nil {
		f.t.Fatal(err)
	}
	if s == nil {
		s = logql.Streams{}
	}
	return s
}

// spanRows are the fixture's spans of one trace as storage returns them.
func (f *fixture) spanRows(traceID string) []clickhouse.Span {
	var out []clickhouse.Span
	for _, r := range f.traces {
		if s := r.Row(); s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return clickhouse.DedupSpans(out)
}

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
