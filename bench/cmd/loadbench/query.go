package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strataobs/strata/bench"
	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
)

// The query phase: p50/p95 latency of a fixed set of LogQL and TraceQL queries through
// Strata's HTTP API over a stored data set (bench.QueryData), each next to hand-written
// ClickHouse SQL answering the same question against the same tables, in the same run.

// benchQuery is one query of the set.
type benchQuery struct {
	name  string
	kind  string // "logs", "metric", "traces", "labels" (label values) or "trace" (trace by id)
	query string // LogQL or TraceQL; the label name or the trace id
	// start and end, when set, narrow the data set's range for this query.
	start, end int64
	sql        string // the hand-written equivalent
	// exactSQL, when set, is the SQL answer that counts each record once, as Strata does
	// (copies ReplacingMergeTree has not merged yet count twice in sql); timed too.
	exactSQL string
	limit    int
	step     time.Duration // metric queries
	expect   int           // known number of results, 0 when not known in advance
}

// queryResult is what a query answered, reduced to what both sides must agree on.
type queryResult struct {
	rows int      // log lines, series or traces
	keys []string // line timestamps, "series=total" or trace ids, sorted
	sum  float64  // metric queries: the sum of all points
}

func (r queryResult) summary(kind string) string {
	if kind == "metric" {
		return fmt.Sprintf("%d series, %.0f counted", r.rows, r.sum)
	}
	return strconv.Itoa(r.rows)
}

func (r queryResult) equal(o queryResult) bool {
	if r.rows != o.rows || r.sum != o.sum || len(r.keys) != len(o.keys) {
		return false
	}
	for i := range r.keys {
		if r.keys[i] != o.keys[i] {
			return false
		}
	}
	return true
}

// queryRow is one line of the report table.
type queryRow struct {
	q                    benchQuery
	strata, sql, exact   []time.Duration
	strataRes, sqlRes    queryResult
	mismatch             string
	err                  string
	strataP50, strataP95 time.Duration
	sqlP50, sqlP95       time.Duration
}

func (h *harness) querySet(d bench.QueryData, db, traceID string) []benchQuery {
	tw := fmt.Sprintf("tenant = %s AND timestamp >= %d AND timestamp < %d", clickhouse.Quote(d.Tenant), d.Start, d.End)
	cols := "SELECT timestamp, labels_keys, labels_values, body FROM " + db + ".logs WHERE " + tw
	sw := fmt.Sprintf("tenant = %s AND start_ns >= %d AND start_ns < %d", clickhouse.Quote(d.Tenant), d.Start, d.End)
	return []benchQuery{
		{name: "selector only", kind: "logs", limit: 100, query: `{service_name="checkout"}`,
			sql: cols + " AND service_name = 'checkout' ORDER BY timestamp DESC LIMIT 100"},
		// The namespace matcher selects every stream of the tenant, so the SQL needs no
		// label condition to answer the same question.
		{name: "needle line filter", kind: "logs", limit: 100, expect: d.NeedleLines, query: `{k8s_namespace_name="shop-prod"} |= "` + d.Needle + `"`,
			sql: cols + " AND position(body, " + clickhouse.Quote(d.Needle) + ") > 0 ORDER BY timestamp DESC LIMIT 100"},
		{name: "regex line filter", kind: "logs", limit: 100, query: `{k8s_namespace_name="shop-prod"} |~ "rid=[0-9a-f]{4}beef"`,
			sql: cols + " AND match(body, 'rid=[0-9a-f]{4}beef') ORDER BY timestamp DESC LIMIT 100"},
		// checkout writes JSON lines only: as in Loki, a line the parser rejects passes a
		// numeric label filter (with __error__ set), so over access-log streams the query
		// would return unparsable lines rather than 5xx ones.
		{name: "json | status >= 500", kind: "logs", limit: 100, query: `{service_name="checkout"} | json | status >= 500`,
			sql: cols + " AND service_name = 'checkout' AND visitParamExtractUInt(body, 'status') >= 500 ORDER BY timestamp DESC LIMIT 100"},
		countOver(d, db, "sum by (service_name) (count_over_time[10m])", d.Start, d.End, 10*time.Minute),
		countOver(d, db, "sum by (service_name) (count_over_time[1m]) over 1h", d.End-int64(time.Hour), d.End, time.Minute),
		countOver(d, db, "sum by (service_name) (count_over_time[1m]) over 24h", d.End-int64(24*time.Hour), d.End, time.Minute),
		// Grafana's label browser and the UI's builder ask for a label's values.
		{name: "label values service_name", kind: "labels", query: "service_name", expect: len(bench.Services()),
			sql: "SELECT DISTINCT service_name FROM " + db + ".logs WHERE " + tw},
		// A trace by id reads the trace index for its time bounds, then the spans there,
		// with every field the OTLP answer carries.
		{name: "trace by id", kind: "trace", query: traceID, expect: bench.SpansPerTrace,
			sql: fmt.Sprintf("SELECT span_id, parent_span_id, trace_state, service_name, name, kind, start_ns, end_ns, status_code, status_message, "+
				"attr_keys, attr_values, attr_types, res_keys, res_values, res_types, event_times, event_names, event_attrs, "+
				"link_trace_ids, link_span_ids, link_trace_states, link_attrs, scope_name, scope_version, flags FROM %[1]s.spans "+
				"WHERE tenant = %[2]s AND trace_id = %[3]s AND start_ns >= (SELECT min(start_ns) FROM %[1]s.trace_index WHERE tenant = %[2]s AND trace_id = %[3]s) "+
				"AND start_ns <= (SELECT max(end_ns) FROM %[1]s.trace_index WHERE tenant = %[2]s AND trace_id = %[3]s)",
				db, clickhouse.Quote(d.Tenant), clickhouse.Quote(traceID))},
		// The search answer lists each trace's root service, root name and duration, so
		// the SQL reads those for the 20 newest matching traces.
		{name: `TraceQL { resource.service.name = "payment" && status = error }`, kind: "traces", limit: 20,
			query: `{ resource.service.name = "payment" && status = error }`,
			sql: fmt.Sprintf("SELECT trace_id, min(start_ns), max(end_ns), argMin(service_name, start_ns), argMin(name, start_ns) FROM %[1]s.spans WHERE %[2]s AND trace_id IN "+
				"(SELECT trace_id FROM (SELECT trace_id, max(start_ns) AS last FROM %[1]s.spans WHERE %[2]s AND service_name = 'payment' AND status_code = 2 GROUP BY trace_id ORDER BY last DESC LIMIT 20)) GROUP BY trace_id",
				db, sw)},
	}
}

