package distributor

import (
	"strings"
	"testing"
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

func batchOf(ids ...uint64) *converted {
	c := &converted{}
	for _, id := range ids {
		c.streams = append(c.streams, &pb.LogStream{StreamId: id, Labels: []*pb.Label{{Name: "service_name", Value: "s"}},
			Records: []*pb.LogRecord{{Id: id}, {Id: id + 1000}}})
		c.accepted += 2
	}
	return c
}

func TestStreamLimit(t *testing.T) {
	tr := newStreamTracker()
	now := time.Unix(1_000_000, 0)
	c := batchOf(1, 2, 3)
	tr.admit("a", 2, now, c)
	if len(c.streams) != 2 || c.accepted != 4 || len(c.rejected) != 2 || c.rejected[0].reason != "stream_limit" ||
		!strings.Contains(c.rejected[0].msg, "max_streams_per_tenant") {
		t.Fatalf("3 new streams under a limit of 2: kept %d, accepted %d, rejected %+v", len(c.streams), c.accepted, c.rejected)
	}
	// Active streams keep writing; other tenants and unlimited tenants are unaffected.
	c = batchOf(1, 2)
	tr.admit("a", 2, now, c)
	if len(c.rejected) != 0 {
		t.Fatalf("active streams rejected: %+v", c.rejected)
	}
	c = batchOf(1, 2, 3)
	tr.admit("b", 2, now, c)
	if len(c.rejected) != 2 {
		t.Fatalf("tenant b has its own count: %d rejected, want 2", len(c.rejected))
	}
	c = batchOf(5, 6, 7)
	tr.admit("c", 0, now, c)
	if len(c.rejected) != 0 {
		t.Fatalf("limit 0 means none: %d rejected", len(c.rejected))
	}
	// An hour after their last record streams stop counting, making room for new ones.
	later := now.Add(streamIdle + 2*time.Minute)
	c = batchOf(3)
	tr.admit("a", 2, later, c)
	if len(c.rejected) != 0 || c.accepted != 2 {
		t.Fatalf("after idle expiry: rejected %+v", c.rejected)
	}
}
