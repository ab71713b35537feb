package clickhouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"

	"github.com/strataobs/strata/logql"
)

// Where storage can hold two copies of a log record, and how a count avoids paying to
// fold copies everywhere else.
//
// A copy is a second INSERT of a record: a flush retried after a failure that came too
// late to tell, a replica's fallback flush, a restart re-inserting its WAL. Every INSERT
// of log rows is preceded, in the same attempt, by the INSERT of its log_blooms rows: one
// per stream and day of the batch, spanning the timestamps of that stream's rows in it
// (Client.WriteLogs). Two copies of a record share its stream and timestamp, so the two
// blocks that hold them overlap in time on that stream. Where no two blocks of a stream
// overlap, count() is exact; only the overlaps need counting distinct ids. A retried
// attempt writes its blocks again, so it overlaps itself.
//
// Log_blooms rows are inserted before the log rows they describe, so blocks read after a
// count cover every row the count saw: a count whose overlaps were read before it checks
// the blocks again after it (a flush may land between) and is recounted when they show
// an overlap it did not allow for. Rows stored without blooms (bloomed = 0) are counted
// by the count itself; any makes the caller fold copies with FINAL instead.

// maxCopyBlocks bounds the blocks a count reads to find overlaps (the benchmark's 10M
// rows are 10,000 blocks: 50 flushes of 200 streams); past it the count reads FINAL.
const maxCopyBlocks = 200_000

// maxCopySpans bounds the time spans a count's SQL names one by one: each is a condition
// ClickHouse tests on every row. Past it the count names the time granules the spans
// touch instead, a set ClickHouse looks each row up in (copyArea).
const maxCopySpans = 16

// maxCopyGranules bounds the granules a count names: granules are 1 ms wide, or as many
// times wider (a power of two) as keeps them within this. An hour of 5-second flushes,
// each overlapping the next by 300 ms, takes 128 ms granules, 9% of the hour; over a
// day of them the granules grow to cover it all, and the count reads FINAL.
const maxCopyGranules = 4096

// copySpan is a stretch of time, inclusive, where storage may hold copies.
type copySpan struct{ lo, hi int64 }

// flushBlock is one log_blooms row as the overlap search reads it.
type flushBlock struct {
	stream, flush uint64
	lo, hi        int64
	rows          uint32
}

// minRowsPerBlock is the fewest rows per flush block for which a count looks for copies
// among the blocks: it reads them twice, and a block costs about as much to read as ten
// rows cost to fold with FINAL (1h of 200 streams in 5-second flushes, 144,000
// blocks of 12 rows: 0.39-0.46 s looking among blocks, FINAL 0.36 s).
var minRowsPerBlock uint64 = 50

// flushBlocks reads the flush blocks of f's streams and range. ok is false when there
// are more than maxCopyBlocks or fewer than minRowsPerBlock rows per block, since
// reading them would cost more than FINAL saves. When f has stream matchers other than
// service_name, others counts the blocks in range of the streams they reject (0 means
// they pass every stream that has rows in range).
//
// Two plain queries run at once, the blocks and their totals: on 18.16 a scalar
// subquery or a UNION ALL that put both in one statement cost 10-15 ms more than the
// two together (1,800 blocks: 16-22 ms against about 6). When the totals show too many
// or too thin blocks the block read is cancelled, so such blocks are never all
// shipped. Both start after whatever preceded the call, so either read covers every
// row stored before it.
func (c *Client) flushBlocks(ctx context.Context, f *LogFilter) (blocks []flushBlock, others uint64, ok bool, err error) {
	db := c.cfg.Database
	var where strings.Builder
	writeBlocksRange(&where, db, f)
	cond := streamMatch(f, whereOpts{db: db})
	matched := "1"
	if cond != "" {
		matched = cond
	}
	var total, rows uint64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		sql := fmt.Sprintf("SELECT stream_id, flush_id, min_ts, max_ts, rows FROM %s.log_blooms WHERE %s AND %s LIMIT %d",
			db, where.String(), matched, maxCopyBlocks+1)
		return c.query(gctx, sql, func(r driver.Rows) error {
			var k flushBlock
			if err := r.Scan(&k.stream, &k.flush, &k.lo, &k.hi, &k.rows); err != nil {
				return err
			}
			blocks = append(blocks, k)
			return nil
		})
	})
	g.Go(func() error {
		sql := fmt.Sprintf("SELECT countIf(m), sumIf(rows, m), countIf(NOT m) FROM (SELECT rows, %s AS m FROM %s.log_blooms WHERE %s)",
			matched, db, where.String())
		err := c.query(gctx, sql, func(r driver.Rows) error { return r.Scan(&total, &rows, &others) })
		if err == nil && (total > maxCopyBlocks || total*minRowsPerBlock > rows) {
			return errBlocksHeldBack
		}
		return err
	})
	switch err := g.Wait(); {
	case errors.Is(err, errBlocksHeldBack):
		return nil, others, false, nil
	case err != nil:
		return nil, 0, false, fmt.Errorf("read flush blocks: %w", err)
	}
	// The two reads see the table at slightly different moments: blocks that landed
	// between them must not pass for "no blocks" when the totals would have held them
	// back.
	ok = len(blocks) <= maxCopyBlocks && (len(blocks) > 0 || total == 0)
	return blocks, others, ok, nil
}