// display is how the report's table names q.
func (q benchQuery) display(d bench.QueryData) string {
	switch q.kind {
	case "labels":
		return "`GET /loki/api/v1/label/" + q.query + "/values`"
	case "trace":
		return "`GET /api/traces/" + q.query + "`"
	}
	s := "`" + mdEscape(q.query) + "`"
	if q.start != 0 && (q.start != d.Start || q.end != d.End) {
		s += " over the last " + strings.TrimSuffix(strings.TrimSuffix(time.Duration(q.end-q.start).String(), "0s"), "0m")
	}
	return s
}

// countOver is the volume query sum by (service_name) (count_over_time(...[step])) from
// start to end with a point every step, each counting the step before it: buckets
// (t-step, t] for t = start, start+step, ..., end. The SQL that counts each record once
// however many copies storage holds (FINAL) is timed too.
func countOver(d bench.QueryData, db, name string, start, end int64, step time.Duration) benchQuery {
	sql := func(final string) string {
		return fmt.Sprintf("SELECT service_name, intDiv(timestamp - %d + %d, %d) AS b, count() FROM %s.logs%s WHERE tenant = %s AND timestamp > %d AND timestamp <= %d GROUP BY service_name, b",
			start, int64(step)-1, int64(step), db, final, clickhouse.Quote(d.Tenant), start-int64(step), end)
	}
	return benchQuery{name: name, kind: "metric", step: step, start: start, end: end, sql: sql(""), exactSQL: sql(" FINAL"),
		query: fmt.Sprintf(`sum by (service_name) (count_over_time({k8s_namespace_name="shop-prod"}[%dm]))`, int(step.Minutes()))}
}

// pickTrace is the id of the first trace that starts in the second half of the data set.
func pickTrace(ctx context.Context, c *clickhouse.Client, d bench.QueryData, db string) (string, error) {
	var id string
	err := c.Conn().QueryRow(ctx, fmt.Sprintf("SELECT trace_id FROM %s.spans WHERE tenant = %s AND start_ns >= %d ORDER BY start_ns, trace_id LIMIT 1",
		db, clickhouse.Quote(d.Tenant), d.Start+(d.End-d.Start)/2)).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("pick a trace: %w", err)
	}
	return id, nil
}

