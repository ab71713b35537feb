package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/strataobs/strata/logql"
)

// StreamQuery asks which streams have rows in a time range.
type StreamQuery struct {
	LogFilter
	// Stats adds each stream's row count and line bytes (reading the body column).
	Stats bool
	// Step > 0 splits the stats into buckets: bucket b holds the rows with a timestamp
	// in [Start + b*Step, Start + (b+1)*Step).
	Step int64
}

// StreamStat is one stream (in one bucket, with StreamQuery.Step). Entries and Bytes
// are estimates like Loki's index statistics: copies not yet merged away count twice.
type StreamStat struct {
	Labels  logql.Labels
	Bucket  int64
	Entries uint64
	Bytes   uint64
}

// Streams returns the streams that match q's selector in its time range: the base of
// the label names, label values, series, index stats and volume endpoints. Labels are
// re-checked against the matchers in Go, as SelectLogs does.
func (c *Client) Streams(ctx context.Context, q StreamQuery) ([]StreamStat, error) {
	out, err := c.streams(ctx, &q, whereOpts{})
	if err != nil && isRegexpError(err) {
		out, err = c.streams(ctx, &q, whereOpts{noRegex: true})
	}
	return out, err
}

func (c *Client) streams(ctx context.Context, q *StreamQuery, o whereOpts) ([]StreamStat, error) {
	ctx, err := queryContext(ctx, q.ExcludeIDs)
	if err != nil {
		return nil, fmt.Errorf("select streams: %w", err)
	}
	rows, err := c.conn.Query(ctx, streamsSQL(c.cfg.Database, q, o))
	if err != nil {
		return nil, fmt.Errorf("select streams: %w", err)
	}
	defer rows.Close()
	var out []StreamStat
	for rows.Next() {
		var f logFields
		var st StreamStat
		if err := rows.Scan(&st.Bucket, &f.labelKeys, &f.labelValues, &st.Entries, &st.Bytes); err != nil {
			return nil, fmt.Errorf("select streams: %w", err)
		}
		st.Labels = f.stream()
		if logql.MatchesLabels(q.Matchers, st.Labels) {
			out = append(out, st)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select streams: %w", err)
	}
	return out, nil
}

func streamsSQL(db string, q *StreamQuery, o whereOpts) string {
	var b strings.Builder
	bucket := "toInt64(0)"
	if q.Step > 0 {
		bucket = fmt.Sprintf("intDiv(timestamp - %d, %d)", q.Start, q.Step)
	}
	where := logWhere(&q.LogFilter, o)
	if !q.Stats && q.Step <= 0 {
		// Label names and values only: find each stream's first row from the narrow
		// stream_id and timestamp columns, then read the label arrays of those rows alone
		// (PREWHERE), instead of the arrays of every row in range (over 10M lines: 4 s to
		// a fraction of a second). GLOBAL, so that on a sharded cluster the subquery runs
		// once, on the Distributed table, rather than once per shard.
		fmt.Fprintf(&b, "SELECT toInt64(0) AS b, labels_keys, labels_values, toUInt64(0), toUInt64(0) FROM %[1]s.logs "+
			"PREWHERE (stream_id, timestamp) GLOBAL IN (SELECT stream_id, min(timestamp) FROM %[1]s.logs WHERE %[2]s GROUP BY stream_id) "+
			"WHERE %[2]s LIMIT 1 BY stream_id", db, where)
		return b.String()
	}
	stats := "toUInt64(0), toUInt64(0)"
	if q.Stats {
		stats = "count(), sum(length(body))"
	}
	fmt.Fprintf(&b, "SELECT %s AS b, any(labels_keys), any(labels_values), %s FROM %s.logs WHERE %s GROUP BY stream_id, b",
		bucket, stats, db, where)
	return b.String()
}
