package querier

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	dsring "github.com/grafana/dskit/ring"

	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/logql"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// IngesterReader is the Recent of a running cluster: it asks every healthy ingester in
// the ring (ingester.QueryLogs/QuerySpans) and converts what they hold into the rows
// ClickHouse would return. Up to the ring's MaxErrors for reads may fail: with quorum
// writes every acknowledged record is still held by one that answered.
type IngesterReader struct {
	Ring dsring.ReadRing
	Pool *client.Pool
}

func (r *IngesterReader) targets() ([]string, int, error) {
	rs, err := r.Ring.GetReplicationSetForOperation(dsring.Read)
	if errors.Is(err, dsring.ErrEmptyRing) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("ingester ring: %w", err)
	}
	addrs := make([]string, len(rs.Instances))
	for k, in := range rs.Instances {
		addrs[k] = in.Addr
	}
	return addrs, rs.MaxErrors, nil
}

// Logs implements Recent.
func (r *IngesterReader) Logs(ctx context.Context, tenant string, q RecentLogQuery) (RecentLogs, error) {
	addrs, maxErrors, err := r.targets()
	if err != nil || len(addrs) == 0 {
		return RecentLogs{}, err
	}
	req := &pb.QueryLogsRequest{Start: q.Start, End: q.End, Matchers: protoMatchers(q.Matchers), Filters: protoLineFilters(q.LineFilters)}
	got, err := r.Pool.QueryLogs(ctx, addrs, maxErrors, tenant, req)
	if err != nil {
		return RecentLogs{}, err
	}
	rows := make([]clickhouse.LogRow, len(got.Logs))
	for k, l := range got.Logs {
		rows[k] = clickhouse.LogRowFromRecord(l.Stream, l.Resource, l.Record)
	}
	return RecentLogs{Rows: rows, ExcludeFlushIDs: got.FlushIDs}, nil
}

// Spans implements Recent.
func (r *IngesterReader) Spans(ctx context.Context, tenant string, q RecentSpanQuery) (RecentSpans, error) {
	addrs, maxErrors, err := r.targets()
	if err != nil || len(addrs) == 0 {
		return RecentSpans{}, err
	}
	reqs := []*pb.QuerySpansRequest{{Start: q.Start, End: q.End}}
	if len(q.TraceIDs) > 0 {
		reqs = reqs[:0]
		for _, id := range q.TraceIDs {
			b, err := hex.DecodeString(id)
			if err != nil {
				return RecentSpans{}, fmt.Errorf("trace id %q: %w", id, err)
			}
			reqs = append(reqs, &pb.QuerySpansRequest{TraceId: b})
		}
	}
	var out RecentSpans
	flush := map[uint64]bool{}
	for _, req := range reqs {
		got, err := r.Pool.QuerySpans(ctx, addrs, maxErrors, tenant, req)
		if err != nil {
			return RecentSpans{}, err
		}
		for _, s := range got.Spans {
			out.Spans = append(out.Spans, clickhouse.SpanFromProto(s.Resource, s.Span))
		}
		for _, f := range got.FlushIDs {
			if !flush[f] {
				flush[f] = true
				out.ExcludeFlushIDs = append(out.ExcludeFlushIDs, f)
			}
		}
	}
	return out, nil
}

func protoMatchers(ms []*logql.Matcher) []*pb.LabelMatcher {
	out := make([]*pb.LabelMatcher, 0, len(ms))
	for _, m := range ms {
		t := pb.LabelMatcher_TYPE_EQ
		switch m.Type {
		case logql.MatchNotEqual:
			t = pb.LabelMatcher_TYPE_NEQ
		case logql.MatchRegexp:
			t = pb.LabelMatcher_TYPE_RE
		case logql.MatchNotRegexp:
			t = pb.LabelMatcher_TYPE_NRE
		}
		out = append(out, &pb.LabelMatcher{Type: t, Name: m.Name, Value: m.Value})
	}
	return out
}

// protoLineFilters passes the simple line filters to the ingesters so less travels back;
// "or" chains and ip() stay with the querier's pipeline, which applies every filter anyway.
func protoLineFilters(fs []*logql.LineFilterStage) []*pb.LineFilter {
	var out []*pb.LineFilter
	for _, f := range fs {
		if len(f.Values) != 1 || f.Values[0].IP {
			continue
		}
		var t pb.LineFilter_Type
		switch f.Op {
		case logql.LineContains:
			t = pb.LineFilter_TYPE_CONTAINS
		case logql.LineNotContains:
			t = pb.LineFilter_TYPE_NOT_CONTAINS
		case logql.LineMatchRegexp:
			t = pb.LineFilter_TYPE_RE
		case logql.LineNotMatchRegexp:
			t = pb.LineFilter_TYPE_NRE
		default:
			continue
		}
		out = append(out, &pb.LineFilter{Type: t, Value: f.Values[0].Value})
	}
	return out
}
