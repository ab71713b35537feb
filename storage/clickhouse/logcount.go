package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// LogCountQuery counts log rows per time bucket and group, in ClickHouse, for the metric
// queries that only count rows or sum their line lengths (logql.CountQuery).
type LogCountQuery struct {
	LogFilter
	// Bucket b holds the rows with a timestamp in (Base + (b-1)*Width, Base + b*Width]:
	// left-open like Loki's range windows, so a window is a run of whole buckets.
	Base, Width int64
	// By are the label names rows are grouped by. Each is read from the stream labels,
	// else from the structured metadata, exactly as the LogQL pipeline reads it (see
	// logFields.metadata); a row without it groups under "".
	By []string
	// Bytes asks for the line bytes too (bytes_over_time, bytes_rate): it reads the
	// body column, which counting alone does not.
	Bytes bool
}

// LogCount is the number of distinct records, and with LogCountQuery.Bytes the sum of
// their line lengths in bytes, in one bucket and group. Values holds one value per
// LogCountQuery.By name.
type LogCount struct {
	Bucket int64
	Values []string
	Count  uint64
	Bytes  uint64
}

// CountLogs answers q in ClickHouse. Records are counted once however many copies
// storage holds (retries and failovers store some; ReplacingMergeTree folds them only
// when it merges). Copies can only lie where two flush blocks of a stream overlap in
// time (logcopies.go), so the count reads plain rows and counts distinct ids only
// there: on a day without copies it costs what count() does.
//
// It reads the table FINAL instead (countFinal) where it cannot vouch for the overlaps
// (rows stored without blooms, a byte sum where copies may be) or FINAL is cheaper:
// copies among most rows, too many flush blocks, or blocks of few rows each.
func (c *Client) CountLogs(ctx context.Context, q LogCountQuery) ([]LogCount, error) {
	if q.Width <= 0 {
		return nil, fmt.Errorf("count logs: bucket width %d must be positive", q.Width)
	}
	if _, err := c.pruneLines(ctx, &q.LogFilter); err != nil {
		return nil, fmt.Errorf("count logs: %w", err)
	}
	out, ok, err := c.countBetweenCopies(ctx, &q)
	if err == nil && !ok {
		out, err = c.countFinal(ctx, q)
	}
	if err != nil && isRegexpError(err) {
		return nil, fmt.Errorf("%w: %w", ErrRegexpUnsupported, err)
	}
	if err != nil {
		return nil, fmt.Errorf("count logs: %w", err)
	}
	return out, nil
}

