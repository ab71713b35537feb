package querier

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/strataobs/strata/storage/clickhouse"
)

// registerTempo mounts the Tempo-compatible API.
func (q *Querier) registerTempo() {
	q.engine.GET("/api/echo", func(c *gin.Context) { c.String(http.StatusOK, "echo") })
	q.engine.GET("/api/status/buildinfo", buildInfo)
	g := q.engine.Group("/api", q.tenantMiddleware(false), q.limitMiddleware)
	g.GET("/traces/:id", q.handleTraceByID(false))
	g.GET("/v2/traces/:id", q.handleTraceByID(true))
	g.GET("/search", q.tempoHandler(q.handleSearch))
	g.GET("/search/tags", q.tempoHandler(q.handleTagsV1))
	g.GET("/v2/search/tags", q.tempoHandler(q.handleTagsV2))
	g.GET("/search/tag/:tag/values", q.tempoHandler(q.handleTagValuesV1))
	g.GET("/v2/search/tag/:tag/values", q.tempoHandler(q.handleTagValuesV2))
}

// tempoRequest is what a Tempo handler gets.
type tempoRequest struct {
	form   url.Values
	tenant string
	param  func(string) string
}

func (q *Querier) tempoHandler(fn func(ctx context.Context, r *tempoRequest) (any, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		v, err := form(c)
		if err != nil {
			q.writeError(c, err)
			return
		}
		ctx, cancel := q.queryContext(c)
		defer cancel()
		body, err := fn(ctx, &tempoRequest{form: v, tenant: tenantOf(c), param: c.Param})
		if err != nil {
			q.writeError(c, err)
			return
		}
		writeJSON(c, body)
	}
}

// parseTraceID accepts 1 to 32 hex digits and left-pads them to 32, as Tempo does:
// search results trim leading zeros, so links carry short ids.
func parseTraceID(s string) (string, error) {
	if s == "" || len(s) > 32 {
		return "", badRequest("invalid trace id %q: want 1 to 32 hex digits", s)
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", badRequest("invalid trace id %q: want 1 to 32 hex digits", s)
		}
	}
	return strings.Repeat("0", 32-len(s)) + strings.ToLower(s), nil
}

// handleTraceByID answers /api/traces/<id> and /api/v2/traces/<id>: protobuf when the
// client accepts application/protobuf (Grafana does), else OTLP JSON; 404 with an
// empty body when the trace is unknown (Grafana then tries v1).
func (q *Querier) handleTraceByID(v2 bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := parseTraceID(c.Param("id"))
		if err != nil {
			q.writeError(c, err)
			return
		}
		ctx, cancel := q.queryContext(c)
		defer cancel()
		spans, err := q.trace(ctx, tenantOf(c), id)
		if err != nil {
			q.writeError(c, err)
			return
		}
		if len(spans) == 0 {
			c.Status(http.StatusNotFound)
			return
		}
		td := toTraces(spans)
		if strings.Contains(c.GetHeader("Accept"), "application/protobuf") {
			b, err := traceProto(td, v2)
			if err != nil {
				q.writeError(c, err)
				return
			}
			c.Data(http.StatusOK, "application/protobuf", b)
			return
		}
		b, err := traceJSON(td, v2)
		if err != nil {
			q.writeError(c, err)
			return
		}
		c.Data(http.StatusOK, "application/json", b)
	}
}

// trace returns every span of one trace, from memory and storage, once each.
func (q *Querier) trace(ctx context.Context, tenant, id string) ([]clickhouse.Span, error) {
	traces, err := q.traces(ctx, tenant, []string{id}, false)
	return traces[id], err
}

// traces returns whole traces from memory and storage, keyed by id. For a search, spans
// read from storage carry only what TraceQL evaluates (Client.TracesForSearch).
func (q *Querier) traces(ctx context.Context, tenant string, ids []string, forSearch bool) (map[string][]clickhouse.Span, error) {
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	recent, err := q.recentSpans(ctx, tenant, RecentSpanQuery{TraceIDs: ids})
	if err != nil {
		return nil, err
	}
	read := store.Traces
	if forSearch {
		read = store.TracesForSearch
	}
	out, err := read(ctx, tenant, ids, recent.ExcludeFlushIDs)
	if err != nil {
		return nil, err
	}
	if len(recent.Spans) == 0 {
		return out, nil
	}
	for _, s := range recent.Spans {
		out[s.TraceID] = append(out[s.TraceID], s)
	}
	for id := range out {
		out[id] = clickhouse.DedupSpans(out[id])
	}
	return out, nil
}

// searchRange reads Tempo's start and end (Unix seconds); without them the search
// covers the last -querier.default-search-range.
func (q *Querier) searchRange(v url.Values) (start, end int64, err error) {
	s, err := parseUnixSeconds(v, "start")
	if err != nil {
		return 0, 0, err
	}
	e, err := parseUnixSeconds(v, "end")
	if err != nil {
		return 0, 0, err
	}
	if s == 0 && e == 0 {
		now := q.now()
		return now.Add(-q.cfg.DefaultSearchRange).UnixNano(), now.UnixNano() + 1, nil
	}
	if e <= s {
		return 0, 0, badRequest("http parameter start must be before end. received start=%d end=%d", s, e)
	}
	// end is inclusive to the second, as Tempo treats it.
	return s * int64(time.Second), (e+1)*int64(time.Second) - 1, nil
}

func parseUnixSeconds(v url.Values, name string) (int64, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, badRequest("invalid %s %q: want Unix seconds", name, s)
	}
	return int64(n), nil
}
