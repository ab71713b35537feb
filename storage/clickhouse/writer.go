package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// LogBatch collects log rows column by column, in the layout the native protocol sends
// (columns.go). Reset keeps its memory for the next flush.
type LogBatch struct {
	tenant                          strColumn
	day                             proto.ColDate
	retention                       []uint16
	ts, observed                    []int64
	id, flushID, streamID           []uint64
	service                         strColumn
	labelKeys, labelValues          wireStrArrays
	sevNum                          []uint8
	sevText, level, body            strColumn
	traceID, spanID                 strColumn
	flags                           []uint32
	attrs                           wireAttrs
	res                             resourceAttrs
	scopeName, scopeVersion, evName strColumn
	// A stream's labels are encoded once per batch (wirearrays.go), keyed by the pushed
	// *pb.LogStream its records share.
	labelRuns sharedRuns[pb.LogStream, labelRuns]
	streams   streamRows
	// blocks and bloomed feed log_blooms (logbloom.go); bloomCols caches its rows.
	blocks    lineBlocks
	bloomed   []uint8
	bloomCols []any
	// indexed: the batch's index rows (new streams, line blooms) are stored (PrepareLogs).
	indexed bool
}

// Len is the number of rows in the batch.
func (b *LogBatch) Len() int { return len(b.id) }

// Renumber adds d to every row's record id. A load generator that inserts one batch
// again and again uses it so that ClickHouse stores distinct records each time, as
// ingesters send it, instead of repeats that ReplacingMergeTree merges away.
func (b *LogBatch) Renumber(d uint64) {
	for i := range b.id {
		b.id[i] += d
	}
}

// Grow reserves room for n more rows, so a flush allocates each column once.
func (b *LogBatch) Grow(n int) {
	for _, c := range b.strColumns() {
		c.grow(n)
	}
	b.day = slices.Grow(b.day, n)
	b.retention = slices.Grow(b.retention, n)
	b.ts, b.observed = slices.Grow(b.ts, n), slices.Grow(b.observed, n)
	b.id, b.flushID, b.streamID = slices.Grow(b.id, n), slices.Grow(b.flushID, n), slices.Grow(b.streamID, n)
	b.labelKeys.grow(n)
	b.labelValues.grow(n)
	b.sevNum = slices.Grow(b.sevNum, n)
	b.flags = slices.Grow(b.flags, n)
	b.attrs.grow(n)
	b.res.grow(n)
	b.bloomed = slices.Grow(b.bloomed, n)
}

func (b *LogBatch) strColumns() []*strColumn {
	return []*strColumn{&b.tenant, &b.service, &b.sevText, &b.level, &b.body, &b.traceID, &b.spanID, &b.scopeName, &b.scopeVersion, &b.evName}
}

// Reset empties the batch and keeps its columns' memory: a flush reusing a batch
// neither allocates nor faults in fresh pages for it.
func (b *LogBatch) Reset() {
	for _, c := range b.strColumns() {
		c.reset()
	}
	b.day, b.retention = b.day[:0], b.retention[:0]
	b.ts, b.observed = b.ts[:0], b.observed[:0]
	b.id, b.flushID, b.streamID = b.id[:0], b.flushID[:0], b.streamID[:0]
	b.labelKeys.reset()
	b.labelValues.reset()
	b.sevNum, b.flags, b.bloomed = b.sevNum[:0], b.flags[:0], b.bloomed[:0]
	b.attrs.reset()
	b.res.reset()
	b.labelRuns.reset()
	b.streams = streamRows{}
	b.blocks.reset()
	b.bloomCols = nil
	b.indexed = false
}

// Add appends one record. Rows need not come stream by stream: a flush adds them in the
// logs table's sort order, where a service's streams interleave.
func (b *LogBatch) Add(tenant string, retentionDays uint16, flushID uint64, s *pb.LogStream, res *pb.Resource, r *pb.LogRecord) {
	b.addPlace(tenant, retentionDays, flushID, s, res, r.Id, r.Timestamp, r.ObservedTimestamp)
	b.sevNum = append(b.sevNum, uint8(r.SeverityNumber))
	b.sevText.add(r.SeverityText)
	b.level.add(r.Level)
	b.body.add(r.Body)
	b.traceID.addHex(r.TraceId)
	b.spanID.addHex(r.SpanId)
	b.flags = append(b.flags, r.Flags)
	b.attrs.addRow(b.attrs.encode(r.Attributes))
	b.res.add(res)
	b.scopeName.add(r.ScopeName)
	b.scopeVersion.add(r.ScopeVersion)
	b.evName.add(r.EventName)
}

