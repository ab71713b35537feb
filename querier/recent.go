package querier

import (
	"cmp"
	"context"
	"slices"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
)

// Recent is the ingesters' side of a read: the records they hold in memory, whether
// not yet flushed or flushed and still retained. The querier calls it for every read
// when it is set, and reads ClickHouse for the rest. See the package doc for the
// contract that makes the merge exact.
type Recent interface {
	// Logs returns the tenant's log records with a timestamp in [Start, End) whose
	// stream matches every matcher.
	Logs(ctx context.Context, tenant string, q RecentLogQuery) (RecentLogs, error)
	// Spans returns the tenant's spans: whole traces for TraceIDs when set, else
	// every span starting in [Start, End).
	Spans(ctx context.Context, tenant string, q RecentSpanQuery) (RecentSpans, error)
}

// RecentLogQuery selects in-memory log records.
type RecentLogQuery struct {
	Start, End int64
	Matchers   []*logql.Matcher
	// LineFilters may be applied (|= != |~ !~ on the body); applying none is correct.
	LineFilters []*logql.LineFilterStage
}

// RecentLogs is what the ingesters hold for a log read.
type RecentLogs struct {
	// Rows in any order; copies of one record (same ID) are allowed.
	Rows []clickhouse.LogRow
	// ExcludeFlushIDs are flush batches answered from memory: every record stored in
	// ClickHouse under one of them is in Rows (or outside the query).
	ExcludeFlushIDs []uint64
}

// RecentSpanQuery selects in-memory spans.
type RecentSpanQuery struct {
	Start, End int64
	TraceIDs   []string // lower-case hex
}

// RecentSpans is what the ingesters hold for a span read.
type RecentSpans struct {
	Spans           []clickhouse.Span
	ExcludeFlushIDs []uint64
}

// recentLogs calls Recent, or returns nothing when there is none. Rows outside the
// range or failing the matchers are dropped here, so an implementation that returns a
// superset stays correct.
func (q *Querier) recentLogs(ctx context.Context, tenant string, rq RecentLogQuery) (RecentLogs, error) {
	if q.deps.Recent == nil {
		return RecentLogs{}, nil
	}
	r, err := q.deps.Recent.Logs(ctx, tenant, rq)
	if err != nil {
		return r, err
	}
	kept := r.Rows[:0:0]
	for _, row := range r.Rows {
		e := row.Entry
		if e.Timestamp >= rq.Start && e.Timestamp < rq.End && logql.MatchesLabels(rq.Matchers, e.Stream) {
			kept = append(kept, row)
		}
	}
	r.Rows = kept
	return r, nil
}

func (q *Querier) recentSpans(ctx context.Context, tenant string, rq RecentSpanQuery) (RecentSpans, error) {
	if q.deps.Recent == nil {
		return RecentSpans{}, nil
	}
	return q.deps.Recent.Spans(ctx, tenant, rq)
}

// rowIDs lists the ids of rows; counts in ClickHouse exclude them.
func rowIDs(rows []clickhouse.LogRow) []uint64 {
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// compareRows orders rows by time in the query's direction, then by id: the order of
// the storage iterator, in which copies of a record are adjacent.
func compareRows(forward bool) func(a, b clickhouse.LogRow) int {
	return func(a, b clickhouse.LogRow) int {
		c := cmp.Compare(a.Entry.Timestamp, b.Entry.Timestamp)
		if !forward {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	}
}

// rowIterator is the storage rows merged with the in-memory rows, in order, each
// record once. It counts what it yields for the response statistics.
type rowIterator struct {
	store  *clickhouse.LogIterator
	recent []clickhouse.LogRow
	cmp    func(a, b clickhouse.LogRow) int

	storeRow clickhouse.LogRow
	storeOK  bool
	// needStore says the storage row was used and the next one is not read yet: it is
	// read when asked for, so a reader that stops at its limit does not make the
	// storage iterator fetch one more page (a whole time window) it will not use.
	needStore bool
	cur       clickhouse.LogRow
	lastID    uint64
	lastTS    int64
	any       bool
	lines     int64
	bytes     int64
	storeErr  error
	storeDone bool
}

func newRowIterator(store *clickhouse.LogIterator, recent []clickhouse.LogRow, forward bool) *rowIterator {
	order := compareRows(forward)
	recent = slices.Clone(recent)
	slices.SortFunc(recent, order)
	return &rowIterator{store: store, recent: recent, cmp: order, needStore: true}
}

func (it *rowIterator) advanceStore() {
	if it.storeDone {
		it.storeOK = false
		return
	}
	if it.storeOK = it.store.Next(); !it.storeOK {
		it.storeDone = true
		it.storeErr = it.store.Err()
		return
	}
	it.storeRow = it.store.At()
}

// Next advances to the next record.
func (it *rowIterator) Next() bool {
	for {
		if it.needStore {
			it.needStore = false
			it.advanceStore()
		}
		var next clickhouse.LogRow
		switch {
		case it.storeOK && (len(it.recent) == 0 || it.cmp(it.storeRow, it.recent[0]) <= 0):
			next = it.storeRow
			it.needStore = true
		case len(it.recent) > 0:
			next, it.recent = it.recent[0], it.recent[1:]
		default:
			return false
		}
		if it.any && next.ID == it.lastID && next.Entry.Timestamp == it.lastTS {
			continue // the same record from storage and memory, or from two replicas
		}
		it.cur, it.any, it.lastID, it.lastTS = next, true, next.ID, next.Entry.Timestamp
		it.lines++
		it.bytes += int64(len(next.Entry.Line))
		return true
	}
}

func (it *rowIterator) At() logql.Entry { return it.cur.Entry }
func (it *rowIterator) Err() error      { return it.storeErr }
func (it *rowIterator) Close() error    { return it.store.Close() }
