package ingester

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/dskit/services"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// queryChunk bounds the records of one streamed response message.
const queryChunk = 5000

// QueryLogs streams the tenant's log records held in memory (pending or flushed but not
// yet retired; never released ones, which another replica owns) and, first, the flush
// ids of every epoch held, so the querier can exclude exactly those from ClickHouse.
func (i *Ingester) QueryLogs(req *pb.QueryLogsRequest, srv grpc.ServerStreamingServer[pb.QueryLogsResponse]) error {
	if err := i.queryable(); err != nil {
		return err
	}
	tenant, err := tenantOf(srv)
	if err != nil {
		return err
	}
	m, err := compileLogQuery(req)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	entries, flushIDs := i.snapshotLogs(tenant, req.Start, req.End)
	defer i.doneReading()
	resp := &pb.QueryLogsResponse{FlushIds: flushIDs}
	var b logChunk
	var dec logDecoder
	for k := range entries {
		le := &entries[k]
		if !m.matchesStream(le.meta()) {
			continue
		}
		if len(m.filters) > 0 {
			// Line filters read the body in place; only matches are decoded to keep.
			r, err := dec.decode(le)
			if err != nil {
				return status.Error(codes.Internal, err.Error())
			}
			if !m.matchesLine(r.Body) {
				continue
			}
		}
		rec, err := le.record()
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		b.add(le, rec)
		if b.n >= queryChunk {
			resp.Resources, resp.Streams = b.res.list, b.streams
			if err := srv.Send(resp); err != nil {
				return err
			}
			resp, b = &pb.QueryLogsResponse{}, logChunk{}
		}
	}
	resp.Resources, resp.Streams = b.res.list, b.streams
	return srv.Send(resp)
}

// QuerySpans streams the tenant's spans held in memory, by time range or by trace id.
func (i *Ingester) QuerySpans(req *pb.QuerySpansRequest, srv grpc.ServerStreamingServer[pb.QuerySpansResponse]) error {
	if err := i.queryable(); err != nil {
		return err
	}
	tenant, err := tenantOf(srv)
	if err != nil {
		return err
	}
	entries, flushIDs := i.snapshotSpans(tenant, req)
	defer i.doneReading()
	resp := &pb.QuerySpansResponse{FlushIds: flushIDs}
	var b spanChunk
	for k := range entries {
		span, err := entries[k].decode()
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		b.add(&entries[k], span)
		if b.n >= queryChunk {
			resp.Resources, resp.Traces = b.res.list, b.traces
			if err := srv.Send(resp); err != nil {
				return err
			}
			resp, b = &pb.QuerySpansResponse{}, spanChunk{}
		}
	}
	resp.Resources, resp.Traces = b.res.list, b.traces
	return srv.Send(resp)
}

func tenantOf(srv grpc.ServerStream) (string, error) {
	md, _ := metadata.FromIncomingContext(srv.Context())
	if v := md.Get(client.TenantHeader); len(v) == 1 && v[0] != "" {
		return v[0], nil
	}
	return "", status.Error(codes.InvalidArgument, "query without a tenant")
}

// queryable refuses queries until the WAL is replayed. gRPC is served during start-up
// and a restarted ingester can still look healthy in the ring; answering from a partly
// replayed memory would hand the querier flush ids to exclude from ClickHouse for
// records this ingester does not return yet, a silent gap. Refused, the query counts as
// one unavailable replica. A stopping ingester still holds all it had, and answers.
func (i *Ingester) queryable() error {
	switch i.State() {
	case services.New, services.Starting:
		return status.Error(codes.Unavailable, "ingester is starting: its WAL is not replayed yet")
	}
	return nil
}

// snapshotLogs copies, under the lock, the tenant's live entries in [start, end) and the
// flush ids the querier must exclude from ClickHouse (heldFlushIDs). Entries are small
// and their records immutable, so the matching runs without the lock; the caller calls
// doneReading when it no longer reads them, and until then no retired push is reused.
func (i *Ingester) snapshotLogs(tenant string, start, end int64) ([]heldLog, []uint64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.readers++
	var out []heldLog
	var ids []uint64
	for _, e := range i.epochs {
		held := false
		for k := range e.logs {
			le := &e.logs[k]
			if le.ts < start || le.ts >= end || e.pushes[le.push].tenant != tenant {
				continue
			}
			held = true
			if le.state != stateReleased {
				out = append(out, e.logAt(k))
			}
		}
		ids = heldFlushIDs(ids, e, held)
	}
	return out, ids
}

// doneReading ends the read of a snapshot (snapshotLogs, snapshotSpans): the pushes it
// named may be reused once no query reads any.
func (i *Ingester) doneReading() {
	i.mu.Lock()
	i.readers--
	i.mu.Unlock()
}

// heldFlushIDs adds e's id to ids when e holds records of the query's tenant and
// range (held; released ones too, since this ingester may have stored them before
// another replica did). Storage rows under e's id are copies of e's records, so other
// epochs have none in the query's reach, and excluding them only cost ClickHouse a
// column read per row (flush_id, some 20% of an exact count). Whether a flush of e has
// started does not matter: one may start and land before the querier reads storage.
func heldFlushIDs(ids []uint64, e *epoch, held bool) []uint64 {
	if held {
		ids = append(ids, e.id)
	}
	return ids
}

