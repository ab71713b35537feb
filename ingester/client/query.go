package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// RecentLog is one log record held by an ingester, with its stream and resource.
type RecentLog struct {
	Stream   *pb.LogStream // labels; Records is empty
	Resource *pb.Resource
	Record   *pb.LogRecord
}

// RecentSpan is one span held by an ingester.
type RecentSpan struct {
	Resource *pb.Resource
	Span     *pb.Span
}

// Recent is what the ingesters hold for a query: records deduplicated by id across
// replicas, and the flush ids of every epoch they hold, which the ClickHouse part of the
// query must exclude.
type Recent struct {
	Logs     []RecentLog
	Spans    []RecentSpan
	FlushIDs []uint64
}

// QueryLogs asks every ingester in addrs for the tenant's records matching req and merges
// the answers. Up to maxErrors ingesters may fail (with quorum writes, RF - quorum): each
// acknowledged record is then still held by one that answered.
func (p *Pool) QueryLogs(ctx context.Context, addrs []string, maxErrors int, tenant string, req *pb.QueryLogsRequest) (*Recent, error) {
	return p.fanOut(ctx, addrs, maxErrors, func(ctx context.Context, cl pb.IngesterClient, m *merger) error {
		stream, err := cl.QueryLogs(WithTenant(ctx, tenant), req)
		if err != nil {
			return err
		}
		return drain(stream.Recv, m.addLogs)
	})
}

// QuerySpans asks every ingester in addrs for the tenant's spans matching req.
func (p *Pool) QuerySpans(ctx context.Context, addrs []string, maxErrors int, tenant string, req *pb.QuerySpansRequest) (*Recent, error) {
	return p.fanOut(ctx, addrs, maxErrors, func(ctx context.Context, cl pb.IngesterClient, m *merger) error {
		stream, err := cl.QuerySpans(WithTenant(ctx, tenant), req)
		if err != nil {
			return err
		}
		return drain(stream.Recv, m.addSpans)
	})
}

// drain hands every message of a server stream to add until the stream ends.
func drain[T any](recv func() (T, error), add func(T)) error {
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		add(msg)
	}
}

func (p *Pool) fanOut(ctx context.Context, addrs []string, maxErrors int, call func(context.Context, pb.IngesterClient, *merger) error) (*Recent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := &merger{seen: map[uint64]bool{}, flush: map[uint64]bool{}}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := p.Get(addr)
			if err == nil {
				// Each ingester merges into its own part so a failed one adds nothing.
				part := &merger{seen: map[uint64]bool{}, flush: map[uint64]bool{}}
				if err = call(ctx, cl, part); err == nil {
					m.absorb(part)
					return
				}
			}
			mu.Lock()
			errs = append(errs, fmt.Errorf("ingester %s: %w", addr, err))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(errs) > maxErrors {
		return nil, fmt.Errorf("%d of %d ingesters failed, at most %d may: %w", len(errs), len(addrs), maxErrors, errors.Join(errs...))
	}
	return m.result(), nil
}

// merger collects answers, keeping the first copy of each record id.
type merger struct {
	mu    sync.Mutex
	seen  map[uint64]bool
	flush map[uint64]bool
	out   Recent
}

func (m *merger) addLogs(resp *pb.QueryLogsResponse) {
	for _, f := range resp.FlushIds {
		m.flush[f] = true
	}
	for _, st := range resp.Streams {
		meta := &pb.LogStream{StreamId: st.StreamId, Labels: st.Labels}
		for _, r := range st.Records {
			if m.seen[r.Id] {
				continue
			}
			m.seen[r.Id] = true
			m.out.Logs = append(m.out.Logs, RecentLog{Stream: meta, Resource: resourceAt(resp.Resources, r.Resource), Record: r})
		}
	}
}

func (m *merger) addSpans(resp *pb.QuerySpansResponse) {
	for _, f := range resp.FlushIds {
		m.flush[f] = true
	}
	for _, tr := range resp.Traces {
		for _, s := range tr.Spans {
			if m.seen[s.Id] {
				continue
			}
			m.seen[s.Id] = true
			m.out.Spans = append(m.out.Spans, RecentSpan{Resource: resourceAt(resp.Resources, s.Resource), Span: s})
		}
	}
}

func (m *merger) absorb(part *merger) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for f := range part.flush {
		m.flush[f] = true
	}
	for _, l := range part.out.Logs {
		if !m.seen[l.Record.Id] {
			m.seen[l.Record.Id] = true
			m.out.Logs = append(m.out.Logs, l)
		}
	}
	for _, s := range part.out.Spans {
		if !m.seen[s.Span.Id] {
			m.seen[s.Span.Id] = true
			m.out.Spans = append(m.out.Spans, s)
		}
	}
}

func (m *merger) result() *Recent {
	for f := range m.flush {
		m.out.FlushIDs = append(m.out.FlushIDs, f)
	}
	return &m.out
}

func resourceAt(rs []*pb.Resource, k uint32) *pb.Resource {
	if int(k) < len(rs) {
		return rs[k]
	}
	return &pb.Resource{ServiceName: "unknown_service"}
}
