package querier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
)

// lokiQuery is a parsed query_range or query request.
type lokiQuery struct {
	query      string
	start, end int64 // ns; an instant query has start == end
	step       time.Duration
	limit      int
	forward    bool
	instant    bool
	categorize bool
}

// sourcePageSize is the page a metric query streams rows in.
const sourcePageSize = 10000

// runQuery parses and evaluates a Loki query.
func (q *Querier) runQuery(ctx context.Context, tenant string, lq lokiQuery) (logql.Value, execStats, error) {
	started := time.Now()
	expr, err := logql.Parse(lq.query)
	if err != nil {
		return nil, execStats{}, err
	}
	if err := q.checkQueryLimits(expr, lq); err != nil {
		return nil, execStats{}, err
	}
	var v logql.Value
	var st execStats
	switch e := expr.(type) {
	case *logql.LogQueryExpr:
		if lq.instant {
			return nil, st, badRequest("log queries are not supported as an instant query type, please change your query to a range query type")
		}
		v, st, err = q.runLogs(ctx, tenant, e, lq)
	case logql.SampleExpr:
		v, st, err = q.runMetric(ctx, tenant, e, lq)
	default:
		err = badRequest("unsupported query %q", lq.query)
	}
	st.took = time.Since(started)
	return v, st, err
}

// checkQueryLimits applies the request limits. The line limit only binds log queries:
// Grafana sends its maxLines with metric queries too.
func (q *Querier) checkQueryLimits(expr logql.Expr, lq lokiQuery) error {
	_, isLog := expr.(*logql.LogQueryExpr)
	if max := q.cfg.MaxEntriesLimit; isLog && max > 0 && lq.limit > max {
		return badRequest("max entries limit per query exceeded, limit > max_entries_limit (%d > %d); raise -querier.max-entries-limit-per-query", lq.limit, max)
	}
	if max := q.cfg.MaxQueryRange; max > 0 && time.Duration(lq.end-lq.start) > max {
		return badRequest("the query time range exceeds the limit (query length: %s, limit: %s); raise -querier.max-query-range", time.Duration(lq.end-lq.start), max)
	}
	if !lq.instant && lq.step > 0 && (lq.end-lq.start)/int64(lq.step)+1 > logql.MaxPointsPerSeries {
		return badRequest("exceeded maximum resolution of %d points per timeseries. Try increasing the value of the step parameter", logql.MaxPointsPerSeries)
	}
	return nil
}

// runLogs reads the newest (or oldest) lines from storage and memory, merged in
// order, through the query's pipeline, until limit lines are kept.
func (q *Querier) runLogs(ctx context.Context, tenant string, e *logql.LogQueryExpr, lq lokiQuery) (logql.Value, execStats, error) {
	store, err := q.store()
	if err != nil {
		return nil, execStats{}, err
	}
	filters := e.LeadingLineFilters()
	recent, err := q.recentLogs(ctx, tenant, RecentLogQuery{Start: lq.start, End: lq.end, Matchers: e.Matchers, LineFilters: filters})
	if err != nil {
		return nil, execStats{}, fmt.Errorf("read ingesters: %w", err)
	}
	f := clickhouse.LogFilter{Tenant: tenant, Start: lq.start, End: lq.end, Matchers: e.Matchers, LineFilters: filters, ExcludeFlushIDs: recent.ExcludeFlushIDs}
	it := newRowIterator(store.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: lq.forward, PageSize: logPageSize(e, lq.limit)}), recent.Rows, lq.forward)
	defer it.Close()
	streams, err := logql.EvalLogs(ctx, e, it, logql.EvalLogsParams{Limit: lq.limit, Categorize: lq.categorize})
	st := execStats{lines: it.lines, bytes: it.bytes}
	if err != nil {
		return nil, st, err
	}
	if streams == nil {
		streams = logql.Streams{}
	}
	return streams, st, nil
}

// filteredPageSize is the first SQL page of a log query whose pipeline may drop lines
// after SQL. 18.16 reads the whole time window for any page, so a second page costs
// about as much as the first: `| json | status >= 500`, keeping one line in 35, needed
// two pages of 2,000 rows in the bench's first window; one of 5,000 takes 110-135 ms
// instead of 145-220.
const filteredPageSize = 5000