// addPlace appends a row's place (tenant, day, stream, times, ids, service, labels) and
// keeps the batch's streams and line blocks: what Add and AddEncoded share.
func (b *LogBatch) addPlace(tenant string, retentionDays uint16, flushID uint64, s *pb.LogStream, res *pb.Resource, id uint64, ts, observed int64) {
	day := dayOf(ts)
	sk := streamKey{tenant: tenant, day: day, retention: retentionDays, id: s.StreamId}
	b.streams.add(sk, res.GetServiceName(), s)
	b.blocks.add(blockKey{stream: sk, flushID: flushID}, res.GetServiceName(), int32(len(b.id)), ts)
	b.bloomCols, b.indexed = nil, false
	b.bloomed = append(b.bloomed, 1)
	b.tenant.add(tenant)
	b.day = append(b.day, proto.ToDate(day))
	b.retention = append(b.retention, retentionDays)
	b.ts = append(b.ts, ts)
	b.observed = append(b.observed, observed)
	b.id = append(b.id, id)
	b.flushID = append(b.flushID, flushID)
	b.streamID = append(b.streamID, s.StreamId)
	b.service.add(res.GetServiceName())
	b.addLabels(s)
}

// labelRuns is a stream's encoded labels.
type labelRuns struct {
	keys, values wireRun
	n            int
}

func (b *LogBatch) addLabels(s *pb.LogStream) {
	r, ok := b.labelRuns.get(s)
	if !ok {
		k, v := b.labelKeys.from(), b.labelValues.from()
		for _, l := range s.Labels {
			b.labelKeys.put(l.Name)
			b.labelValues.put(l.Value)
		}
		r = labelRuns{keys: b.labelKeys.run(k), values: b.labelValues.run(v), n: len(s.Labels)}
		b.labelRuns.put(s, r)
	}
	b.labelKeys.addRow(r.keys, r.n)
	b.labelValues.addRow(r.values, r.n)
}

func (b *LogBatch) columns() []any {
	return []any{
		&b.tenant, b.day, b.retention, b.ts, b.observed, b.id, b.flushID, b.streamID, &b.service,
		&b.labelKeys, &b.labelValues, b.sevNum, &b.sevText, &b.level, &b.body, &b.traceID, &b.spanID, b.flags,
		&b.attrs.keys, &b.attrs.values, &b.attrs.types, &b.res.keys, &b.res.values, &b.res.types,
		&b.scopeName, &b.scopeVersion, &b.evName, b.bloomed,
	}
}

// SpanBatch collects span rows column by column.
type SpanBatch struct {
	tenant                                []string
	day                                   []time.Time
	retention                             []uint16
	traceID, spanID, parentID, traceState []string
	id, flushID                           []uint64
	service, name                         []string
	kind                                  []int8
	start, end, duration                  []int64
	statusCode                            []int8
	statusMsg                             []string
	attrs                                 wireAttrs
	res                                   resourceAttrs
	evTimes                               [][]int64
	evNames, evAttrs                      [][]string
	lnTrace, lnSpan, lnState, lnAttrs     [][]string
	scopeName, scopeVersion               []string
	flags                                 []uint32

	index map[indexKey]*indexRow
}

type indexKey struct {
	tenant  string
	traceID string
}

type indexRow struct {
	retention  uint16
	start, end int64
	spans      uint32
}

// Len is the number of rows in the batch.
func (b *SpanBatch) Len() int { return len(b.id) }

