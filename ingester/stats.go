package ingester

import (
	"context"
	"sync"
	"time"

	"github.com/grafana/dskit/services"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// rateWindow is how far back the ingest rate in Stats looks.
const rateWindow = 10 * time.Second

// rateMeter turns a running total into a per-second rate over the last rateWindow.
type rateMeter struct {
	mu      sync.Mutex
	samples []rateSample // oldest first; samples[0] is the newest at or before now-rateWindow
}

type rateSample struct {
	at    time.Time
	total int64
}

func (m *rateMeter) observe(now time.Time, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, rateSample{now, total})
	for len(m.samples) > 2 && !m.samples[1].at.After(now.Add(-rateWindow)) {
		m.samples = m.samples[1:]
	}
}

func (m *rateMeter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	dt := last.at.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(last.total-first.total) / dt
}

// Stats reports this ingester's load for the UI's cluster page.
func (i *Ingester) Stats(context.Context, *pb.StatsRequest) (*pb.StatsResponse, error) {
	if i.State() != services.Running {
		return nil, status.Error(codes.Unavailable, "ingester is not running")
	}
	now := time.Now()
	resp := &pb.StatsResponse{IngestRate: i.rate.rate()}
	if i.wal != nil {
		resp.WalBytes = i.wal.Size()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	resp.MemoryRecords = int64(i.index.len())
	resp.MemoryBytes = i.memBytes
	for _, e := range i.epochs {
		if e.pending > 0 {
			resp.FlushLagSeconds = now.Sub(e.opened).Seconds()
			break
		}
	}
	return resp, nil
}