// queryPhase loads (or reuses) the data set, starts one strata -target=all on it and
// times each query through Strata's HTTP API and as SQL.
func (h *harness) queryPhase(ctx context.Context) (rows []*queryRow, notes []string, err error) {
	o := h.o
	d := bench.DefaultQueryData(o.queryLines, o.querySpans)
	err = bench.Run("query", func(t *bench.T) {
		c, err := clickhouse.Open(ctx, h.chConfig(o.queryDB))
		if err != nil {
			t.Fatalf("ClickHouse at %s: %v", o.chAddr, err)
		}
		defer c.Close()
		loadNote, err := h.loadQueryData(ctx, c, d)
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, loadNote)

		p := cluster.NewProcess(t, "querier", "127.0.0.1", t.TempDir(),
			"-target=all", "-clickhouse.address="+o.chAddr, "-clickhouse.database="+o.queryDB)
		p.Start(cluster.Binary(t))
		t.Cleanup(func() {
			if b, err := os.ReadFile(p.LogPath); err == nil {
				os.WriteFile(filepath.Join(o.results, "query-strata.log"), b, 0o644)
			}
		})
		traceID, err := pickTrace(ctx, c, d, o.queryDB)
		if err != nil {
			t.Fatal(err)
		}
		qs := h.querySet(d, o.queryDB, traceID)
		for _, q := range qs {
			rows = append(rows, &queryRow{q: q})
		}
		// One unmeasured round warms caches for both sides; then runs alternate Strata and
		// SQL per query, so background load hits both alike.
		for run := -1; run < o.queryRuns && ctx.Err() == nil; run++ {
			for _, r := range rows {
				if r.err != "" {
					continue
				}
				t0 := time.Now()
				sres, err := h.strataQuery(ctx, p.HTTPURL(), d, r.q)
				st := time.Since(t0)
				if err != nil {
					r.err = "Strata: " + err.Error()
					continue
				}
				t1 := time.Now()
				qres, err := h.sqlQuery(ctx, c, r.q)
				qt := time.Since(t1)
				if err != nil {
					r.err = "SQL: " + err.Error()
					continue
				}
				r.strataRes, r.sqlRes = sres, qres
				if !sres.equal(qres) && r.mismatch == "" {
					r.mismatch = fmt.Sprintf("Strata returned %s, SQL %s%s", sres.summary(r.q.kind), qres.summary(r.q.kind), firstDiff(sres.keys, qres.keys))
				}
				if r.q.expect > 0 && qres.rows != r.q.expect && r.mismatch == "" {
					r.mismatch = fmt.Sprintf("SQL returned %d, the data set holds %d", qres.rows, r.q.expect)
				}
				if run >= 0 {
					r.strata, r.sql = append(r.strata, st), append(r.sql, qt)
				}
				if r.q.exactSQL != "" && run >= 0 {
					eq := r.q
					eq.sql = r.q.exactSQL
					t2 := time.Now()
					eres, err := h.sqlQuery(ctx, c, eq)
					r.exact = append(r.exact, time.Since(t2))
					if err == nil && !eres.equal(qres) && r.mismatch == "" {
						r.mismatch = fmt.Sprintf("exactly-once SQL returned %s, SQL %s", eres.summary(r.q.kind), qres.summary(r.q.kind))
					}
				}
			}
			log.Printf("query: round %d of %d done", run+1, o.queryRuns)
		}
		for _, r := range rows {
			r.strataP50, r.strataP95 = pct(r.strata, 0.5), pct(r.strata, 0.95)
			r.sqlP50, r.sqlP95 = pct(r.sql, 0.5), pct(r.sql, 0.95)
			if r.err != "" {
				t.Errorf("%s: %s", r.q.name, r.err)
			}
			if r.mismatch != "" {
				t.Errorf("%s: results differ: %s", r.q.name, r.mismatch)
			}
		}
		if o.queryProfile > 0 {
			notes = append(notes, h.profileQueries(ctx, p, d, rows))
		}
		notes = append(notes, h.runUIPerf(ctx, p.HTTPURL(), d))
	})
	return rows, notes, err
}

func firstDiff(a, b []string) string {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf(" (first difference at %d: %s vs %s)", i, a[i], b[i])
		}
	}
	return ""
}

// pct is the nearest-rank percentile.
func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(k, len(s)-1))]
}

