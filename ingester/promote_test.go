package ingester

import (
	"context"
	"testing"
	"time"

	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// healthyRing reports fixed addresses as healthy ring members.
type healthyRing []string

func (r healthyRing) GetAllHealthy(dsring.Operation) (dsring.ReplicationSet, error) {
	var set dsring.ReplicationSet
	for _, a := range r {
		set.Instances = append(set.Instances, dsring.InstanceDesc{Addr: a, State: dsring.ACTIVE})
	}
	return set, nil
}

// TestPromoteFlushesWithoutWaiting: a rank-1 replica whose owner is healthy waits for the
// owner's release (here an hour); once a distributor reports that the owner refused the
// records, the replica flushes them as soon as their epoch closes. Records not promoted
// keep waiting.
func TestPromoteFlushesWithoutWaiting(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.ReleaseGrace = time.Hour })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	i.SetRing(healthyRing{"owner:1", "me:1"})
	ts := time.Now().UnixNano()
	place := &pb.Placement{Rank: 1, Replicas: []string{"owner:1", "me:1"}}
	labels := []*pb.Label{{Name: "service_name", Value: "svc"}}
	req := &pb.PushRequest{Tenant: "pr", Resources: []*pb.Resource{{ServiceName: "svc"}}, Streams: []*pb.LogStream{
		{StreamId: 1, Labels: labels, Placement: place, Records: []*pb.LogRecord{{Id: 21, Timestamp: ts, Body: "refused by owner"}, {Id: 22, Timestamp: ts + 1, Body: "also refused"}}},
		{StreamId: 2, Labels: labels, Placement: place, Records: []*pb.LogRecord{{Id: 23, Timestamp: ts + 2, Body: "owner has it"}}},
	}}
	// The promotion may arrive before the records do.
	if _, err := i.Promote(context.Background(), &pb.PromoteRequest{Ids: []uint64{21}}); err != nil {
		t.Fatal(err)
	}
	if _, err := i.Push(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := i.Promote(context.Background(), &pb.PromoteRequest{Ids: []uint64{22}}); err != nil {
		t.Fatal(err)
	}
	waitLogs(t, ch, "pr", 2)
	time.Sleep(300 * time.Millisecond)
	if n := countLogs(t, ch, "pr"); n != 2 {
		t.Fatalf("%d rows, want 2: the record not promoted waits for its owner", n)
	}
	i.mu.Lock()
	_, st, ok := i.held(23)
	pending := ok && *st == statePending
	i.mu.Unlock()
	if !pending {
		t.Fatalf("record 23 should still be pending in memory")
	}
}
