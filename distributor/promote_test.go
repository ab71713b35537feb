package distributor

import (
	"context"
	"maps"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/flagext"
	dsring "github.com/grafana/dskit/ring"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// Only records the failed ingester owns (rank 0) are promoted, to each other replica.
func TestPromotions(t *testing.T) {
	c := &converted{
		streams: []*pb.LogStream{
			{Records: []*pb.LogRecord{{Id: 1}, {Id: 2}}}, // owned by a
			{Records: []*pb.LogRecord{{Id: 3}}},          // a is rank 1: not promoted
		},
		traces: []*pb.Trace{{Spans: []*pb.Span{{Id: 10}, {Id: 11}}}}, // owned by a
	}
	sets := [][]string{{"a", "b", "c"}, {"b", "a", "c"}, {"a", "c", "b"}}
	got := promotions(c, sets, "a", []int{0, 1, 2})
	want := map[string][]uint64{"b": {1, 2, 10, 11}, "c": {1, 2, 10, 11}}
	if !maps.EqualFunc(got, want, func(x, y []uint64) bool { return reflect.DeepEqual(x, y) }) {
		t.Fatalf("promotions = %v, want %v", got, want)
	}
	if got := promotions(c, sets, "b", []int{1}); len(got) != 2 || len(got["a"]) != 1 || got["a"][0] != 3 {
		t.Fatalf("owner b of stream 1: %v", got)
	}
}

// promoteRecorder is an ingester's gRPC service that only records promotions.
type promoteRecorder struct {
	pb.UnimplementedIngesterServer
	ids chan []uint64
}

func (p *promoteRecorder) Promote(_ context.Context, req *pb.PromoteRequest) (*pb.PromoteResponse, error) {
	p.ids <- req.Ids
	return &pb.PromoteResponse{}, nil
}

// TestPromotesOnlyAcknowledgedPushes: when the owner refuses a push, the other replicas
// are told to flush its records themselves only if the push still reached quorum. A
// failed push is retried by its client, and its owner may take it then.
func TestPromotesOnlyAcknowledgedPushes(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	pool := client.NewPool(16 << 20)
	var r quorumRing
	ingesters := make([]*fullIngester, 3)
	recorders := make([]*promoteRecorder, 3)
	for k := range ingesters {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		recorders[k] = &promoteRecorder{ids: make(chan []uint64, 16)}
		pb.RegisterIngesterServer(srv, recorders[k])
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
		ingesters[k] = &fullIngester{}
		addr := lis.Addr().String()
		pool.SetLocal(addr, ingesters[k]) // pushes are handed over; promotions go over gRPC
		r = append(r, dsring.InstanceDesc{Addr: addr, State: dsring.ACTIVE, Timestamp: time.Now().Unix()})
	}
	d := New(Config{MaxRecvMsgSize: 16 << 20, DefaultTenant: "anonymous", RemoteTimeout: 10 * time.Second},
		r, pool, limits.NewOverrides(lim), prometheus.NewRegistry(), log.NewNopLogger())

	// The owner (first in every replica set) and one more replica refuse: no quorum.
	ingesters[0].full.Store(true)
	ingesters[1].full.Store(true)
	if _, err := d.PushLogs(context.Background(), "team-a", generatedLogs(t, 0)); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("push refused by two of three replicas: %v, want ResourceExhausted", err)
	}
	// Promotions are sent in the background, over loopback gRPC: a second is ample.
	select {
	case ids := <-recorders[2].ids:
		t.Fatalf("the third replica was promoted for %d records of a push its client was told failed", len(ids))
	case <-time.After(time.Second):
	}

	// Only the owner refuses: the push is acknowledged, and both others are promoted.
	ingesters[1].full.Store(false)
	res, err := d.PushLogs(context.Background(), "team-a", generatedLogs(t, 2000))
	if err != nil || res.Accepted == 0 {
		t.Fatalf("push refused by the owner alone: %+v, %v", res, err)
	}
	for k := 1; k < 3; k++ {
		select {
		case ids := <-recorders[k].ids:
			if len(ids) != res.Accepted {
				t.Errorf("replica %d promoted for %d records, want the push's %d", k, len(ids), res.Accepted)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("replica %d was not promoted after the owner refused an acknowledged push", k)
		}
	}
}