// loadQueryData makes sure the database holds the data set: a manifest row and the
// row counts identify a previous load, which is reused; anything else is dropped and
// loaded again with the ingesters' batch writers.
func (h *harness) loadQueryData(ctx context.Context, c *clickhouse.Client, d bench.QueryData) (string, error) {
	db := h.o.queryDB
	conn := c.Conn()
	var manifest string
	var logs, spans uint64
	if err := conn.QueryRow(ctx, "SELECT any(value) FROM "+db+".bench_manifest").Scan(&manifest); err == nil &&
		conn.QueryRow(ctx, "SELECT count() FROM "+db+".logs").Scan(&logs) == nil &&
		conn.QueryRow(ctx, "SELECT count() FROM "+db+".spans").Scan(&spans) == nil &&
		manifest == d.Manifest() && logs == uint64(d.Lines) && spans == uint64(d.Spans) {
		return fmt.Sprintf("Data set reused from %s (%s): %d log lines, %d spans.", db, manifest, logs, spans) + h.partsNote(ctx, c), nil
	}
	log.Printf("query: loading %d log lines and %d spans into %s (found manifest %q, %d lines, %d spans)", d.Lines, d.Spans, db, manifest, logs, spans)
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return "", err
	}
	if err := c.Migrate(ctx); err != nil {
		return "", err
	}
	t0 := time.Now()
	const batchRows = 200000
	// Two workers each build a chunk and insert it in turn, so one builds while the
	// other inserts; chunk k holds lines [k·batchRows, (k+1)·batchRows).
	gen := d.NewLogGen()
	chunks := (d.Lines + batchRows - 1) / batchRows
	var needles atomic.Int64
	var next atomic.Int64
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= chunks {
					return
				}
				b := &clickhouse.LogBatch{}
				needles.Add(int64(gen.Fill(b, k*batchRows, (k+1)*batchRows, uint64(k+1))))
				if err := c.WriteLogs(ctx, b); err != nil {
					errs <- err
					return
				}
				if k%10 == 9 {
					log.Printf("query: %d of %d log chunks written in %s", k+1, chunks, time.Since(t0).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", fmt.Errorf("load logs: %w", err)
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if int(needles.Load()) != d.NeedleLines {
		return "", fmt.Errorf("load: generated %d needle lines, want %d", needles.Load(), d.NeedleLines)
	}
	sf := d.NewSpanFiller()
	for k := 0; k < 1000 && !sf.Done(); k++ {
		b := &clickhouse.SpanBatch{}
		sf.Fill(b, batchRows, uint64(chunks+k+1))
		if err := c.WriteSpans(ctx, b); err != nil {
			return "", fmt.Errorf("load spans: %w", err)
		}
	}
	load := time.Since(t0)
	if err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+db+".bench_manifest (value String) ENGINE = TinyLog"); err != nil {
		return "", err
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".bench_manifest (value)")
	if err != nil {
		return "", err
	}
	if err := b.Append(d.Manifest()); err != nil {
		return "", err
	}
	if err := b.Send(); err != nil {
		return "", err
	}
	return fmt.Sprintf("Data set loaded into %s in %.0f s (%d log lines, %d spans, LogBatch/SpanBatch INSERTs of %d rows by 2 writers; kept for later runs, `DROP DATABASE %s` to reload).",
		db, load.Seconds(), d.Lines, d.Spans, batchRows, db) + h.partsNote(ctx, c), nil
}

func (h *harness) partsNote(ctx context.Context, c *clickhouse.Client) string {
	var parts, bytes uint64
	if err := c.Conn().QueryRow(ctx, "SELECT count(), sum(bytes) FROM system.parts WHERE active AND database = "+clickhouse.Quote(h.o.queryDB)+" AND table = 'logs'").Scan(&parts, &bytes); err != nil {
		return ""
	}
	return fmt.Sprintf(" The logs table has %d active parts, %.0f MiB on disk.", parts, float64(bytes)/(1<<20))
}

