package clickhouse

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/strataobs/strata/logql"
)

// LogFilter selects a tenant's log rows. Every reader takes one; logWhere turns it into
// SQL that runs on ClickHouse 18.16 and on current servers.
type LogFilter struct {
	Tenant string
	// Start (inclusive) and End (exclusive) bound the record timestamps, unix ns.
	Start, End int64
	// Matchers are stream-label matchers (= != =~ !~). A missing label matches as "".
	Matchers []*logql.Matcher
	// LineFilters are a query's leading line filters. They are pushed into SQL where
	// that is exact or a superset (|= != as position(), |~ !~ as re2 match()); the
	// caller runs its pipeline over the rows anyway.
	LineFilters []*logql.LineFilterStage
	// ExcludeFlushIDs are flush batches an ingester answered from memory.
	ExcludeFlushIDs []uint64
	// ExcludeIDs are records the caller already has (from ingesters): aggregations
	// must not count them twice. Long lists travel as an external table.
	ExcludeIDs []uint64

	// pruned restricts the rows to ranges, the blocks whose line blooms may hold the
	// line filters' literals (Client.pruneLines).
	pruned bool
	ranges []lineRange
}

// maxInlineIDs is the longest id list written into the SQL text; longer ones go as an
// external table so the query stays under the server's max_query_size.
const maxInlineIDs = 1000

// excludedIDsTable names the external table that carries LogFilter.ExcludeIDs.
const excludedIDsTable = "strata_excluded_ids"

// queryContext attaches the external tables a filter's SQL refers to.
func queryContext(ctx context.Context, ids []uint64) (context.Context, error) {
	if len(ids) <= maxInlineIDs {
		return ctx, nil
	}
	tbl, err := ext.NewTable(excludedIDsTable, ext.Column("id", "UInt64"))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := tbl.Append(id); err != nil {
			return nil, err
		}
	}
	return ch.Context(ctx, ch.WithExternalTable(tbl)), nil
}

// whereOpts switch off pushdowns a server refused and say where conditions go.
type whereOpts struct {
	noRegex bool
	// linesApart leaves the line filters out of logWhere: the caller puts them in
	// PREWHERE (see linePrewhere).
	linesApart bool
	// db is the database whose log_streams answers stream matchers; without it they
	// are rendered on the label arrays of the log rows themselves.
	db string
	// streamsApart leaves the stream condition out of logWhere: the caller puts it in
	// PREWHERE (see streamMatch).
	streamsApart bool
}

// prewhere chooses the PREWHERE of a log read or count and returns the options that
// keep those conditions out of logWhere. ClickHouse reads the PREWHERE columns of every
// row in range and the other columns only for the granules where some row passed: line
// filters first (a needle leaves few granules, and 18.16 does not move conditions on a
// column as large as body to PREWHERE by itself), else the stream condition (one
// 8-byte column instead of the label arrays).
func prewhere(f *LogFilter, o whereOpts) (string, whereOpts) {
	if pre := linePrewhere(f, o); pre != "" {
		o.linesApart = true
		return pre, o
	}
	if pre := streamMatch(f, o); pre != "" {
		o.streamsApart = true
		return pre, o
	}
	return "", o
}

// streamMatch selects the rows of the streams whose labels pass the matchers not on
// service_name (that one is a column of the sort key), looked up in log_streams, or ""
// when there are none. Every stream of a stored row is in log_streams: the writer
// stores a batch's streams before its rows, and migration 7 filled in the older ones.
// GLOBAL, so that on a sharded cluster the subquery runs once.
func streamMatch(f *LogFilter, o whereOpts) string {
	var conds []string
	for _, m := range f.Matchers {
		if m.Name == "service_name" {
			continue
		}
		if cond := matcherSQL(m, o); cond != "" {
			conds = append(conds, cond)
		}
	}
	if len(conds) == 0 {
		return ""
	}
	if o.db == "" {
		return strings.Join(conds, " AND ")
	}
	var b strings.Builder
	b.WriteString("stream_id GLOBAL IN (SELECT stream_id FROM ")
	b.WriteString(o.db)
	b.WriteString(".log_streams WHERE tenant = ")
	b.WriteString(Quote(f.Tenant))
	if f.End > f.Start {
		writeDays(&b, f.Start, f.End)
	}
	for _, c := range conds {
		b.WriteString(" AND ")
		b.WriteString(c)
	}
	b.WriteString(")")
	return b.String()
}

// linePrewhere is the conjunction of the filter's line filters, or "" when none has a
// SQL form. As PREWHERE it makes ClickHouse read the body column first and the other
// columns only for the granules where some line matched: a needle search over 10M
// lines otherwise reads every selected column of every row in range (18.16 does not
// move conditions on a column as large as body to PREWHERE by itself).
func linePrewhere(f *LogFilter, o whereOpts) string {
	var conds []string
	for _, lf := range f.LineFilters {
		if cond := lineFilterSQL(lf, o); cond != "" {
			conds = append(conds, cond)
		}
	}
	return strings.Join(conds, " AND ")
}