// errBlocksHeldBack cancels a block read whose totals already decided for FINAL.
var errBlocksHeldBack = errors.New("flush blocks too many or too thin")

// spannedRows estimates the share of the blocks' rows that lie in spans, taking each
// block's rows as spread evenly over its time.
func spannedRows(blocks []flushBlock, spans []copySpan) float64 {
	var in, all float64
	for _, k := range blocks {
		all += float64(k.rows)
		for _, s := range spans {
			if lo, hi := max(s.lo, k.lo), min(s.hi, k.hi); lo <= hi {
				in += float64(k.rows) * float64(hi-lo+1) / float64(k.hi-k.lo+1)
			}
		}
	}
	if all == 0 {
		return 0
	}
	return in / all
}

// overlaps returns the times within [lo, hi] that two blocks of one stream both cover,
// joined across streams into sorted, disjoint spans. Blocks of excluded flushes are left
// out: the count does not read their rows. Blocks are sorted in place.
func overlaps(blocks []flushBlock, excluded []uint64, lo, hi int64) []copySpan {
	slices.SortFunc(blocks, func(a, b flushBlock) int {
		return cmp.Or(cmp.Compare(a.stream, b.stream), cmp.Compare(a.lo, b.lo))
	})
	var out []copySpan
	var stream uint64
	var reach int64 // the latest time the stream's blocks so far cover
	first := true
	for _, k := range blocks {
		if slices.Contains(excluded, k.flush) {
			continue
		}
		if first || k.stream != stream {
			stream, reach, first = k.stream, k.hi, false
			continue
		}
		if k.lo <= reach {
			if s, e := max(k.lo, lo), min(k.hi, reach, hi); s <= e {
				out = append(out, copySpan{s, e})
			}
		}
		reach = max(reach, k.hi)
	}
	return joinSpans(out)
}

// joinSpans sorts spans and merges those that overlap or touch.
func joinSpans(spans []copySpan) []copySpan {
	slices.SortFunc(spans, func(a, b copySpan) int { return cmp.Compare(a.lo, b.lo) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, s.hi)
			continue
		}
		out = append(out, s)
	}
	return out
}

// copyArea is where a count folds copies: a few spans, named one by one, or when
// there are more than maxCopySpans, the granules of width grain (timestamp / grain,
// truncated as ClickHouse's intDiv does) that they touch.
type copyArea struct {
	spans    []copySpan // when grain is 0
	grain    int64
	granules []int64 // sorted, distinct
}

// areaOf is the smallest copyArea that covers spans (sorted and disjoint).
func areaOf(spans []copySpan) copyArea {
	if len(spans) <= maxCopySpans {
		return copyArea{spans: spans}
	}
	grain := int64(time.Millisecond)
	for {
		n, last := 0, int64(0)
		for i, s := range spans {
			lo, hi := s.lo/grain, s.hi/grain
			if i > 0 && lo == last {
				lo++ // the previous span ended in this granule
			}
			n += int(max(hi-lo+1, 0))
			last = hi
		}
		if n <= maxCopyGranules || grain > 1<<60 {
			break
		}
		grain *= 2
	}
	a := copyArea{grain: grain}
	for _, s := range spans {
		for k := s.lo / grain; k <= s.hi/grain; k++ {
			if n := len(a.granules); n == 0 || a.granules[n-1] < k {
				a.granules = append(a.granules, k)
			}
		}
	}
	return a
}

func (a copyArea) empty() bool { return len(a.spans) == 0 && len(a.granules) == 0 }

// covers reports whether every time in spans lies in the area.
func (a copyArea) covers(spans []copySpan) bool {
	if a.grain == 0 {
		return within(spans, a.spans)
	}
	for _, s := range spans {
		for k := s.lo / a.grain; k <= s.hi/a.grain; k++ {
			if _, ok := slices.BinarySearch(a.granules, k); !ok {
				return false
			}
		}
	}
	return true
}

// asSpans is the area as sorted, disjoint spans.
func (a copyArea) asSpans() []copySpan {
	if a.grain == 0 {
		return a.spans
	}
	out := make([]copySpan, 0, len(a.granules))
	for _, k := range a.granules {
		// The times t with t / grain == k: truncation puts both signs' remainders in 0.
		lo, hi := k*a.grain, k*a.grain+a.grain-1
		switch {
		case k < 0:
			lo, hi = k*a.grain-a.grain+1, k*a.grain
		case k == 0:
			lo = -(a.grain - 1)
		}
		out = append(out, copySpan{lo, hi})
	}
	return joinSpans(out)
}