// countFinal answers q reading the logs table FINAL, which folds copies (they share the
// whole sort key, id included) as it reads. Over 10M rows that is about 1.6× faster on
// 18.16 than uniqExact(id), and it makes byte sums exact in the same pass; but grouping
// by labels or attributes counts distinct ids instead (groupsByArrays).
//
// ClickHouse before 22.x folds FINAL in one thread per partition, so a count over
// more than minSlicedRange and minSlicedRows runs as -clickhouse.count-slices
// concurrent queries over consecutive time slices of about as many rows each, whose
// counts are added up: copies of a record share its timestamp, so each record falls in
// one slice and is folded there (10M rows in one partition, 2 cores: 2.0 s as one
// query, 1.0-1.6 s as two).
func (c *Client) countFinal(ctx context.Context, q LogCountQuery) ([]LogCount, error) {
	slices := c.countSlices(ctx, &q)
	parts := make([][]LogCount, len(slices))
	g, gctx := errgroup.WithContext(ctx)
	for k, s := range slices {
		g.Go(func() error {
			sq := q
			sq.Start, sq.End = s[0], s[1]
			qctx, err := queryContext(gctx, sq.ExcludeIDs)
			if err != nil {
				return err
			}
			parts[k], _, err = c.countLogs(qctx, &sq, countSQL(c.cfg.Database, &sq), false)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return mergeCounts(parts), nil
}

// minSlicedRange is the shortest count range split into slices: below it a count is
// quick, and each slice costs a round trip.
const minSlicedRange = int64(10 * time.Minute)

// minSlicedRows is the fewest rows in range (as log_blooms counts them) for which a
// count is split: FINAL costs 18.16 about 0.2 s per query however few rows it folds,
// so below this one query is as quick as two (1.7M rows, 2 cores: 0.41-0.66 s whole,
// 0.32-0.75 s in two slices; 10M rows: 1.7-2.3 s whole, 0.95-1.0 s in two).
var minSlicedRows uint64 = 2_000_000

// histBuckets is how many equal time buckets the rows of a range are counted in to
// place slice boundaries.
const histBuckets = 64

// countSlices splits q's range into -clickhouse.count-slices consecutive slices that
// hold about as many rows each, or leaves it whole when it is short or holds few rows.
// Slices of equal time were unequal whenever the range reached past the data (a 24h
// count over 6h of logs ran one slice with every row and one with none).
func (c *Client) countSlices(ctx context.Context, q *LogCountQuery) [][2]int64 {
	n := c.cfg.CountSlices
	if n < 2 || q.End-q.Start < minSlicedRange {
		return [][2]int64{{q.Start, q.End}}
	}
	hist, err := c.rowsOverTime(ctx, &q.LogFilter, histBuckets)
	if err != nil {
		// The count itself reports a failing server; slices of equal time still
		// give the right answer.
		hist = nil
	}
	return rowSlices(q.Start, q.End, n, hist)
}

// rowsOverTime counts the rows of f's streams in nb equal time buckets of [f.Start,
// f.End) from log_blooms, each flush block at its first timestamp: an estimate from a
// table of one row per stream and flush, some 10 ms where the rows themselves take
// seconds. Rows written without blooms are not counted.
func (c *Client) rowsOverTime(ctx context.Context, f *LogFilter, nb int) ([]uint64, error) {
	width := (f.End - f.Start + int64(nb) - 1) / int64(nb)
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT intDiv(greatest(min_ts, %d) - %d, %d) AS b, sum(rows) FROM %s.log_blooms WHERE ",
		f.Start, f.Start, width, c.cfg.Database)
	writeBlocksWhere(&b, c.cfg.Database, f)
	b.WriteString(" GROUP BY b")
	hist := make([]uint64, nb)
	err := c.query(ctx, b.String(), func(rows driver.Rows) error {
		var k int64
		var n uint64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		if k >= 0 && k < int64(nb) {
			hist[k] += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count rows over time: %w", err)
	}
	return hist, nil
}

// rowSlices places n-1 boundaries in [start, end) where hist, the rows in equal time
// buckets of the range, crosses each n-th of its total. With no rows counted it falls
// back to slices of equal time; with fewer than minSlicedRows, one slice.
func rowSlices(start, end int64, n int, hist []uint64) [][2]int64 {
	var total uint64
	for _, h := range hist {
		total += h
	}
	switch {
	case total == 0:
		return timeSlices(start, end, n)
	case total < minSlicedRows:
		return [][2]int64{{start, end}}
	}
	width := (end - start + int64(len(hist)) - 1) / int64(len(hist))
	out := make([][2]int64, 0, n)
	lo := start
	var cum uint64
	for i, h := range hist {
		cum += h
		hi := min(start+int64(i+1)*width, end)
		if len(out) < n-1 && cum*uint64(n) >= total*uint64(len(out)+1) && hi > lo && hi < end {
			out = append(out, [2]int64{lo, hi})
			lo = hi
		}
	}
	return append(out, [2]int64{lo, end})
}

// timeSlices splits [start, end) into n consecutive slices of equal time.
func timeSlices(start, end int64, n int) [][2]int64 {
	out := make([][2]int64, 0, n)
	step := (end - start) / int64(n)
	for k := range n {
		lo, hi := start+int64(k)*step, start+int64(k+1)*step
		if k == n-1 {
			hi = end
		}
		out = append(out, [2]int64{lo, hi})
	}
	return out
}

// mergeCounts adds up the counts of slices: a bucket that spans a slice boundary comes
// back from both sides.
func mergeCounts(parts [][]LogCount) []LogCount {
	if len(parts) == 1 {
		return parts[0]
	}
	var out []LogCount
	at := map[string]int{}
	var key strings.Builder
	for _, part := range parts {
		for _, lc := range part {
			key.Reset()
			key.WriteString(strconv.FormatInt(lc.Bucket, 10))
			for _, v := range lc.Values {
				key.WriteByte(' ')
				key.WriteString(strconv.Itoa(len(v)))
				key.WriteByte(':')
				key.WriteString(v)
			}
			if i, ok := at[key.String()]; ok {
				out[i].Count += lc.Count
				out[i].Bytes += lc.Bytes
				continue
			}
			at[key.String()] = len(out)
			out = append(out, lc)
		}
	}
	return out
}

// ErrRegexpUnsupported means the server could not compile a regular expression that Go
// accepts; a count cannot drop the filter, so the caller evaluates the query in Go.
var ErrRegexpUnsupported = errors.New("regular expression not supported by ClickHouse")

// countLogs runs a count query whose columns are bucket, By values, records and bytes,
// and with unbloomedCol the rows stored without blooms, which it adds up.
func (c *Client) countLogs(ctx context.Context, q *LogCountQuery, sql string, unbloomedCol bool) (out []LogCount, unbloomed uint64, err error) {
	rows, err := c.conn.Query(ctx, sql)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		lc := LogCount{Values: make([]string, len(q.By))}
		dest := make([]any, 0, 3+len(q.By))
		dest = append(dest, &lc.Bucket)
		for i := range lc.Values {
			dest = append(dest, &lc.Values[i])
		}
		dest = append(dest, &lc.Count, &lc.Bytes)
		var unb uint64
		if unbloomedCol {
			dest = append(dest, &unb)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		unbloomed += unb
		out = append(out, lc)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return out, unbloomed, nil
}

// bucketSQL is the bucket of a row's timestamp. Bucket numbers are shifted by k whole
// buckets so that intDiv (which truncates toward zero) only sees non-negative numbers.
func bucketSQL(q *LogCountQuery) string {
	k := int64(0)
	if q.Start < q.Base {
		k = (q.Base-q.Start)/q.Width + 2
	}
	origin := q.Base - k*q.Width
	return fmt.Sprintf("intDiv(timestamp - %d, %d) - %d", origin-q.Width+1, q.Width, k)
}

// groupColumns are "b, v0, v1, ..." and their definitions.
func groupColumns(q *LogCountQuery) (defs, names string) {
	d := []string{bucketSQL(q) + " AS b"}
	n := []string{"b"}
	for i, name := range q.By {
		d = append(d, fmt.Sprintf("%s AS v%d", labelValueSQL(name), i))
		n = append(n, fmt.Sprintf("v%d", i))
	}
	return strings.Join(d, ", "), strings.Join(n, ", ")
}

func countSQL(db string, q *LogCountQuery) string {
	defs, names := groupColumns(q)
	bytes := "toUInt64(0)"
	if q.Bytes {
		bytes = "sum(length(body))"
	}
	from, count := " FINAL", "count()"
	if !q.Bytes && groupsByArrays(q.By) {
		from, count = "", "uniqExact(id)"
	}
	return fmt.Sprintf("SELECT %s, %s, %s FROM %s.logs%s %s GROUP BY %s",
		defs, count, bytes, db, from, filterClauses(db, &q.LogFilter), names)
}

// groupsByArrays reports whether grouping by these names reads the label or attribute
// arrays (every name but service_name does). FINAL folds copies row by row, and 18.16
// copies array columns slowly: over 5M rows, by detected_level, 24 s with FINAL and
// 3.1 s counting distinct ids without it (copies of a record share its timestamp and
// every grouping value, so they land in one group). Without arrays FINAL is the
// cheaper of the two (1.6 s against 2.8 s over 10M rows by service_name), and it is
// what keeps byte sums exact.
func groupsByArrays(by []string) bool {
	for _, name := range by {
		if name != "service_name" {
			return true
		}
	}
	return false
}

// filterClauses is the PREWHERE and WHERE of a count (see prewhere): a count over a
// needle reads the body first and the grouping columns (label and attribute arrays)
// only where a line matched. Under FINAL, ClickHouse applies PREWHERE before folding
// copies; that is exact because copies of a record are equal in every column but
// flush_id, which only WHERE reads.
func filterClauses(db string, f *LogFilter) string {
	pre, o := prewhere(f, whereOpts{db: db})
	if pre == "" {
		return "WHERE " + logWhere(f, o)
	}
	return "PREWHERE " + pre + " WHERE " + logWhere(f, o)
}

// labelValueSQL is the SQL twin of the pipeline's label lookup for a record without
// parsers: the stream label, else the structured metadata in logFields.metadata's
// order, else "".
func labelValueSQL(name string) string {
	if name == "service_name" {
		return "service_name"
	}
	q := Quote(name)
	var arms []string
	arm := func(cond, val string) { arms = append(arms, cond, val) }
	arm("has(labels_keys, "+q+")", "arrayElement(labels_values, indexOf(labels_keys, "+q+"))")
	if cond, val, ok := fieldSQL(name); ok {
		arm(cond, val)
	}
	attr := "arrayElement(attr_values, " + keyIndexSQL("attr_keys", name) + ")"
	arm(attr+" != ''", attr)
	switch name {
	case MetaScopeName:
		arm("scope_name != ''", "scope_name")
	case MetaScopeVersion:
		arm("scope_version != ''", "scope_version")
	}
	res := "arrayElement(res_values, " + keyIndexSQL("res_keys", name) + ")"
	arm(res+" != ''", res)
	return "multiIf(" + strings.Join(arms, ", ") + ", '')"
}

// fieldSQL is the record field behind a structured-metadata name, if any.
func fieldSQL(name string) (cond, val string, ok bool) {
	switch name {
	case MetaDetectedLevel:
		return "level != ''", "level", true
	case MetaTraceID:
		return "trace_id != ''", "trace_id", true
	case MetaSpanID:
		return "span_id != ''", "span_id", true
	case MetaFlags:
		return "flags != 0", "toString(flags)", true
	case MetaSeverityText:
		return "severity_text != ''", "severity_text", true
	case MetaSeverityNumber:
		return "severity_number != 0", "toString(severity_number)", true
	case MetaObservedTimestamp:
		return "observed_timestamp != 0 AND observed_timestamp != timestamp", "toString(observed_timestamp)", true
	}
	return "", "", false
}

// keyIndexSQL is the 1-based index of the first key in an attribute-key array whose
// label name (LabelName) is name, or 0. Only a name with "_" can come from a key that
// is not itself that name, so other names use plain indexOf. For the rest a regexp
// matches exactly the keys LabelName maps to name: "_" stands for any character
// outside [a-zA-Z0-9] (outside [a-zA-Z] first, where digits become "_" too). Matching
// keys this way is about three times cheaper on 18.16 than rewriting every key with
// replaceRegexpAll and looking the name up.
func keyIndexSQL(col, name string) string {
	if !strings.Contains(name, "_") {
		return "indexOf(" + col + ", " + Quote(name) + ")"
	}
	var re strings.Builder
	re.WriteByte('^')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '_' && i == 0:
			re.WriteString("[^a-zA-Z]")
		case c == '_':
			re.WriteString("[^a-zA-Z0-9]")
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			re.WriteByte(c)
		default:
			re.WriteString(regexp.QuoteMeta(string(c))) // not a label name; match it literally
		}
	}
	re.WriteByte('$')
	return "arrayFirstIndex(k -> match(k, " + Quote(re.String()) + "), " + col + ")"
}
