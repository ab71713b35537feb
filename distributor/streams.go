package distributor

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// streamIdle is how long a stream counts as active after its last record.
const streamIdle = time.Hour

// streamTracker counts each tenant's active log streams for the max_streams_per_tenant
// limit. Each distributor counts what it sees; behind a load balancer that spreads
// clients evenly, every distributor sees nearly every stream, so the count is close to
// the tenant's total without coordination.
type streamTracker struct {
	mu      sync.Mutex
	tenants map[string]*tenantStreams
}

type tenantStreams struct {
	lastSeen  map[uint64]int64 // stream id -> unix seconds
	lastSweep int64
}

func newStreamTracker() *streamTracker {
	return &streamTracker{tenants: map[string]*tenantStreams{}}
}

// admit keeps the streams of c that are already active or fit under max, and rejects
// every record of the others, naming the limit. max <= 0 means no limit.
func (t *streamTracker) admit(tenant string, max int, now time.Time, c *converted) {
	if len(c.streams) == 0 {
		return
	}
	sec := now.Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.tenants[tenant]
	if ts == nil {
		ts = &tenantStreams{lastSeen: map[uint64]int64{}, lastSweep: sec}
		t.tenants[tenant] = ts
	}
	if sec-ts.lastSweep >= 60 {
		cutoff := sec - int64(streamIdle/time.Second)
		for id, seen := range ts.lastSeen {
			if seen < cutoff {
				delete(ts.lastSeen, id)
			}
		}
		ts.lastSweep = sec
	}
	kept := c.streams[:0]
	for _, s := range c.streams {
		if _, ok := ts.lastSeen[s.StreamId]; ok || max <= 0 || len(ts.lastSeen) < max {
			ts.lastSeen[s.StreamId] = sec
			kept = append(kept, s)
			continue
		}
		msg := fmt.Sprintf("tenant %s: stream %s would exceed the limit of %d active streams (limit max_streams_per_tenant); records of active streams are still accepted, and a stream stops counting an hour after its last record",
			tenant, labelString(s.Labels), max)
		for range s.Records {
			c.reject("stream_limit", msg)
		}
		c.accepted -= len(s.Records)
	}
	clear(c.streams[len(kept):])
	c.streams = kept
}

// labelString renders labels the way Loki prints a stream selector.
func labelString(ls []*pb.Label) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s=%q", l.Name, l.Value)
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ", ") + "}"
}