// Grow reserves room for n more spans.
func (b *SpanBatch) Grow(n int) {
	if n == 0 {
		return
	}
	b.tenant, b.day, b.retention = slices.Grow(b.tenant, n), slices.Grow(b.day, n), slices.Grow(b.retention, n)
	b.traceID, b.spanID, b.parentID, b.traceState = slices.Grow(b.traceID, n), slices.Grow(b.spanID, n), slices.Grow(b.parentID, n), slices.Grow(b.traceState, n)
	b.id, b.flushID = slices.Grow(b.id, n), slices.Grow(b.flushID, n)
	b.service, b.name, b.kind = slices.Grow(b.service, n), slices.Grow(b.name, n), slices.Grow(b.kind, n)
	b.start, b.end, b.duration = slices.Grow(b.start, n), slices.Grow(b.end, n), slices.Grow(b.duration, n)
	b.statusCode, b.statusMsg = slices.Grow(b.statusCode, n), slices.Grow(b.statusMsg, n)
	b.attrs.grow(n)
	b.res.grow(n)
}

// Reset empties the batch and keeps its columns' memory for the next flush.
func (b *SpanBatch) Reset() {
	b.tenant, b.day, b.retention = truncate(b.tenant), b.day[:0], b.retention[:0]
	b.traceID, b.spanID, b.parentID, b.traceState = truncate(b.traceID), truncate(b.spanID), truncate(b.parentID), truncate(b.traceState)
	b.id, b.flushID = b.id[:0], b.flushID[:0]
	b.service, b.name, b.kind = truncate(b.service), truncate(b.name), b.kind[:0]
	b.start, b.end, b.duration = b.start[:0], b.end[:0], b.duration[:0]
	b.statusCode, b.statusMsg = b.statusCode[:0], truncate(b.statusMsg)
	b.attrs.reset()
	b.res.reset()
	b.evTimes, b.evNames, b.evAttrs = truncate(b.evTimes), truncate(b.evNames), truncate(b.evAttrs)
	b.lnTrace, b.lnSpan, b.lnState, b.lnAttrs = truncate(b.lnTrace), truncate(b.lnSpan), truncate(b.lnState), truncate(b.lnAttrs)
	b.scopeName, b.scopeVersion, b.flags = truncate(b.scopeName), truncate(b.scopeVersion), b.flags[:0]
	clear(b.index)
}

