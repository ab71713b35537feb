package querier

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/strataobs/strata/storage/clickhouse"
)

// ClusterStatus reports the ring for the UI's cluster page.
type ClusterStatus func(ctx context.Context) (Cluster, error)

// Cluster is the body of GET /ui/api/cluster (web/README.md).
type Cluster struct {
	Members           []Member `json:"members"`
	ReplicationFactor int      `json:"replicationFactor"`
}

// Member is one ring member. Figures an ingester does not report are zero.
type Member struct {
	ID                  string  `json:"id"`
	Addr                string  `json:"addr"`
	State               string  `json:"state"`
	Zone                string  `json:"zone"`
	Tokens              int     `json:"tokens"`
	Heartbeat           string  `json:"heartbeat"`
	HeartbeatAgeSeconds float64 `json:"heartbeatAgeSeconds"`
	IngestRate          float64 `json:"ingestRate"`
	FlushLagSeconds     float64 `json:"flushLagSeconds"`
	MemoryRecords       int64   `json:"memoryRecords"`
	MemoryBytes         int64   `json:"memoryBytes"`
	WALBytes            int64   `json:"walBytes"`
}

func (q *Querier) registerUI() {
	g := q.engine.Group("/ui/api", q.tenantMiddleware(false), q.limitMiddleware)
	g.GET("/services", q.tempoHandler(q.handleServices))
	g.GET("/cluster", q.handleCluster)
}

func (q *Querier) handleCluster(c *gin.Context) {
	if q.deps.Cluster == nil {
		q.writeError(c, &httpError{status: http.StatusNotImplemented, msg: "this process has no ring to report: the cluster page needs a querier started with the ring module"})
		return
	}
	cl, err := q.deps.Cluster(c.Request.Context())
	if err != nil {
		q.writeError(c, err)
		return
	}
	if cl.Members == nil {
		cl.Members = []Member{}
	}
	c.JSON(http.StatusOK, cl)
}

// serviceRow is one service of GET /ui/api/services: latencies in ns, rate in
// spans/s, errorRate = errors/spans; series points are [unix seconds, value].
type serviceRow struct {
	Name      string                  `json:"name"`
	Spans     uint64                  `json:"spans"`
	Errors    uint64                  `json:"errors"`
	Rate      float64                 `json:"rate"`
	ErrorRate float64                 `json:"errorRate"`
	P50       float64                 `json:"p50"`
	P95       float64                 `json:"p95"`
	P99       float64                 `json:"p99"`
	Series    map[string][][2]float64 `json:"series"`
}

// handleServices computes per-service rate, errors and latency from spans in
// ClickHouse; in-memory spans add to the counts (their latencies are not merged
// into ClickHouse's quantile estimates).
func (q *Querier) handleServices(ctx context.Context, r *tempoRequest) (any, error) {
	start, end, err := timeRange(r.form, q.now())
	if err != nil {
		return nil, err
	}
	step := int64(60 * time.Second)
	if s := r.form.Get("step"); s != "" {
		d, err := parseDuration("step", s)
		if err != nil {
			return nil, err
		}
		if d <= 0 {
			return nil, badRequest("step must be positive")
		}
		step = int64(d)
	}
	if (end-start)/step > 11000 {
		return nil, badRequest("exceeded maximum resolution of 11000 points per series; increase step")
	}
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	recent, err := q.recentSpans(ctx, r.tenant, RecentSpanQuery{Start: start, End: end})
	if err != nil {
		return nil, err
	}
	stats, err := store.ServiceStats(ctx, r.tenant, start, end, step, recent.ExcludeFlushIDs)
	if err != nil {
		return nil, err
	}
	return map[string]any{"services": serviceRows(stats, recent.Spans, start, end, step)}, nil
}

func serviceRows(stats []clickhouse.ServiceStats, recent []clickhouse.Span, start, end, step int64) []*serviceRow {
	rows := map[string]*serviceRow{}
	get := func(name string) *serviceRow {
		r := rows[name]
		if r == nil {
			r = &serviceRow{Name: name, Series: map[string][][2]float64{"rate": {}, "errors": {}, "p95": {}}}
			rows[name] = r
		}
		return r
	}
	buckets := map[string]map[int64]*clickhouse.ServiceStats{}
	add := func(s clickhouse.ServiceStats) {
		if buckets[s.Service] == nil {
			buckets[s.Service] = map[int64]*clickhouse.ServiceStats{}
		}
		b := buckets[s.Service][s.Bucket]
		if b == nil {
			b = &clickhouse.ServiceStats{Service: s.Service, Bucket: s.Bucket, P50: s.P50, P95: s.P95, P99: s.P99}
			buckets[s.Service][s.Bucket] = b
		}
		b.Spans += s.Spans
		b.Errors += s.Errors
	}
	for _, s := range stats {
		add(s)
	}
	for _, s := range clickhouse.DedupSpans(recent) {
		e := uint64(0)
		if s.StatusCode == 2 {
			e = 1
		}
		add(clickhouse.ServiceStats{Service: s.ServiceName, Bucket: -1, Spans: 1, Errors: e})
		add(clickhouse.ServiceStats{Service: s.ServiceName, Bucket: (s.Start - start) / step, Spans: 1, Errors: e})
	}
	secs := float64(end-start) / 1e9
	for svc, bs := range buckets {
		r := get(svc)
		if total := bs[-1]; total != nil {
			r.Spans, r.Errors, r.P50, r.P95, r.P99 = total.Spans, total.Errors, total.P50, total.P95, total.P99
		}
		if secs > 0 {
			r.Rate = float64(r.Spans) / secs
		}
		if r.Spans > 0 {
			r.ErrorRate = float64(r.Errors) / float64(r.Spans)
		}
		keys := make([]int64, 0, len(bs))
		for b := range bs {
			if b >= 0 {
				keys = append(keys, b)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, b := range keys {
			t := float64(start+b*step) / 1e9
			r.Series["rate"] = append(r.Series["rate"], [2]float64{t, float64(bs[b].Spans) / (float64(step) / 1e9)})
			r.Series["errors"] = append(r.Series["errors"], [2]float64{t, float64(bs[b].Errors)})
			r.Series["p95"] = append(r.Series["p95"], [2]float64{t, bs[b].P95})
		}
	}
	out := make([]*serviceRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
