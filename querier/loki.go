package querier

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-kit/log/level"

	"github.com/strataobs/strata/logql"
)

// registerLoki mounts the Loki-compatible API (contract: docs in the package doc).
func (q *Querier) registerLoki() {
	q.engine.GET("/loki/api/v1/status/buildinfo", buildInfo)
	g := q.engine.Group("/loki/api/v1", q.tenantMiddleware(false), q.limitMiddleware)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		g.Handle(method, "/query_range", q.lokiHandler(q.handleQueryRange))
		g.Handle(method, "/query", q.lokiHandler(q.handleInstantQuery))
		g.Handle(method, "/labels", q.lokiHandler(q.handleLabels))
		g.Handle(method, "/label/:name/values", q.lokiHandler(q.handleLabelValues))
		g.Handle(method, "/series", q.lokiHandler(q.handleSeries))
		g.Handle(method, "/index/stats", q.lokiHandler(q.handleIndexStats))
		g.Handle(method, "/index/volume", q.lokiHandler(q.handleVolume))
		g.Handle(method, "/index/volume_range", q.lokiHandler(q.handleVolumeRange))
		g.Handle(method, "/detected_labels", q.lokiHandler(q.handleDetectedLabels))
		g.Handle(method, "/detected_fields", q.lokiHandler(q.handleDetectedFields))
		g.Handle(method, "/detected_field/:name/values", q.lokiHandler(q.handleDetectedFieldValues))
		g.Handle(method, "/patterns", q.lokiHandler(handlePatterns))
		g.Handle(method, "/format_query", q.lokiHandler(handleFormatQuery))
	}
	g.GET("/drilldown-limits", q.lokiHandler(q.handleDrilldownLimits))
	q.registerTail()
}

// lokiRequest is what a Loki handler gets: parameters, tenant and the headers that
// change the response.
type lokiRequest struct {
	form       url.Values
	tenant     string
	categorize bool
	param      func(string) string
}

// lokiHandler adapts a handler that returns a JSON body (raw bytes or a value to
// marshal) to gin: it bounds the query by the timeout and maps errors once.
func (q *Querier) lokiHandler(fn func(ctx context.Context, r *lokiRequest) (any, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		v, err := form(c)
		if err != nil {
			q.writeError(c, err)
			return
		}
		ctx, cancel := q.queryContext(c)
		defer cancel()
		r := &lokiRequest{form: v, tenant: tenantOf(c), param: c.Param,
			categorize: strings.Contains(c.GetHeader("X-Loki-Response-Encoding-Flags"), "categorize-labels")}
		if tags := c.GetHeader("X-Query-Tags"); tags != "" {
			level.Debug(q.logger).Log("msg", "query", "path", c.FullPath(), "tags", tags)
		}
		body, err := fn(ctx, r)
		if err != nil {
			q.writeError(c, err)
			return
		}
		writeJSON(c, body)
	}
}

func writeJSON(c *gin.Context, body any) {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", b)
}

func buildInfo(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"version": Version, "revision": Revision, "branch": Branch, "buildDate": BuildDate, "buildUser": "", "goVersion": runtime.Version()})
}

func (q *Querier) handleQueryRange(ctx context.Context, r *lokiRequest) (any, error) {
	lq, err := q.parseRangeQuery(r.form)
	if err != nil {
		return nil, err
	}
	lq.categorize = r.categorize
	v, st, err := q.runQuery(ctx, r.tenant, lq)
	if err != nil {
		return nil, err
	}
	return encodeQueryResult(v, st, lq.categorize), nil
}

func (q *Querier) parseRangeQuery(v url.Values) (lokiQuery, error) {
	lq := lokiQuery{query: v.Get("query")}
	if lq.query == "" {
		return lq, badRequest("query parameter is required")
	}
	var err error
	if lq.start, lq.end, err = timeRange(v, q.now()); err != nil {
		return lq, err
	}
	if lq.limit, err = parseLimit(v, "limit", 100); err != nil {
		return lq, err
	}
	if lq.forward, err = parseDirection(v); err != nil {
		return lq, err
	}
	lq.step, err = parseStep(v, lq.start, lq.end)
	return lq, err
}

func (q *Querier) handleInstantQuery(ctx context.Context, r *lokiRequest) (any, error) {
	lq := lokiQuery{query: r.form.Get("query"), instant: true, categorize: r.categorize}
	if lq.query == "" {
		return nil, badRequest("query parameter is required")
	}
	var err error
	// Any time is accepted: Grafana's health check asks for the year 2096.
	if lq.start, err = parseTimestamp("time", r.form.Get("time"), q.now().UnixNano()); err != nil {
		return nil, err
	}
	lq.end = lq.start
	if lq.limit, err = parseLimit(r.form, "limit", 100); err != nil {
		return nil, err
	}
	if lq.forward, err = parseDirection(r.form); err != nil {
		return nil, err
	}
	v, st, err := q.runQuery(ctx, r.tenant, lq)
	if err != nil {
		return nil, err
	}
	return encodeQueryResult(v, st, false), nil
}

func handlePatterns(context.Context, *lokiRequest) (any, error) {
	return []byte(`{"status":"success","data":[]}`), nil
}

func handleFormatQuery(_ context.Context, r *lokiRequest) (any, error) {
	e, err := logql.Parse(r.form.Get("query"))
	if err != nil {
		return nil, err
	}
	return success(e.String()), nil
}

// handleDrilldownLimits tells Logs Drilldown what Strata does: volumes yes, patterns no.
func (q *Querier) handleDrilldownLimits(context.Context, *lokiRequest) (any, error) {
	return map[string]any{
		"limits": map[string]any{
			"volume_enabled": true, "discover_log_levels": true, "discover_service_name": []string{"service"},
			"max_query_length": q.cfg.MaxQueryRange.String(), "max_entries_limit_per_query": q.cfg.MaxEntriesLimit,
			"max_query_series": q.cfg.MaxSeries, "pattern_persistence_enabled": false,
		},
		"pattern_ingester_enabled": false,
		"version":                  Version,
	}, nil
}

// dataResponse is Loki's envelope for label and series answers, status first.
type dataResponse struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

func success(data any) dataResponse { return dataResponse{Status: "success", Data: data} }