// truncate empties s, clearing what it held first: a batch's strings point into the
// records of the flush that filled it, which must not stay alive for the next one.
func truncate[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// Add appends one span.
func (b *SpanBatch) Add(tenant string, retentionDays uint16, flushID uint64, res *pb.Resource, s *pb.Span) {
	tid := hexID(s.TraceId)
	b.tenant = append(b.tenant, tenant)
	b.day = append(b.day, dayOf(s.Start))
	b.retention = append(b.retention, retentionDays)
	b.traceID = append(b.traceID, tid)
	b.spanID = append(b.spanID, hexID(s.SpanId))
	b.parentID = append(b.parentID, hexID(s.ParentSpanId))
	b.traceState = append(b.traceState, s.TraceState)
	b.id = append(b.id, s.Id)
	b.flushID = append(b.flushID, flushID)
	b.service = append(b.service, res.GetServiceName())
	b.name = append(b.name, s.Name)
	b.kind = append(b.kind, int8(s.Kind))
	b.start = append(b.start, s.Start)
	b.end = append(b.end, s.End)
	b.duration = append(b.duration, s.End-s.Start)
	b.statusCode = append(b.statusCode, int8(s.StatusCode))
	b.statusMsg = append(b.statusMsg, s.StatusMessage)
	b.attrs.addRow(b.attrs.encode(s.Attributes))
	b.res.add(res)
	b.addEvents(s.Events)
	b.addLinks(s.Links)
	b.scopeName = append(b.scopeName, s.ScopeName)
	b.scopeVersion = append(b.scopeVersion, s.ScopeVersion)
	b.flags = append(b.flags, s.Flags)
	b.indexSpan(tenant, retentionDays, tid, s)
}

func (b *SpanBatch) addEvents(evs []*pb.Event) {
	t := make([]int64, len(evs))
	n := make([]string, len(evs))
	a := make([]string, len(evs))
	for i, e := range evs {
		t[i], n[i], a[i] = e.Timestamp, e.Name, AttrsJSON(e.Attributes)
	}
	b.evTimes = append(b.evTimes, t)
	b.evNames = append(b.evNames, n)
	b.evAttrs = append(b.evAttrs, a)
}

func (b *SpanBatch) addLinks(links []*pb.Link) {
	tr := make([]string, len(links))
	sp := make([]string, len(links))
	st := make([]string, len(links))
	at := make([]string, len(links))
	for i, l := range links {
		tr[i], sp[i], st[i], at[i] = hexID(l.TraceId), hexID(l.SpanId), l.TraceState, AttrsJSON(l.Attributes)
	}
	b.lnTrace = append(b.lnTrace, tr)
	b.lnSpan = append(b.lnSpan, sp)
	b.lnState = append(b.lnState, st)
	b.lnAttrs = append(b.lnAttrs, at)
}

func (b *SpanBatch) indexSpan(tenant string, retention uint16, tid string, s *pb.Span) {
	if b.index == nil {
		b.index = map[indexKey]*indexRow{}
	}
	k := indexKey{tenant, tid}
	row := b.index[k]
	if row == nil {
		row = &indexRow{retention: retention, start: s.Start, end: s.End}
		b.index[k] = row
	}
	row.start = min(row.start, s.Start)
	row.end = max(row.end, s.End)
	row.spans++
}

func (b *SpanBatch) columns() []any {
	return []any{
		b.tenant, b.day, b.retention, b.traceID, b.spanID, b.parentID, b.traceState, b.id, b.flushID,
		b.service, b.name, b.kind, b.start, b.end, b.duration, b.statusCode, b.statusMsg,
		&b.attrs.keys, &b.attrs.values, &b.attrs.types, &b.res.keys, &b.res.values, &b.res.types,
		b.evTimes, b.evNames, b.evAttrs, b.lnTrace, b.lnSpan, b.lnState, b.lnAttrs,
		b.scopeName, b.scopeVersion, b.flags,
	}
}

func (b *SpanBatch) indexColumns() []any {
	n := len(b.index)
	tenant, tid := make([]string, 0, n), make([]string, 0, n)
	day, ret := make([]time.Time, 0, n), make([]uint16, 0, n)
	start, end, spans, flush := make([]int64, 0, n), make([]int64, 0, n), make([]uint32, 0, n), make([]uint64, 0, n)
	var fid uint64
	if len(b.flushID) > 0 {
		fid = b.flushID[0]
	}
	for k, r := range b.index {
		tenant, tid = append(tenant, k.tenant), append(tid, k.traceID)
		day, ret = append(day, dayOf(r.start)), append(ret, r.retention)
		start, end, spans, flush = append(start, r.start), append(end, r.end), append(spans, r.spans), append(flush, fid)
	}
	return []any{tenant, day, ret, tid, start, end, spans, flush}
}

// streamKey is one row of log_streams: a stream on a day.
type streamKey struct {
	tenant    string
	day       time.Time
	retention uint16
	id        uint64
}

// streamRows are the distinct streams of a batch, in log_streams column order.
type streamRows struct {
	last    streamKey
	seen    map[streamKey]struct{}
	keys    []streamKey
	service []string
	lk, lv  [][]string
}

func (r *streamRows) add(k streamKey, service string, s *pb.LogStream) {
	if k == r.last && len(r.keys) > 0 {
		return
	}
	r.last = k
	if _, ok := r.seen[k]; ok {
		return
	}
	if r.seen == nil {
		r.seen = map[streamKey]struct{}{}
	}
	r.seen[k] = struct{}{}
	lk, lv := make([]string, len(s.Labels)), make([]string, len(s.Labels))
	for i, l := range s.Labels {
		lk[i], lv[i] = l.Name, l.Value
	}
	r.keys = append(r.keys, k)
	r.service = append(r.service, service)
	r.lk, r.lv = append(r.lk, lk), append(r.lv, lv)
}

// knownStreams remembers the log_streams rows this client has stored, so a flush
// writes only the streams that are new to it (a stream's first rows of the day).
type knownStreams struct {
	mu   sync.Mutex
	rows map[streamKey]struct{}
}

// maxKnownStreams bounds the memory of knownStreams; past it the set starts over and
// streams are written again, which ReplacingMergeTree folds away.
const maxKnownStreams = 1 << 20

// unknown returns the indexes of r's streams not stored yet.
func (k *knownStreams) unknown(r *streamRows) []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []int
	for i, key := range r.keys {
		if _, ok := k.rows[key]; !ok {
			out = append(out, i)
		}
	}
	return out
}

