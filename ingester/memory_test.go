package ingester

import (
	"context"
	"runtime"
	rtmetrics "runtime/metrics"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
)

// An ingester holding no records must not go on refusing pushes because the live heap
// was last measured while something large (a flush's batch) was alive: a process that
// refuses every push allocates little, and no GC comes to correct the reading.
func TestStaleHeapReadingIsRefreshed(t *testing.T) {
	i := testIngester(t, nil, t.TempDir(), nil)
	defer services.StopAndAwaitTerminated(context.Background(), i)
	runtime.GC()
	base := i.readHeap()
	big := make([]byte, 128<<20)
	for k := 0; k < len(big); k += 4096 {
		big[k] = 1
	}
	runtime.GC() // the reading now counts big
	runtime.KeepAlive(big)
	i.cfg.MaxMemoryBytes = base + 64<<20
	i.heapReadAt.Store(0)
	// As if that GC was the last for three seconds (a process refusing every push).
	s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	i.gcCycles, i.gcSeenAt = s[0].Value.Uint64(), time.Now().Add(-3*time.Second).UnixNano()
	if h := i.liveHeap(); h <= i.cfg.MaxMemoryBytes {
		t.Fatalf("setup: live heap reading %d is not above the limit %d", h, i.cfg.MaxMemoryBytes)
	}
	if err := i.admit(); err != nil {
		t.Fatalf("a push is refused although no records are held: %v", err)
	}
}