// logWhere renders the filter. The service_name matchers use the service_name column
// (the sort key's second part): the distributor stores the stream's service_name label
// there, so both always agree.
func logWhere(f *LogFilter, o whereOpts) string {
	var b strings.Builder
	b.WriteString("tenant = ")
	b.WriteString(Quote(f.Tenant))
	writeTimeRange(&b, "timestamp", f.Start, f.End)
	writeRanges(&b, f)
	for _, m := range f.Matchers {
		if m.Name != "service_name" {
			continue
		}
		if cond := matcherSQL(m, o); cond != "" {
			b.WriteString(" AND ")
			b.WriteString(cond)
		}
	}
	if !o.streamsApart {
		if cond := streamMatch(f, o); cond != "" {
			b.WriteString(" AND ")
			b.WriteString(cond)
		}
	}
	for _, lf := range f.LineFilters {
		if o.linesApart {
			// ClickHouse 18.16 is many times slower when no later step uses a
			// PREWHERE column: over 10M rows, a count with a line filter in PREWHERE took
			// 14 s, and 2 s once this condition keeps body needed after it.
			b.WriteString(" AND length(body) >= 0")
			break
		}
		if cond := lineFilterSQL(lf, o); cond != "" {
			b.WriteString(" AND ")
			b.WriteString(cond)
		}
	}
	if len(f.ExcludeFlushIDs) > 0 {
		b.WriteString(" AND flush_id NOT IN ")
		b.WriteString(uintList(f.ExcludeFlushIDs))
	}
	writeExcludedIDs(&b, f.ExcludeIDs)
	return b.String()
}

func writeExcludedIDs(b *strings.Builder, ids []uint64) {
	switch {
	case len(ids) == 0:
	case len(ids) <= maxInlineIDs:
		b.WriteString(" AND id NOT IN ")
		b.WriteString(uintList(ids))
	default:
		b.WriteString(" AND id NOT IN " + excludedIDsTable)
	}
}

// writeTimeRange bounds a nanosecond column to [start, end) and the day partition key
// to the days in between, so whole partitions are skipped.
func writeTimeRange(b *strings.Builder, col string, start, end int64) {
	if end <= start {
		b.WriteString(" AND 0")
		return
	}
	writeDays(b, start, end)
	b.WriteString(" AND ")
	b.WriteString(col)
	b.WriteString(" >= ")
	b.WriteString(strconv.FormatInt(start, 10))
	b.WriteString(" AND ")
	b.WriteString(col)
	b.WriteString(" < ")
	b.WriteString(strconv.FormatInt(end, 10))
}

// writeDays bounds the day partition key to the days of [start, end).
func writeDays(b *strings.Builder, start, end int64) {
	b.WriteString(" AND day >= toDate(")
	b.WriteString(Quote(dayOf(start).Format(time.DateOnly)))
	b.WriteString(") AND day <= toDate(")
	b.WriteString(Quote(dayOf(end - 1).Format(time.DateOnly)))
	b.WriteString(")")
}

// streamLabelSQL is the value of a stream label, "" when the stream lacks it.
func streamLabelSQL(name string) string {
	if name == "service_name" {
		return "service_name"
	}
	return "arrayElement(labels_values, indexOf(labels_keys, " + Quote(name) + "))"
}

// matcherSQL renders one stream matcher. Regexps are anchored as in Loki
// (^(?s:re)$); ClickHouse's re2 and Go's regexp share the syntax and semantics. The
// readers re-check matchers in Go, so a dropped regexp (noRegex) stays correct.
func matcherSQL(m *logql.Matcher, o whereOpts) string {
	v := streamLabelSQL(m.Name)
	switch m.Type {
	case logql.MatchEqual:
		return v + " = " + Quote(m.Value)
	case logql.MatchNotEqual:
		return v + " != " + Quote(m.Value)
	case logql.MatchRegexp:
		if o.noRegex {
			return ""
		}
		return "match(" + v + ", " + Quote("^(?s:"+m.Value+")$") + ")"
	case logql.MatchNotRegexp:
		if o.noRegex {
			return ""
		}
		return "NOT match(" + v + ", " + Quote("^(?s:"+m.Value+")$") + ")"
	}
	return ""
}

// lineFilterSQL renders a line filter, or "" when it has no SQL form (ip(), patterns).
// |= is a byte substring search, like strings.Contains. For |~ the pattern is wrapped
// in (?-s:...) because ClickHouse lets "." match a newline by default and Go does not.
func lineFilterSQL(lf *logql.LineFilterStage, o whereOpts) string {
	var one func(v string) string
	switch lf.Op {
	case logql.LineContains, logql.LineNotContains:
		one = func(v string) string { return "position(body, " + Quote(v) + ") > 0" }
	case logql.LineMatchRegexp, logql.LineNotMatchRegexp:
		if o.noRegex {
			return ""
		}
		one = func(v string) string { return "match(body, " + Quote("(?-s:"+v+")") + ")" }
	default:
		return ""
	}
	parts := make([]string, 0, len(lf.Values))
	for _, v := range lf.Values {
		if v.IP {
			return ""
		}
		parts = append(parts, one(v.Value))
	}
	// A positive filter keeps a line when any value matches, a negated one when none does.
	cond := "(" + strings.Join(parts, " OR ") + ")"
	if lf.Op.Negated() {
		return "NOT " + cond
	}
	return cond
}

// errCodeCannotCompileRegexp is ClickHouse's CANNOT_COMPILE_REGEXP.
const errCodeCannotCompileRegexp = 427

// isRegexpError reports whether the server refused a regular expression that Go
// accepted (re2 versions differ a little); readers then retry without regexp pushdown.
func isRegexpError(err error) bool {
	var ex *ch.Exception
	return errors.As(err, &ex) && ex.Code == errCodeCannotCompileRegexp
}
