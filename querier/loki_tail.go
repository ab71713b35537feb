package querier

import (
	"cmp"
	"context"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-kit/log/level"
	"golang.org/x/net/websocket"

	"github.com/strataobs/strata/logql"
)

// Tail timing, as Loki's: batches and pings every second, delay_for up to 5s.
const (
	tailInterval = time.Second
	maxDelayFor  = 5
	// maxTailBatch caps the lines one poll sends; the rest follow on the next polls.
	maxTailBatch = 1000
	// closeInternalError is the websocket close code for a failed query.
	closeInternalError = 1011
)

// tailRequest is a parsed /loki/api/v1/tail request.
type tailRequest struct {
	expr     *logql.LogQueryExpr
	query    string
	limit    int
	start    int64
	delayFor time.Duration
}

func (q *Querier) registerTail() {
	// Browsers cannot set headers on a websocket: the tenant may come as ?tenant=.
	q.engine.GET("/loki/api/v1/tail", q.tenantMiddleware(true), q.handleTail)
}

// handleTail answers parse errors before the upgrade (HTTP 400, plain text, as Loki),
// then polls storage and memory every second for lines newer than the last sent. The
// first batch holds the newest `limit` lines since start.
func (q *Querier) handleTail(c *gin.Context) {
	v, err := form(c)
	if err != nil {
		q.writeError(c, err)
		return
	}
	tr, err := q.parseTail(v)
	if err != nil {
		q.writeError(c, err)
		return
	}
	tenant := tenantOf(c)
	ws := websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil }, // any Origin, as Loki
		Handler:   func(conn *websocket.Conn) { q.tail(c.Request.Context(), conn, tenant, tr) },
	}
	ws.ServeHTTP(c.Writer, c.Request)
}

func (q *Querier) parseTail(v url.Values) (tailRequest, error) {
	tr := tailRequest{query: v.Get("query")}
	e, err := logql.Parse(tr.query)
	if err != nil {
		return tr, err
	}
	var ok bool
	if tr.expr, ok = e.(*logql.LogQueryExpr); !ok {
		return tr, badRequest("tail needs a log query, not a metric query")
	}
	if tr.limit, err = parseLimit(v, "limit", 100); err != nil {
		return tr, err
	}
	if tr.start, err = parseTimestamp("start", v.Get("start"), q.now().Add(-time.Hour).UnixNano()); err != nil {
		return tr, err
	}
	if s := v.Get("delay_for"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d < 0 || d > maxDelayFor {
			return tr, badRequest("delay_for %q: must be an integer from 0 to %d (seconds)", s, maxDelayFor)
		}
		tr.delayFor = time.Duration(d) * time.Second
	}
	return tr, nil
}

// tailer is one tail connection.
type tailer struct {
	q      *Querier
	conn   *websocket.Conn
	tenant string
	tr     tailRequest
	// last is the newest timestamp sent; sentAtLast the lines sent with it, so a poll
	// that starts at last does not repeat them.
	last       int64
	sentAtLast map[string]bool
}

func (q *Querier) tail(ctx context.Context, conn *websocket.Conn, tenant string, tr tailRequest) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the client's close (or a broken connection) ends the tail
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				cancel()
				return
			}
		}
	}()
	t := &tailer{q: q, conn: conn, tenant: tenant, tr: tr, last: tr.start - 1, sentAtLast: map[string]bool{}}
	ticker := time.NewTicker(tailInterval)
	defer ticker.Stop()
	for first := true; ; first = false {
		if err := t.poll(ctx, first); err != nil {
			if ctx.Err() == nil {
				level.Warn(q.logger).Log("msg", "tail query failed", "err", err)
				writeClose(conn, closeInternalError, err.Error())
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := ping(conn); err != nil {
			return
		}
	}
}

// poll sends the lines that arrived since the last poll: the newest limit lines on the
// first poll, then up to maxTailBatch oldest-first.
func (t *tailer) poll(ctx context.Context, first bool) error {
	qctx, cancel := context.WithTimeout(ctx, max(t.q.cfg.QueryTimeout, tailInterval))
	defer cancel()
	end := t.q.now().Add(-t.tr.delayFor).UnixNano()
	if end <= t.last {
		return nil
	}
	lq := lokiQuery{query: t.tr.query, start: max(t.last, t.tr.start), end: end, limit: maxTailBatch, forward: true, step: time.Second}
	if first {
		lq.limit, lq.forward = t.tr.limit, false
	}
	v, _, err := t.q.runLogs(qctx, t.tenant, t.tr.expr, lq)
	if err != nil {
		return err
	}
	streams := t.fresh(v.(logql.Streams))
	if len(streams) == 0 {
		return nil
	}
	_, err = t.conn.Write(encodeTail(streams))
	return err
}

// fresh drops lines already sent, puts each stream oldest first and moves last on.
func (t *tailer) fresh(in logql.Streams) logql.Streams {
	out := logql.Streams{}
	newest := t.last
	for _, s := range in {
		var entries []logql.StreamEntry
		for _, e := range s.Entries {
			key := s.Labels.String() + "\xff" + e.Line
			if e.Timestamp < t.last || (e.Timestamp == t.last && t.sentAtLast[key]) {
				continue
			}
			entries = append(entries, e)
			newest = max(newest, e.Timestamp)
		}
		slices.SortStableFunc(entries, func(a, b logql.StreamEntry) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		if len(entries) > 0 {
			out = append(out, logql.Stream{Labels: s.Labels, Entries: entries})
		}
	}
	if newest != t.last {
		t.last, t.sentAtLast = newest, map[string]bool{}
	}
	for _, s := range out {
		for _, e := range s.Entries {
			if e.Timestamp == t.last {
				t.sentAtLast[s.Labels.String()+"\xff"+e.Line] = true
			}
		}
	}
	return out
}

// encodeTail writes Loki's tail message: {"streams":[{"stream":{...},"values":[...]}]}.
func encodeTail(streams logql.Streams) []byte {
	w := &jsonw{}
	w.raw(`{"streams":`)
	encodeStreams(w, streams, false)
	w.byte('}')
	return w.b
}

func ping(conn *websocket.Conn) error {
	return writeFrame(conn, websocket.PingFrame, nil)
}

// writeClose sends a close frame with a status code and reason (x/net/websocket's
// Close always says 1000).
func writeClose(conn *websocket.Conn, code int, reason string) {
	payload := binary.BigEndian.AppendUint16(nil, uint16(code))
	payload = append(payload, reason[:min(len(reason), 120)]...)
	_ = writeFrame(conn, websocket.CloseFrame, payload) // the connection closes next anyway
}

// writeFrame writes one frame of a type. Frames are written from the tail goroutine
// only, so switching PayloadType does not race with another write.
func writeFrame(conn *websocket.Conn, typ byte, payload []byte) error {
	conn.PayloadType = typ
	defer func() { conn.PayloadType = websocket.TextFrame }()
	_, err := conn.Write(payload)
	return err
}