func (k *knownStreams) remember(r *streamRows, idx []int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rows == nil || len(k.rows)+len(idx) > maxKnownStreams {
		k.rows = make(map[streamKey]struct{}, len(idx))
	}
	for _, i := range idx {
		k.rows[r.keys[i]] = struct{}{}
	}
}

// PrepareLogs stores the batch's index rows ahead of WriteLogs, so that a caller can do
// it while another batch is written: they go first (see WriteLogs), and as round trips of
// their own between a flush's INSERTs of log rows they took a tenth of ClickHouse's
// INSERT time (35 of 444 ms for 100,000 records). They go over the query connections,
// which keep no send buffer. Index rows whose log rows then fail to land are what a
// failed flush left before: a line filter reads no rows for them, and the retry stores
// them again (a count sees the two blocks overlap and counts distinct ids there).
func (c *Client) PrepareLogs(ctx context.Context, b *LogBatch) error {
	if err := c.writeLogIndex(ctx, c.conn, b); err != nil {
		return err
	}
	b.indexed = true
	return nil
}

// writeLogIndex inserts the batch's new streams into log_streams and, when stored, its
// line blooms into log_blooms.
func (c *Client) writeLogIndex(ctx context.Context, conn driver.Conn, b *LogBatch) error {
	if b.Len() == 0 {
		return nil
	}
	if idx := c.known.unknown(&b.streams); len(idx) > 0 {
		n := len(idx)
		tenant, day, ret, id := make([]string, 0, n), make([]time.Time, 0, n), make([]uint16, 0, n), make([]uint64, 0, n)
		service, lk, lv := make([]string, 0, n), make([][]string, 0, n), make([][]string, 0, n)
		for _, i := range idx {
			k := b.streams.keys[i]
			tenant, day, ret, id = append(tenant, k.tenant), append(day, k.day), append(ret, k.retention), append(id, k.id)
			service, lk, lv = append(service, b.streams.service[i]), append(lk, b.streams.lk[i]), append(lv, b.streams.lv[i])
		}
		if err := c.insert(ctx, conn, "log_streams", logStreamsColumns, []any{tenant, day, ret, id, service, lk, lv}); err != nil {
			return err
		}
		c.known.remember(&b.streams, idx)
	}
	if c.cfg.LineBlooms {
		return c.insert(ctx, conn, "log_blooms", logBloomsColumns, b.bloomColumns())
	}
	return nil
}

// WriteLogs inserts the batch's index rows, unless PrepareLogs did, then its rows in one
// INSERT. The index goes first: stream matchers are answered from log_streams and line
// filters skip blocks by their blooms, so a log row must never be stored before either.
func (c *Client) WriteLogs(ctx context.Context, b *LogBatch) error {
	if b.Len() == 0 {
		return nil
	}
	if !b.indexed {
		if err := c.writeLogIndex(ctx, c.ins, b); err != nil {
			return err
		}
	}
	cols := b.columns()
	if !c.cfg.LineBlooms {
		cols[len(cols)-1] = make([]uint8, b.Len()) // bloomed = 0: line filters read these rows
	}
	return c.insert(ctx, c.ins, "logs", logsInsertColumns, cols)
}

// WriteSpans inserts the spans and their trace-index rows. The index is written after
// the spans so a trace found through the index always has its spans stored.
func (c *Client) WriteSpans(ctx context.Context, b *SpanBatch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := c.insert(ctx, c.ins, "spans", spansColumns, b.columns()); err != nil {
		return err
	}
	return c.insert(ctx, c.ins, "trace_index", traceIndexColumns, b.indexColumns())
}

