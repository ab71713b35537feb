package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/strataobs/strata/logql"
)

// LogQuery asks for log rows in time order.
type LogQuery struct {
	LogFilter
	// Forward returns the oldest rows first; otherwise the newest first (Loki's default
	// "backward" direction).
	Forward bool
	// PageSize is the number of rows the first SQL page asks for (default 1000); later
	// pages double it up to maxPageSize. A caller that needs `limit` lines passes about
	// that many, so the common query costs one top-N sort in ClickHouse.
	PageSize int
}

const (
	defaultPageSize = 1000
	maxPageSize     = 50000
	// maxStreamCache bounds the per-query cache of stream labels by stream id.
	maxStreamCache = 100000
)

// logColumns are read for each row, in scan order. The stream labels are not among
// them: they come from log_streams by stream id (Client.streamLabels), which spares
// reading two array columns per row (over 10M lines, a regexp search 2.5 s -> 2.2 s).
// The attribute arrays arrive packed into one string each (packedPairsSQL).
var logColumns = `timestamp, id, stream_id, body, level, trace_id, span_id, flags,
	severity_text, severity_number, observed_timestamp, ` + packedPairsSQL("attr_keys", "attr_values") + `, scope_name, scope_version, ` +
	packedPairsSQL("res_keys", "res_values")

// packedPairsSQL packs two parallel String arrays into one String: for each pair,
// "<len(key)>:<key><len(value)>:<value>", lengths in bytes, which unpackPairs reads
// back whatever bytes keys and values hold. clickhouse-go scans array columns element
// by element through reflection: reading a page of 5,000 log rows spent a third of a
// query's CPU there, against a plain string copy for this form.
func packedPairsSQL(keys, values string) string {
	return fmt.Sprintf("arrayStringConcat(arrayMap((k, v) -> concat(toString(length(k)), ':', k, toString(length(v)), ':', v), %s, %s))", keys, values)
}

