package distributor

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/ring"
)

// TestPushEncoderMatchesBuildRequest: what the encoder joins from once-marshalled
// streams and traces, and what it writes in one pass for a local ingester, decode to the
// request buildRequest makes for every replica, with its ranks, whichever subset of
// streams and traces the replica gets, and when replicas are encoded concurrently as
// DoBatch does.
func TestPushEncoderMatchesBuildRequest(t *testing.T) {
	logs := convertLogs("team-a", testValidator(), generatedLogs(t, 0))
	traces := convertTraces("team-a", testValidator(), testTraces(5))
	// One request with both, as the encoder takes them: streams first, then traces.
	c := &converted{resources: logs.resources, streams: logs.streams}
	for _, t := range traces.traces {
		for _, s := range t.Spans {
			s.Resource += uint32(len(logs.resources))
		}
	}
	c.resources = append(c.resources, traces.resources...)
	c.traces = traces.traces
	if len(c.streams) < 10 || len(c.traces) != 5 {
		t.Fatalf("%d streams and %d traces; the test wants more", len(c.streams), len(c.traces))
	}

	addrs := []string{"10.0.0.1:9095", "10.0.0.2:9095", "10.0.0.3:9095", "10.0.0.4:9095"}
	sets, byAddr := placeRoundRobin(len(c.streams)+len(c.traces), addrs, 3)
	enc, err := newPushEncoder("team-a", c)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for k, addr := range addrs {
		// Requests are built into the buffers of earlier ones: none, one too small to
		// hold it, and ones with room, full of other bytes.
		bufs := [][]byte{nil, bytes.Repeat([]byte{0xff}, 10), bytes.Repeat([]byte{0xff}, 1<<20), make([]byte, 7, 1<<20)}
		wg.Go(func() {
			want := buildRequest("team-a", c, sets, addr, byAddr[addr])
			raw, err := enc.request(bufs[k], sets, addr, byAddr[addr])
			if err != nil {
				t.Error(err)
				return
			}
			direct, err := enc.direct(sets, addr, byAddr[addr])
			if err != nil {
				t.Error(err)
				return
			}
			for name, b := range map[string][]byte{"request": raw, "direct": direct} {
				var got pb.PushRequest
				if err := proto.Unmarshal(b, &got); err != nil {
					t.Errorf("%s: %s: %v", addr, name, err)
				} else if !proto.Equal(&got, want) {
					t.Errorf("%s: the encoder's %s differs from buildRequest's", addr, name)
				}
			}
			if !bytes.Equal(raw, direct) {
				t.Errorf("%s: request and direct wrote different bytes", addr)
			}
		})
	}
	wg.Wait()
}

// placeRoundRobin gives each of n streams and traces rf replicas from addrs in turn,
// and lists each address's share.
func placeRoundRobin(n int, addrs []string, rf int) ([][]string, map[string][]int) {
	sets := make([][]string, n)
	byAddr := map[string][]int{}
	for i := range n {
		for k := range rf {
			a := addrs[(i+k)%len(addrs)]
			sets[i] = append(sets[i], a)
			byAddr[a] = append(byAddr[a], i)
		}
	}
	return sets, byAddr
}

// buildRequest assembles, as objects, the subset of c that one ingester stores, with its
// placement: what the pushEncoder's bytes must decode to.
func buildRequest(tenant string, c *converted, sets [][]string, addr string, idx []int) *pb.PushRequest {
	req := &pb.PushRequest{Tenant: tenant, Resources: c.resources}
	for _, i := range idx {
		pl := &pb.Placement{Rank: uint32(max(ring.Rank(sets[i], addr), 0)), Replicas: sets[i]}
		if i < len(c.streams) {
			s := c.streams[i]
			req.Streams = append(req.Streams, &pb.LogStream{StreamId: s.StreamId, Labels: s.Labels, Records: s.Records, Placement: pl})
			continue
		}
		t := c.traces[i-len(c.streams)]
		req.Traces = append(req.Traces, &pb.Trace{TraceId: t.TraceId, Spans: t.Spans, Placement: pl})
	}
	return req
}

func testTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for k := range n {
		for j := range 3 {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID([16]byte{byte(k + 1), 1})
			sp.SetSpanID([8]byte{byte(k + 1), byte(j + 1)})
			sp.SetName(fmt.Sprintf("op-%d", j))
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			sp.Attributes().PutInt("attempt", int64(j))
		}
	}
	return td
}