// sql is the condition that a row lies in the area.
func (a copyArea) sql() string {
	if a.grain == 0 {
		return copySpanSQL(a.spans)
	}
	var b strings.Builder
	b.WriteString("intDiv(timestamp, ")
	b.WriteString(strconv.FormatInt(a.grain, 10))
	b.WriteString(") IN (")
	for i, k := range a.granules {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(k, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// within reports whether every span of inner lies inside a span of outer; both are
// sorted and disjoint.
func within(inner, outer []copySpan) bool {
	j := 0
	for _, s := range inner {
		for j < len(outer) && outer[j].hi < s.lo {
			j++
		}
		if j == len(outer) || outer[j].lo > s.lo || outer[j].hi < s.hi {
			return false
		}
	}
	return true
}

// copySpanSQL is the condition that a row lies in one of spans.
func copySpanSQL(spans []copySpan) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, s := range spans {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(timestamp >= ")
		b.WriteString(strconv.FormatInt(s.lo, 10))
		b.WriteString(" AND timestamp <= ")
		b.WriteString(strconv.FormatInt(s.hi, 10))
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

// countCopiesWhereSQL is a count that folds copies only within area: rows outside it
// are counted, rows inside by distinct id (copies share every grouping value, so they
// land in one group). Its last column counts the rows stored without blooms, which the
// overlaps cannot vouch for. Byte sums need the area to be empty.
func countCopiesWhereSQL(db string, q *LogCountQuery, area copyArea) string {
	defs, names := groupColumns(q)
	count := "count()"
	if !area.empty() {
		in := area.sql()
		count = "countIf(NOT " + in + ") + uniqExactIf(id, " + in + ")"
	}
	bytes := "toUInt64(0)"
	if q.Bytes {
		bytes = "sum(length(body))"
	}
	return fmt.Sprintf("SELECT %s, %s, %s, countIf(bloomed = 0) FROM %s.logs %s GROUP BY %s",
		defs, count, bytes, db, filterClauses(db, &q.LogFilter), names)
}

// maxCopyRecounts bounds how often a count is run again because flushes landed while it
// ran; after that it folds copies with FINAL.
const maxCopyRecounts = 2

// maxSpannedRows is the share of rows in copy spans above which a count grouped by
// columns reads FINAL instead: distinct ids cost 18.16 more than FINAL's folding when
// they are most of the rows (10M rows by service_name: count() 0.58 s, count() and
// distinct ids of every row 2.2 s, FINAL in two slices 1.1-1.3 s).
const maxSpannedRows = 1.0 / 3

// countBetweenCopies answers q with count() outside the spans where storage may hold
// copies and distinct ids inside them. ok is false when FINAL is the better or the only
// exact way: too many blocks or too few rows in each, rows stored without blooms, a
// byte sum where copies may be, copies among most of the rows, or flushes that kept landing where the count did
// not look for copies.
func (c *Client) countBetweenCopies(ctx context.Context, q *LogCountQuery) ([]LogCount, bool, error) {
	blocks, others, ok, err := c.flushBlocks(ctx, &q.LogFilter)
	if err != nil || !ok {
		return nil, false, err
	}
	qctx, err := queryContext(ctx, q.ExcludeIDs)
	if err != nil {
		return nil, false, err
	}
	// When the stream matchers pass every stream with rows in range, the count leaves
	// them out: they cost a column read and a set lookup per row. Every row counted has
	// its block (blocks precede rows), so the blocks read after the count vouch for it.
	counted := *q
	if others == 0 && len(blocks) > 0 {
		counted.Matchers = serviceMatchers(q.Matchers)
	}
	area := areaOf(overlaps(blocks, q.ExcludeFlushIDs, q.Start, q.End-1))
	for range maxCopyRecounts + 1 {
		if !area.empty() && (q.Bytes || !groupsByArrays(q.By) && spannedRows(blocks, area.asSpans()) > maxSpannedRows) {
			return nil, false, nil
		}
		if c.beforeCopyCount != nil {
			c.beforeCopyCount()
		}
		out, unbloomed, err := c.countLogs(qctx, q, countCopiesWhereSQL(c.cfg.Database, &counted, area), true)
		if err != nil || unbloomed > 0 {
			return nil, false, err
		}
		if blocks, others, ok, err = c.flushBlocks(ctx, &q.LogFilter); err != nil || !ok {
			return nil, false, err
		}
		after := overlaps(blocks, q.ExcludeFlushIDs, q.Start, q.End-1)
		matchersKept := len(counted.Matchers) == len(q.Matchers)
		if area.covers(after) && (matchersKept || others == 0) {
			c.copyCounts.Add(1)
			return out, true, nil
		}
		if !matchersKept && others > 0 {
			counted.Matchers = q.Matchers // a stream the matchers reject stored rows meanwhile
		}
		area = areaOf(after)
	}
	return nil, false, nil
}

// serviceMatchers are the service_name matchers of ms: the ones on a column of the rows.
func serviceMatchers(ms []*logql.Matcher) []*logql.Matcher {
	var out []*logql.Matcher
	for _, m := range ms {
		if m.Name == "service_name" {
			out = append(out, m)
		}
	}
	return out
}