// logPageSize is the first SQL page of a log query: limit when every line SQL returns
// is kept (stream matchers and line filters it expresses, then stages that only
// reshape lines or labels), else at least filteredPageSize. Pipelines that drop nothing
// keep the small page: reading 5,000 rows where 100 will do cost them 30-40 ms.
func logPageSize(e *logql.LogQueryExpr, limit int) int {
	if mayDropAfterSQL(e) {
		return max(limit, filteredPageSize)
	}
	return limit
}

// mayDropAfterSQL reports whether the pipeline can drop a line SQL returned: a label
// filter, or a line filter SQL did not apply (after a stage that changes the line, an
// ip() match, a pattern filter).
func mayDropAfterSQL(e *logql.LogQueryExpr) bool {
	leading := len(e.LeadingLineFilters())
	for i, st := range e.Pipeline {
		switch st := st.(type) {
		case *logql.LabelFilterStage:
			return true
		case *logql.LineFilterStage:
			if i >= leading {
				return true
			}
			switch st.Op {
			case logql.LineContains, logql.LineNotContains, logql.LineMatchRegexp, logql.LineNotMatchRegexp:
			default:
				return true
			}
			for _, v := range st.Values {
				if v.IP {
					return true
				}
			}
		}
	}
	return false
}

// runMetric evaluates a metric query: in ClickHouse when it only counts rows
// (countPushdown), else by streaming rows through logql.EvalMetric.
func (q *Querier) runMetric(ctx context.Context, tenant string, e logql.SampleExpr, lq lokiQuery) (logql.Value, execStats, error) {
	p := logql.Params{Start: lq.start, End: lq.end, Step: lq.step, MaxSeries: q.cfg.MaxSeries}
	if lq.instant {
		p.End, p.Step = p.Start, 0
	}
	if cq, ok := countQueryOf(e); ok {
		v, st, err := q.countPushdown(ctx, tenant, cq, p)
		if !errors.Is(err, clickhouse.ErrRegexpUnsupported) && !errors.Is(err, errNotPushed) {
			return v, st, err
		}
	}
	src := &logSource{q: q, tenant: tenant}
	v, err := logql.EvalMetric(ctx, e, p, src.source)
	st := execStats{lines: src.lines, bytes: src.bytes}
	switch {
	case err == nil:
		return v, st, nil
	case src.err != nil:
		return nil, st, src.err
	case ctx.Err() != nil:
		return nil, st, ctx.Err()
	}
	return nil, st, &queryError{err}
}

// logSource feeds logql.EvalMetric: for each log query it merges storage and memory
// in ascending time order. It remembers read failures, so they are not reported as
// the query's fault.
type logSource struct {
	q            *Querier
	tenant       string
	err          error
	lines, bytes int64
}

func (s *logSource) source(ctx context.Context, req logql.SelectRequest) (logql.EntryIterator, error) {
	store, err := s.q.store()
	if err != nil {
		s.err = err
		return nil, err
	}
	filters := req.Log.LeadingLineFilters()
	recent, err := s.q.recentLogs(ctx, s.tenant, RecentLogQuery{Start: req.Start, End: req.End, Matchers: req.Log.Matchers, LineFilters: filters})
	if err != nil {
		s.err = fmt.Errorf("read ingesters: %w", err)
		return nil, s.err
	}
	f := clickhouse.LogFilter{Tenant: s.tenant, Start: req.Start, End: req.End, Matchers: req.Log.Matchers, LineFilters: filters, ExcludeFlushIDs: recent.ExcludeFlushIDs}
	it := newRowIterator(store.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: true, PageSize: sourcePageSize}), recent.Rows, true)
	return &countingIterator{rowIterator: it, src: s}, nil
}

// countingIterator reports a source's reads and errors back to the logSource.
type countingIterator struct {
	*rowIterator
	src *logSource
}

func (it *countingIterator) Next() bool {
	if it.rowIterator.Next() {
		it.src.lines++
		it.src.bytes += int64(len(it.cur.Entry.Line))
		return true
	}
	if err := it.rowIterator.Err(); err != nil && it.src.err == nil {
		it.src.err = err
	}
	return false
}