// snapshotSpans is snapshotLogs for spans, by time range or trace id.
func (i *Ingester) snapshotSpans(tenant string, req *pb.QuerySpansRequest) ([]heldSpan, []uint64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.readers++
	var out []heldSpan
	var ids []uint64
	for _, e := range i.epochs {
		held := false
		for k := range e.spans {
			se := e.spanAt(k)
			if se.tenant() != tenant {
				continue
			}
			if len(req.TraceId) > 0 {
				if !bytes.Equal(se.meta().TraceId, req.TraceId) {
					continue
				}
			} else if se.ts < req.Start || se.ts >= req.End {
				continue
			}
			held = true
			if se.state != stateReleased {
				out = append(out, se)
			}
		}
		ids = heldFlushIDs(ids, e, held)
	}
	return out, ids
}

// logMatcher is a compiled QueryLogsRequest.
type logMatcher struct {
	labels  []labelMatch
	filters []lineMatch
}

type labelMatch struct {
	name   string
	value  string
	re     *regexp.Regexp
	negate bool
}

type lineMatch struct {
	value  string
	re     *regexp.Regexp
	negate bool
}

func compileLogQuery(req *pb.QueryLogsRequest) (*logMatcher, error) {
	m := &logMatcher{}
	for _, lm := range req.Matchers {
		x := labelMatch{name: lm.Name, value: lm.Value}
		switch lm.Type {
		case pb.LabelMatcher_TYPE_NEQ:
			x.negate = true
		case pb.LabelMatcher_TYPE_RE, pb.LabelMatcher_TYPE_NRE:
			re, err := regexp.Compile("^(?:" + lm.Value + ")$")
			if err != nil {
				return nil, fmt.Errorf("matcher %s: %w", lm.Name, err)
			}
			x.re, x.negate = re, lm.Type == pb.LabelMatcher_TYPE_NRE
		}
		m.labels = append(m.labels, x)
	}
	for _, f := range req.Filters {
		x := lineMatch{value: f.Value, negate: f.Type == pb.LineFilter_TYPE_NOT_CONTAINS || f.Type == pb.LineFilter_TYPE_NRE}
		if f.Type == pb.LineFilter_TYPE_RE || f.Type == pb.LineFilter_TYPE_NRE {
			re, err := regexp.Compile(f.Value)
			if err != nil {
				return nil, fmt.Errorf("line filter: %w", err)
			}
			x.re = re
		}
		m.filters = append(m.filters, x)
	}
	return m, nil
}

func (m *logMatcher) matchesStream(s *pb.LogStream) bool {
	for _, lm := range m.labels {
		v := labelValue(s.Labels, lm.name)
		var ok bool
		if lm.re != nil {
			ok = lm.re.MatchString(v)
		} else {
			ok = v == lm.value
		}
		if ok == lm.negate {
			return false
		}
	}
	return true
}

func (m *logMatcher) matchesLine(body string) bool {
	for _, f := range m.filters {
		var ok bool
		if f.re != nil {
			ok = f.re.MatchString(body)
		} else {
			ok = strings.Contains(body, f.value)
		}
		if ok == f.negate {
			return false
		}
	}
	return true
}

func labelValue(ls []*pb.Label, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// resourceTable numbers the resources of one response message.
type resourceTable struct {
	list []*pb.Resource
	idx  map[*pb.Resource]uint32
}

func (t *resourceTable) index(r *pb.Resource) uint32 {
	if t.idx == nil {
		t.idx = map[*pb.Resource]uint32{}
	}
	if k, ok := t.idx[r]; ok {
		return k
	}
	k := uint32(len(t.list))
	t.idx[r] = k
	t.list = append(t.list, r)
	return k
}

// logChunk groups entries of one response by stream and resource.
type logChunk struct {
	n        int
	res      resourceTable
	streams  []*pb.LogStream
	byStream map[*pb.LogStream]*pb.LogStream
}

// add adds le, decoded as rec (which it takes over).
func (c *logChunk) add(le *heldLog, rec *pb.LogRecord) {
	if c.byStream == nil {
		c.byStream = map[*pb.LogStream]*pb.LogStream{}
	}
	meta := le.meta()
	st := c.byStream[meta]
	if st == nil {
		st = &pb.LogStream{StreamId: meta.StreamId, Labels: meta.Labels}
		c.byStream[meta] = st
		c.streams = append(c.streams, st)
	}
	rec.Resource = c.res.index(le.resource())
	st.Records = append(st.Records, rec)
	c.n++
}

// spanChunk groups spans of one response by trace and resource.
type spanChunk struct {
	n       int
	res     resourceTable
	traces  []*pb.Trace
	byTrace map[*pb.Trace]*pb.Trace
}

// add adds se, decoded as span (which it takes over).
func (c *spanChunk) add(se *heldSpan, span *pb.Span) {
	if c.byTrace == nil {
		c.byTrace = map[*pb.Trace]*pb.Trace{}
	}
	meta := se.meta()
	tr := c.byTrace[meta]
	if tr == nil {
		tr = &pb.Trace{TraceId: meta.TraceId}
		c.byTrace[meta] = tr
		c.traces = append(c.traces, tr)
	}
	span.Resource = c.res.index(se.resource())
	tr.Spans = append(tr.Spans, span)
	c.n++
}