func (c *Client) insert(ctx context.Context, conn driver.Conn, table string, defs []string, cols []any) error {
	if c.cfg.Cluster != "" {
		// A Distributed table queues an insert for the other shards and sends it in the
		// background unless told otherwise; a flush is acknowledged as stored, so it waits
		// until every shard has its rows. The setting is an integer so that it also
		// encodes for servers before settings were sent as strings (18.16).
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
	}
	q := fmt.Sprintf("INSERT INTO %s.%s (%s)", c.cfg.Database, table, strings.Join(columnNames(defs), ", "))
	batch, err := conn.PrepareBatch(ctx, q)
	if err != nil {
		return fmt.Errorf("insert into %s: prepare: %w", table, err)
	}
	chCols := batchColumns(batch) // nil: every column takes clickhouse-go's appends
	for i, col := range cols {
		if chCols != nil && appendColumn(&chCols[i], col) {
			continue
		}
		col = plainColumn(col)
		var err error
		// Array columns go row by row: clickhouse-go appends a []T row without reflection,
		// while a whole [][]T column goes through reflect for every element.
		switch v := col.(type) {
		case [][]string:
			err = appendRows(batch.Column(i), v)
		case [][]uint8:
			err = appendRows(batch.Column(i), v)
		case [][]int64:
			err = appendRows(batch.Column(i), v)
		default:
			err = batch.Column(i).Append(col)
		}
		if err != nil {
			batch.Abort()
			return fmt.Errorf("insert into %s: column %s: %w", table, columnNames(defs)[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

func appendRows[T any](col driver.BatchColumn, rows []T) error {
	for _, r := range rows {
		if err := col.AppendRow(r); err != nil {
			return err
		}
	}
	return nil
}

func splitAttrs(attrs []*pb.Attr) ([]string, []string, []uint8) {
	k := make([]string, len(attrs))
	v := make([]string, len(attrs))
	t := make([]uint8, len(attrs))
	for i, a := range attrs {
		k[i], v[i], t[i] = a.Key, a.Value, uint8(a.Type)
	}
	return k, v, t
}

func dayOf(unixNano int64) time.Time {
	const day = int64(24 * time.Hour)
	d := unixNano / day
	if unixNano < 0 && unixNano%day != 0 {
		d--
	}
	return time.Unix(d*86400, 0).UTC()
}

func hexID(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}

// StoredIDs returns the ids of log records and spans stored under a flush id; an ingester
// restarting after a crash mid-flush uses it to avoid inserting them again.
func (c *Client) StoredIDs(ctx context.Context, flushID uint64) (map[uint64]bool, error) {
	q := fmt.Sprintf("SELECT id FROM %[1]s.logs WHERE flush_id = ? UNION ALL SELECT id FROM %[1]s.spans WHERE flush_id = ?", c.cfg.Database)
	rows, err := c.conn.Query(ctx, q, flushID, flushID)
	if err != nil {
		return nil, fmt.Errorf("stored ids of flush %d: %w", flushID, err)
	}
	defer rows.Close()
	out := map[uint64]bool{}
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("stored ids of flush %d: %w", flushID, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// StoredAmong returns which of ids are stored as log records or spans with a time in
// [minTS, maxTS] under a flush id other than exceptFlushID; a fallback flush uses it to
// skip what another replica stored (rows under its own flush id, from an attempt that
// failed late, are no one else's copy). The day bounds prune partitions; ids go in
// chunks to stay under the server's max_query_size.
func (c *Client) StoredAmong(ctx context.Context, ids []uint64, minTS, maxTS int64, exceptFlushID uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	d0, d1 := dayOf(minTS).Format("2006-01-02"), dayOf(maxTS).Format("2006-01-02")
	const chunk = 5000
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		// The ids are numbers we format ourselves; no user text reaches this SQL.
		set := idList(part)
		q := fmt.Sprintf(`SELECT id FROM %[1]s.logs WHERE day BETWEEN ? AND ? AND timestamp BETWEEN ? AND ? AND id IN (%[2]s) AND flush_id != ?
		UNION ALL SELECT id FROM %[1]s.spans WHERE day BETWEEN ? AND ? AND start_ns BETWEEN ? AND ? AND id IN (%[2]s) AND flush_id != ?`, c.cfg.Database, set)
		if err := c.collectIDs(ctx, out, q, d0, d1, minTS, maxTS, exceptFlushID, d0, d1, minTS, maxTS, exceptFlushID); err != nil {
			return nil, fmt.Errorf("look up stored ids: %w", err)
		}
	}
	return out, nil
}

func (c *Client) collectIDs(ctx context.Context, into map[uint64]bool, q string, args ...any) error {
	rows, err := c.conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		into[id] = true
	}
	return rows.Err()
}

func idList(ids []uint64) string {
	b := make([]byte, 0, 20*len(ids))
	for k, id := range ids {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(b)
}