// A distributor keeps the buffers of sent requests for the next ones (an unbuffered
// channel would silently keep none).
func TestDistributorKeepsRequestBuffers(t *testing.T) {
	d := New(Config{}, nil, nil, nil, prometheus.NewRegistry(), log.NewNopLogger())
	if got := d.reqBufs.get(); got != nil {
		t.Fatalf("a new distributor has a buffer of %d bytes", cap(got))
	}
	d.reqBufs.put(make([]byte, 5, 100))
	if got := d.reqBufs.get(); len(got) != 0 || cap(got) != 100 {
		t.Fatalf("got back a buffer of len %d cap %d, want the 100-byte one, empty", len(got), cap(got))
	}
}

func TestRequestBuffersDropHugeOnes(t *testing.T) {
	b := make(requestBuffers, 2)
	b.put(make([]byte, 0, maxKeptRequest+1))
	if got := b.get(); got != nil {
		t.Fatalf("kept a buffer of %d bytes, over the %d limit", cap(got), maxKeptRequest)
	}
}

// TestLocatedPushNamesEveryRecord: for an ingester in this process the encoder locates
// the records it writes. The located request is the bytes direct writes; its head
// decodes to the tenant and resources alone; each located record is, in order, the next
// record of the request, with its own id, time and resource, in the stream whose id,
// labels and placement the request gives it, also when it is written into a used
// buffer (an ingester's retired push, full of other bytes). A share with a trace is not
// located.
func TestLocatedPushNamesEveryRecord(t *testing.T) {
	c := convertLogs("team-a", testValidator(), generatedLogs(t, 0))
	addrs := []string{"10.0.0.1:9095", "10.0.0.2:9095", "10.0.0.3:9095"}
	sets, byAddr := placeRoundRobin(len(c.streams), addrs, 2)
	enc, err := newPushEncoder("team-a", c)
	if err != nil {
		t.Fatal(err)
	}
	used := func(size int) []byte { // a retired push's memory, larger than asked
		return bytes.Repeat([]byte{0xa5}, size+100)[:7]
	}
	for k, addr := range addrs {
		buffer := used
		if k == 0 {
			buffer = nil
		}
		lp, ok, err := enc.located(sets, addr, byAddr[addr], buffer)
		if err != nil || !ok {
			t.Fatalf("%s: located: ok %v, %v", addr, ok, err)
		}
		direct, err := enc.direct(sets, addr, byAddr[addr])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(lp.Raw, direct) {
			t.Fatalf("%s: the located request's bytes differ from direct's", addr)
		}
		var head pb.PushRequest
		if err := proto.Unmarshal(lp.Raw[:lp.HeadLen], &head); err != nil {
			t.Fatal(err)
		}
		if head.Tenant != "team-a" || len(head.Streams) != 0 || !proto.Equal(&head, &pb.PushRequest{Tenant: "team-a", Resources: c.resources}) {
			t.Fatalf("%s: the head decodes to %v", addr, &head)
		}
		var want pb.PushRequest
		if err := proto.Unmarshal(lp.Raw, &want); err != nil {
			t.Fatal(err)
		}
		if len(lp.Streams) != len(want.Streams) {
			t.Fatalf("%s: %d streams located, %d in the request", addr, len(lp.Streams), len(want.Streams))
		}
		k := 0
		for s, ws := range want.Streams {
			meta := &pb.LogStream{StreamId: ws.StreamId, Labels: ws.Labels, Placement: ws.Placement}
			if !proto.Equal(lp.Streams[s], meta) {
				t.Fatalf("%s: stream %d located as %v, the request has %v", addr, s, lp.Streams[s], meta)
			}
			for _, wr := range ws.Records {
				if k >= len(lp.Records) {
					t.Fatalf("%s: %d records located, the request has more", addr, k)
				}
				r := lp.Records[k]
				var got pb.LogRecord
				if int(r.Off+r.Len) > len(lp.Raw) {
					t.Fatalf("%s: record %d at %d+%d is past the request's %d bytes", addr, k, r.Off, r.Len, len(lp.Raw))
				}
				if err := proto.Unmarshal(lp.Raw[r.Off:r.Off+r.Len], &got); err != nil {
					t.Fatalf("%s: record %d: %v", addr, k, err)
				}
				if !proto.Equal(&got, wr) || r.Stream != uint32(s) || r.ID != wr.Id || r.Time != wr.Timestamp || r.Resource != wr.Resource {
					t.Fatalf("%s: record %d located as %+v holding %v; the request's is %v in stream %d", addr, k, r, &got, wr, s)
				}
				k++
			}
		}
		if k != len(lp.Records) || k == 0 {
			t.Fatalf("%s: %d records located, %d in the request", addr, len(lp.Records), k)
		}
	}

	traces := convertTraces("team-a", testValidator(), testTraces(2))
	tenc, err := newPushEncoder("team-a", traces)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tenc.located([][]string{{"a"}, {"a"}}, "a", []int{0, 1}, nil); ok || err != nil {
		t.Fatalf("a share of traces: located ok %v, %v; want not located", ok, err)
	}
}