// unpackPairs splits what packedPairsSQL built into keys and values, which share s's
// memory.
func unpackPairs(s string) (keys, values []string, err error) {
	if s == "" {
		return nil, nil, nil
	}
	next := func() (string, error) {
		colon := strings.IndexByte(s, ':')
		if colon <= 0 {
			return "", fmt.Errorf("packed attributes: no length at %q", s)
		}
		n, err := strconv.Atoi(s[:colon])
		if err != nil || n < 0 || n > len(s)-colon-1 {
			return "", fmt.Errorf("packed attributes: bad length %q", s[:colon])
		}
		v := s[colon+1 : colon+1+n]
		s = s[colon+1+n:]
		return v, nil
	}
	for s != "" {
		k, err := next()
		if err != nil {
			return nil, nil, err
		}
		v, err := next()
		if err != nil {
			return nil, nil, err
		}
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values, nil
}

// LogIterator streams the rows of a LogQuery in order, one id at most once. It reads
// pages with keyset pagination on (timestamp, id), so it never holds more than a page
// and a query that stops early (a limit reached) leaves the rest unread.
//
// Each page reads one time window of the range still unread, sized to hold about a
// page: the window grows while pages come back short and shrinks when one fills. So
// ClickHouse scans each row about once; paging over the whole remaining range instead
// rescans it for every page (measured: 51 s instead of seconds for 1M rows).
type LogIterator struct {
	c    *Client
	ctx  context.Context
	q    LogQuery
	opts whereOpts
	page int
	done bool
	err  error
	buf  []LogRow
	i    int
	// curTS and curID are the last row read from ClickHouse (kept or not): the next
	// page starts after it.
	curTS     int64
	curID     uint64
	hasCursor bool
	// remLo and remHi bound the timestamps not read yet; [winLo, winHi) is the window
	// being read.
	remLo, remHi int64
	winLo, winHi int64
	hasWin       bool
	width        int64
	pruneTried   bool
	// streams caches stream labels, and whether they pass the matchers, by stream id:
	// rows of one stream share one Labels value.
	streams map[uint64]streamInfo
	names   labelNames
	pages   int
	// ahead is the rest of the range read concurrently with the first window
	// (startAhead), or nil.
	ahead     *aheadRead
	aheadUsed int
}

// aheadRead is one page of the window [lo, hi), read by a goroutine.
type aheadRead struct {
	lo, hi int64
	page   int
	done   chan struct{}
	cancel context.CancelFunc
	rows   []scannedRow
	err    error
}

type streamInfo struct {
	labels logql.Labels
	// names are the label names, which metadata leaves out of the resource attributes.
	names []string
	ok    bool
}

// SelectLogs returns an iterator over the rows of q. Rows carry the stream labels and
// the structured metadata documented on logFields.metadata.
func (c *Client) SelectLogs(ctx context.Context, q LogQuery) *LogIterator {
	page := q.PageSize
	if page <= 0 {
		page = defaultPageSize
	}
	it := &LogIterator{c: c, ctx: ctx, q: q, page: min(page, maxPageSize), streams: map[uint64]streamInfo{}, names: labelNames{},
		remLo: q.Start, remHi: q.End, width: max((q.End-q.Start)/initialWindows, 1)}
	it.done = it.remLo >= it.remHi
	return it
}

// initialWindows is how many windows the first one splits the range into. ClickHouse
// 18.16 reads every column of every row of a window before ORDER BY ... LIMIT, so the
// first window is small: most log queries fill their page from the newest rows.
const initialWindows = 64

// Next advances to the next row.
func (it *LogIterator) Next() bool {
	for {
		if it.i < len(it.buf) {
			it.i++
			return true
		}
		if it.done || it.err != nil {
			return false
		}
		it.fetch()
	}
}

// At returns the current row.
func (it *LogIterator) At() LogRow { return it.buf[it.i-1] }

// Pages is how many SQL pages the iterator has read.
func (it *LogIterator) Pages() int { return it.pages }

// Err reports why iteration stopped early.
func (it *LogIterator) Err() error { return it.err }

// Close releases the iterator, and stops a read ahead that is still running.
func (it *LogIterator) Close() error {
	it.dropAhead()
	return nil
}

func (it *LogIterator) fetch() {
	ctx, err := queryContext(it.ctx, it.q.ExcludeIDs)
	if err != nil {
		it.err = fmt.Errorf("select logs: %w", err)
		return
	}
	if !it.pruneTried {
		it.pruneTried = true
		if _, err := it.c.pruneLines(it.ctx, &it.q.LogFilter); err != nil {
			it.err = fmt.Errorf("select logs: %w", err)
			return
		}
		if it.q.pruned {
			// The ranges are all there is to read: one window.
			it.width = max(it.remHi-it.remLo, 1)
		}
	}
	if !it.hasWin && it.useAhead() {
		return
	}
	if !it.hasWin {
		it.openWindow()
		if it.pages == 0 {
			it.startAhead()
		}
	}
	rows, err := it.c.conn.Query(ctx, it.pageSQL(it.winLo, it.winHi, it.hasCursor, it.page))
	if err != nil && isRegexpError(err) && !it.opts.noRegex {
		it.opts.noRegex = true
		rows, err = it.c.conn.Query(ctx, it.pageSQL(it.winLo, it.winHi, it.hasCursor, it.page))
	}
	if err != nil {
		it.err = fmt.Errorf("select logs: %w", err)
		return
	}
	defer rows.Close()
	it.pages++
	it.buf, it.i = it.buf[:0], 0
	page, err := scanRows(rows)
	if err != nil {
		it.err = fmt.Errorf("select logs: %w", err)
		return
	}
	it.afterPage(page)
}

// afterPage takes one page of the window being read and chooses what to read next.
func (it *LogIterator) afterPage(page []scannedRow) {
	n, err := it.accept(page)
	if err != nil {
		it.err = fmt.Errorf("select logs: %w", err)
		return
	}
	if n < it.page {
		it.closeWindow(n)
	} else {
		it.width = max(it.width/2, 1) // the window held more than a page
		it.dropAhead()                // the first window goes on; the rest may not be needed
	}
	it.page = min(2*it.page, maxPageSize)
}

// startAhead starts reading the rest of the range while the first window is read, for
// queries whose line filters scan the body of every row (not narrowed by the blooms).
// A rare match leaves the first window short, and the next one is then everything
// that remains: read at the same time, it costs no wait (a regexp search over 10M
// lines: 2.6 s -> 2.2 s). 18.16 runs a query on as many threads as it counts physical
// cores, often one on a virtual machine, so the two reads use two cores. When the
// first window fills the page the read ahead is cancelled.
func (it *LogIterator) startAhead() {
	if it.q.pruned || linePrewhere(&it.q.LogFilter, it.opts) == "" {
		return
	}
	lo, hi := it.remLo, it.winLo
	if it.q.Forward {
		lo, hi = it.winHi, it.remHi
	}
	if lo >= hi {
		return
	}
	ctx, cancel := context.WithCancel(it.ctx)
	a := &aheadRead{lo: lo, hi: hi, page: min(2*it.page, maxPageSize), done: make(chan struct{}), cancel: cancel}
	sql := it.pageSQL(lo, hi, false, a.page)
	it.ahead = a
	go func() {
		defer close(a.done)
		qctx, err := queryContext(ctx, it.q.ExcludeIDs)
		if err != nil {
			a.err = err
			return
		}
		rows, err := it.c.conn.Query(qctx, sql)
		if err != nil {
			a.err = err
			return
		}
		defer rows.Close()
		a.rows, a.err = scanRows(rows)
	}()
}

// useAhead makes the read ahead the next window when it covers all that remains, and
// reports whether it did. A read ahead that failed is dropped: the window is read
// again the usual way (which also handles regexps the server refuses).
func (it *LogIterator) useAhead() bool {
	a := it.ahead
	if a == nil {
		return false
	}
	it.ahead = nil
	<-a.done
	a.cancel()
	if a.err != nil || a.lo != it.remLo || a.hi != it.remHi {
		return false
	}
	it.winLo, it.winHi, it.hasWin = a.lo, a.hi, true
	it.width, it.page = a.hi-a.lo, a.page
	it.pages++
	it.aheadUsed++
	it.buf, it.i = it.buf[:0], 0
	it.afterPage(a.rows)
	return true
}

func (it *LogIterator) dropAhead() {
	if it.ahead != nil {
		it.ahead.cancel()
		it.ahead = nil
	}
}

func (it *LogIterator) openWindow() {
	w := min(it.width, it.remHi-it.remLo)
	if it.q.Forward {
		it.winLo, it.winHi = it.remLo, it.remLo+w
	} else {
		it.winLo, it.winHi = it.remHi-w, it.remHi
	}
	it.hasWin = true
}

// closeWindow marks the window read; a window that was mostly empty makes the next
// one larger. ClickHouse 18.16 reads a whole window whatever the LIMIT, so windows
// are what a query pays for: a window that found n < page/2 rows is followed by one
// sized to find the rest at the rate seen (twice that, at least four times the last),
// and an empty one by everything that remains. A rare needle then costs two reads
// instead of a run of growing ones; a common one still stops after the first.
func (it *LogIterator) closeWindow(n int) {
	if it.q.Forward {
		it.remLo = it.winHi
	} else {
		it.remHi = it.winLo
	}
	it.hasWin = false
	rem := it.remHi - it.remLo
	if n < it.page/2 {
		if n == 0 {
			it.width = rem
		} else {
			grow := max(4, 2*float64(it.page-n)/float64(n))
			it.width = int64(min(float64(rem), float64(it.width)*grow))
		}
	}
	it.width = max(it.width, 1)
	it.done = rem <= 0
}

// pageSQL reads a page of the window [lo, hi), after the cursor (the last row read)
// when cursor is set.
func (it *LogIterator) pageSQL(lo, hi int64, cursor bool, page int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(logColumns)
	b.WriteString(" FROM ")
	b.WriteString(it.c.cfg.Database)
	b.WriteString(".logs ")
	f := it.q.LogFilter
	f.Start, f.End = lo, hi
	o := it.opts
	o.db = it.c.cfg.Database
	pre, o := prewhere(&f, o)
	if pre != "" {
		b.WriteString("PREWHERE ")
		b.WriteString(pre)
		b.WriteString(" ")
	}
	b.WriteString("WHERE ")
	b.WriteString(logWhere(&f, o))
	if cursor {
		it.writeCursor(&b)
	}
	if it.q.Forward {
		b.WriteString(" ORDER BY timestamp ASC, id ASC")
	} else {
		b.WriteString(" ORDER BY timestamp DESC, id ASC")
	}
	b.WriteString(" LIMIT ")
	b.WriteString(strconv.Itoa(page))
	return b.String()
}

// writeCursor continues after the last row read. Copies of a record share its id and
// timestamp, so "id greater than the last one" also skips the last row's copies.
func (it *LogIterator) writeCursor(b *strings.Builder) {
	ts, id := strconv.FormatInt(it.curTS, 10), strconv.FormatUint(it.curID, 10)
	cmp := "<"
	if it.q.Forward {
		cmp = ">"
	}
	// The plain bound lets ClickHouse prune with the sort key; the OR does not.
	fmt.Fprintf(b, " AND timestamp %s= %s AND (timestamp %s %s OR id > %s)", cmp, ts, cmp, ts, id)
}

// scannedRow is a row read before its stream's labels are known.
type scannedRow struct {
	id, stream uint64
	body       string
	f          logFields
}

// scanRows reads a page's rows; it touches no iterator state, so a read ahead can run
// it on another goroutine.
func scanRows(rows driver.Rows) ([]scannedRow, error) {
	var page []scannedRow
	for rows.Next() {
		var r scannedRow
		f := &r.f
		var attrs, res string
		if err := rows.Scan(&f.ts, &r.id, &r.stream, &r.body, &f.level, &f.traceID, &f.spanID,
			&f.flags, &f.sevText, &f.sevNum, &f.observed, &attrs, &f.scopeName, &f.scopeVersion, &res); err != nil {
			return nil, err
		}
		var err error
		if f.attrKeys, f.attrValues, err = unpackPairs(attrs); err != nil {
			return nil, err
		}
		if f.resKeys, f.resValues, err = unpackPairs(res); err != nil {
			return nil, err
		}
		page = append(page, r)
	}
	return page, rows.Err()
}

// accept moves the cursor over a page, drops copies and rows of streams the matchers
// reject, and buffers the rest; n is the number of rows the page held.
func (it *LogIterator) accept(scanned []scannedRow) (n int, err error) {
	page := scanned[:0] // kept rows, in place
	var missing []uint64
	seen := map[uint64]bool{}
	for _, r := range scanned {
		f := &r.f
		repeat := it.hasCursor && r.id == it.curID && f.ts == it.curTS
		n++
		it.curTS, it.curID, it.hasCursor = f.ts, r.id, true
		if repeat {
			continue // a copy ReplacingMergeTree has not merged away yet
		}
		if _, ok := it.streams[r.stream]; !ok && !seen[r.stream] {
			seen[r.stream] = true
			missing = append(missing, r.stream)
		}
		page = append(page, r)
	}
	if len(missing) > 0 {
		labels, err := it.c.streamLabels(it.ctx, it.q.Tenant, it.winLo, it.winHi, missing)
		if err != nil {
			return n, err
		}
		if len(it.streams)+len(missing) > maxStreamCache {
			clear(it.streams)
		}
		for _, id := range missing {
			ls := labels[id]
			names := make([]string, len(ls))
			for i, l := range ls {
				names[i] = l.Name
			}
			it.streams[id] = streamInfo{labels: ls, names: names, ok: logql.MatchesLabels(it.q.Matchers, ls)}
		}
	}
	for i := range page {
		r := &page[i]
		si := it.streams[r.stream]
		if !si.ok {
			continue
		}
		r.f.labelKeys = si.names
		it.buf = append(it.buf, LogRow{ID: r.id, Entry: logql.Entry{Timestamp: r.f.ts, Line: r.body, Stream: si.labels, Metadata: r.f.metadata(it.names)}})
	}
	return n, nil
}