// strataQuery runs q through the HTTP API.
func (h *harness) strataQuery(ctx context.Context, base string, d bench.QueryData, q benchQuery) (queryResult, error) {
	v := url.Values{}
	var path string
	start, end := d.Start, d.End
	if q.start != 0 {
		start, end = q.start, q.end
	}
	switch q.kind {
	case "labels":
		path = "/loki/api/v1/label/" + url.PathEscape(q.query) + "/values"
		v.Set("start", strconv.FormatInt(start, 10))
		v.Set("end", strconv.FormatInt(end, 10))
	case "trace":
		path = "/api/traces/" + q.query
	case "traces":
		path = "/api/search"
		v.Set("q", q.query)
		v.Set("limit", strconv.Itoa(q.limit))
		// Tempo's end is inclusive to the second.
		v.Set("start", strconv.FormatInt(d.Start/int64(time.Second), 10))
		v.Set("end", strconv.FormatInt(d.End/int64(time.Second)-1, 10))
	default:
		path = "/loki/api/v1/query_range"
		v.Set("query", q.query)
		v.Set("start", strconv.FormatInt(start, 10))
		v.Set("end", strconv.FormatInt(end, 10))
		if q.kind == "metric" {
			v.Set("step", strconv.FormatFloat(q.step.Seconds(), 'f', -1, 64))
		} else {
			v.Set("limit", strconv.Itoa(q.limit))
			v.Set("direction", "backward")
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, base+path+"?"+v.Encode(), nil)
	if err != nil {
		return queryResult{}, err
	}
	req.Header.Set("X-Scope-OrgID", d.Tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return queryResult{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return queryResult{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return queryResult{}, fmt.Errorf("%s: %s", resp.Status, firstLine(string(body)))
	}
	var res queryResult
	switch q.kind {
	case "labels":
		var lr struct {
			Data []string `json:"data"`
		}
		if err := json.Unmarshal(body, &lr); err != nil {
			return res, err
		}
		res.keys = lr.Data
		res.rows = len(res.keys)
	case "trace":
		// OTLP JSON resource spans (Tempo's older form calls them batches), each span with
		// its start time.
		type resourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					StartTimeUnixNano string `json:"startTimeUnixNano"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		}
		var tr struct {
			ResourceSpans resourceSpans `json:"resourceSpans"`
			Batches       resourceSpans `json:"batches"`
		}
		if err := json.Unmarshal(body, &tr); err != nil {
			return res, err
		}
		for _, b := range append(tr.ResourceSpans, tr.Batches...) {

			for _, ss := range b.ScopeSpans {
				for _, sp := range ss.Spans {
					res.keys = append(res.keys, sp.StartTimeUnixNano)
				}
			}
		}
		res.rows = len(res.keys)
	case "traces":
		var sr struct {
			Traces []struct {
				TraceID string `json:"traceID"`
			} `json:"traces"`
		}
		if err := json.Unmarshal(body, &sr); err != nil {
			return res, err
		}
		for _, t := range sr.Traces {
			res.keys = append(res.keys, strings.TrimLeft(t.TraceID, "0"))
		}
		res.rows = len(res.keys)
	case "logs":
		var lr struct {
			Data struct {
				Result []struct {
					Values [][]json.RawMessage `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &lr); err != nil {
			return res, err
		}
		for _, s := range lr.Data.Result {
			for _, e := range s.Values {
				var ts string
				if len(e) < 2 || json.Unmarshal(e[0], &ts) != nil {
					return res, fmt.Errorf("unexpected stream entry %s", e)
				}
				res.keys = append(res.keys, ts)
			}
		}
		res.rows = len(res.keys)
	case "metric":
		var mr struct {
			Data struct {
				Result []struct {
					Metric map[string]string   `json:"metric"`
					Values [][]json.RawMessage `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &mr); err != nil {
			return res, err
		}
		for _, s := range mr.Data.Result {
			var total float64
			for _, p := range s.Values {
				var vs string
				if len(p) < 2 || json.Unmarshal(p[1], &vs) != nil {
					return res, fmt.Errorf("unexpected point %s", p)
				}
				f, _ := strconv.ParseFloat(vs, 64)
				total += f
			}
			res.keys = append(res.keys, fmt.Sprintf("%s=%.0f", s.Metric["service_name"], total))
			res.sum += total
		}
		res.rows = len(mr.Data.Result)
	}
	sort.Strings(res.keys)
	return res, nil
}

// sqlQuery runs q's hand-written SQL, reading every column it selects.
func (h *harness) sqlQuery(ctx context.Context, c *clickhouse.Client, q benchQuery) (queryResult, error) {
	rows, err := c.Conn().Query(ctx, q.sql)
	if err != nil {
		return queryResult{}, err
	}
	defer rows.Close()
	var res queryResult
	totals := map[string]uint64{}
	for rows.Next() {
		switch q.kind {
		case "logs":
			var ts int64
			var keys, values []string
			var body string
			if err := rows.Scan(&ts, &keys, &values, &body); err != nil {
				return res, err
			}
			res.keys = append(res.keys, strconv.FormatInt(ts, 10))
		case "metric":
			var svc string
			var b int64
			var n uint64
			if err := rows.Scan(&svc, &b, &n); err != nil {
				return res, err
			}
			totals[svc] += n
			res.sum += float64(n)
		case "labels":
			var v string
			if err := rows.Scan(&v); err != nil {
				return res, err
			}
			res.keys = append(res.keys, v)
		case "trace":
			var spanID, parentID, traceState, service, name, statusMsg, scopeName, scopeVersion string
			var kind, status int8
			var start, end int64
			var flags uint32
			var attrKeys, attrValues, resKeys, resValues, eventNames, eventAttrs, linkTraces, linkSpans, linkStates, linkAttrs []string
			var attrTypes, resTypes []uint8
			var eventTimes []int64
			if err := rows.Scan(&spanID, &parentID, &traceState, &service, &name, &kind, &start, &end, &status, &statusMsg,
				&attrKeys, &attrValues, &attrTypes, &resKeys, &resValues, &resTypes, &eventTimes, &eventNames, &eventAttrs,
				&linkTraces, &linkSpans, &linkStates, &linkAttrs, &scopeName, &scopeVersion, &flags); err != nil {
				return res, err
			}
			res.keys = append(res.keys, strconv.FormatInt(start, 10))
		case "traces":
			var id, rootSvc, rootName string
			var start, end int64
			if err := rows.Scan(&id, &start, &end, &rootSvc, &rootName); err != nil {
				return res, err
			}
			res.keys = append(res.keys, strings.TrimLeft(id, "0"))
		}
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	for svc, n := range totals {
		res.keys = append(res.keys, fmt.Sprintf("%s=%d", svc, n))
	}
	res.rows = len(res.keys)
	sort.Strings(res.keys)
	return res, nil
}

// profileQueries takes a CPU profile of the querier while each log query runs in a
// loop, for finding where Strata's time over the SQL goes.
func (h *harness) profileQueries(ctx context.Context, p *cluster.Process, d bench.QueryData, rows []*queryRow) string {
	name := "query-querier.cpu.prof"
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.HTTPURL(), int(h.o.queryProfile.Seconds()))
	done := make(chan string, 1)
	go func() { done <- h.fetch(ctx, name, url, h.o.queryProfile+30*time.Second) }()
	stop := time.Now().Add(h.o.queryProfile)
	for i := 0; i < 10000 && time.Now().Before(stop) && ctx.Err() == nil; i++ {
		h.strataQuery(ctx, p.HTTPURL(), d, rows[i%len(rows)].q)
	}
	path := <-done
	if path == "" {
		return "Querier CPU profile: not taken."
	}
	top, err := bench.PprofTop(h.o.goBin, path, 25)
	if err != nil {
		return "Querier CPU profile: " + err.Error()
	}
	cum, _ := bench.PprofTop(h.o.goBin, path, 40, "-cum")
	topPath := filepath.Join(h.o.results, "query-querier.cpu.top.txt")
	os.WriteFile(topPath, []byte(top+"\n---- by cumulative time\n"+cum), 0o644)
	return fmt.Sprintf("Querier CPU profile over %s of the queries in turn: `%s`, listing in `%s`.", h.o.queryProfile, path, topPath)
}

// runUIPerf runs the web UI's browser performance script once against the querier with
// the needle query, when a browser and the script are there. It never fails the phase.
func (h *harness) runUIPerf(ctx context.Context, base string, d bench.QueryData) string {
	const prefix = "UI (web/e2e/perf.mjs, needle query): "
	script := filepath.Join("web", "e2e", "perf.mjs")
	for _, need := range []string{"/usr/bin/chromium", filepath.Join("web", "node_modules"), script} {
		if _, err := os.Stat(need); err != nil {
			return prefix + "not run: " + need + " is missing"
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, "node", script)
	cmd.Env = append(os.Environ(), "STRATA_URL="+base, "STRATA_TENANT="+d.Tenant,
		"PERF_QUERY="+fmt.Sprintf(`{k8s_namespace_name="shop-prod"} |= "%s"`, d.Needle),
		"PERF_START="+strconv.FormatInt(d.Start, 10), "PERF_END="+strconv.FormatInt(d.End, 10), "CHROMIUM_PATH=/usr/bin/chromium")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	os.WriteFile(filepath.Join(h.o.results, "query-ui-perf.log"), append(stdout.Bytes(), stderr.Bytes()...), 0o644)
	if err != nil {
		return prefix + "not run: " + firstLine(strings.TrimSpace(err.Error()+"; "+lastLine(stderr.String())))
	}
	line := lastLine(stdout.String())
	var figures map[string]any
	if err := json.Unmarshal([]byte(line), &figures); err != nil {
		return prefix + "not run: unexpected output " + firstLine(line)
	}
	keys := make([]string, 0, len(figures))
	for k := range figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", k, figures[k]))
	}
	return prefix + strings.Join(parts, ", ") + " (first results painted: first_rows_ms; scroll frame p95: frame_p95_ms)."
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
}

// queryReport renders the query phase's table, targets and notes.
func queryReport(d bench.QueryData, runs int, rows []*queryRow, notes []string, err error) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n### Query latency\n\n%d log lines and %d spans of tenant %q over %s; %d measured runs per query after one warm-up, Strata (HTTP API of one `strata -target=all`) and the hand-written SQL (clickhouse-go, same tables) alternating. Log queries ask for the newest 100 lines (`limit=100`, backward); metric queries are a `query_range` whose step is their range vector's; the trace search asks for 20 traces; label values cover the whole range.\n\n",
		d.Lines, d.Spans, d.Tenant, time.Duration(d.End-d.Start), runs)
	sb.WriteString("| query | Strata p50 | Strata p95 | SQL p50 | SQL p95 | ratio (p50) | rows returned (Strata / SQL) |\n")
	sb.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rows {
		if r.err != "" {
			fmt.Fprintf(&sb, "| %s | failed: %s | | | | | |\n", mdEscape(r.q.name), mdEscape(firstLine(r.err)))
			continue
		}
		ratio := float64(r.strataP50) / float64(max(r.sqlP50, 1))
		match := r.strataRes.summary(r.q.kind) + " / " + r.sqlRes.summary(r.q.kind)
		if r.mismatch != "" {
			match += " **MISMATCH**"
		} else {
			match += " (same)"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %.2f× | %s |\n", r.q.display(d), fmtDur(r.strataP50), fmtDur(r.strataP95),
			fmtDur(r.sqlP50), fmtDur(r.sqlP95), ratio, match)
	}
	sb.WriteString("\nTargets:\n\n")
	for _, r := range rows {
		if r.err != "" {
			continue
		}
		ratio := float64(r.strataP50) / float64(max(r.sqlP50, 1))
		fmt.Fprintf(&sb, "- %s: %s within 1.5× of the SQL: %.2f×\n", metOrMiss(ratio <= 1.5), r.q.name, ratio)
		if r.q.name == "needle line filter" {
			fmt.Fprintf(&sb, "- %s: needle search over %d lines p50 ≤ 1 s: %s\n", metOrMiss(r.strataP50 <= time.Second), d.Lines, fmtDur(r.strataP50))
		}
	}
	sb.WriteString("\n")
	for _, r := range rows {
		if len(r.exact) > 0 {
			fmt.Fprintf(&sb, "- %s: the SQL above counts rows; counting each record once with `FROM logs FINAL` (ReplacingMergeTree keeps copies from retries and failovers until it merges them; Strata counts them once too), the SQL takes p50 %s, p95 %s; Strata is %.2f× that.\n",
				r.q.name, fmtDur(pct(r.exact, 0.5)), fmtDur(pct(r.exact, 0.95)), float64(r.strataP50)/float64(max(pct(r.exact, 0.5), 1)))
		}
	}
	for _, n := range notes {
		sb.WriteString("- " + n + "\n")
	}
	for _, r := range rows {
		if r.mismatch != "" {
			fmt.Fprintf(&sb, "- MISMATCH %s: %s\n", r.q.name, r.mismatch)
		}
	}
	if err != nil {
		sb.WriteString("- Error: " + firstLine(err.Error()) + "\n")
	}
	sb.WriteString("\nHand-written SQL:\n\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "- %s: `%s`\n", r.q.name, r.q.sql)
	}
	return sb.String()
}

func metOrMiss(ok bool) string {
	if ok {
		return "met"
	}
	return "MISS"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
