package ingester

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/grafana/dskit/services"

	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// An ingester holding no records must not go on refusing pushes because the live heap
// was last measured while something large (a flush's batch) was alive: a process that
// refuses every push allocates little, and no GC comes to correct the reading.
func TestStaleHeapReadingIsRefreshed(t *testing.T) {
	i := testIngester(t, nil, t.TempDir(), nil)
	defer services.StopAndAwaitTerminated(context.Background(), i)
	runtime.GC()
	i.readHeap()
	base := i.heapInUse(0)
	big := make([]byte, 128<<20)
	for k := 0; k < len(big); k += 4096 {
		big[k] = 1
	}
	runtime.GC() // the reading now counts big
	runtime.KeepAlive(big)
	i.cfg.MaxMemoryBytes = base + 64<<20
	i.readHeap()
	// As if that GC was the last for three seconds (a process refusing every push).
	i.heapMu.Lock()
	i.heapSeenAt = time.Now().Add(-3 * time.Second).UnixNano()
	i.heapMu.Unlock()
	i.heapReadAt.Store(time.Now().UnixNano())
	if h := i.heapInUse(0); h <= i.cfg.MaxMemoryBytes {
		t.Fatalf("setup: live heap reading %d is not above the limit %d", h, i.cfg.MaxMemoryBytes)
	}
	if err := i.admit(); err != nil {
		t.Fatalf("a push is refused although no records are held: %v", err)
	}
}

// Records a flush retires free their memory for pushes at once, without waiting for a GC
// to measure the heap again: under load the flusher otherwise sat idle for seconds, every
// push refused, with most of the limit free.
func TestRetiredRecordsFreeTheHeapAtOnce(t *testing.T) {
	store := chtest.New(t)
	i := testIngester(t, store, t.TempDir(), func(cfg *Config) { cfg.FlushCheckPeriod = time.Hour })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	for k := range 20 {
		pushN(t, i, "t", k*5000, 5000)
	}
	// No GC from here on: the last reading, taken with the records held, is all there is.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	i.readHeap()
	held := i.memoryBytes()
	i.cfg.MaxMemoryBytes = i.heapInUse(held) - held/2
	if err := i.admit(); err == nil {
		t.Fatalf("setup: a push is admitted with %d bytes of records held and a limit of %d", held, i.cfg.MaxMemoryBytes)
	}
	if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
		t.Fatalf("%d records still pending", pending)
	}
	if mem := i.memoryBytes(); mem != 0 {
		t.Fatalf("%d bytes of records still held after the flush", mem)
	}
	i.heapReadAt.Store(0)
	if err := i.admit(); err != nil {
		t.Fatalf("a push is refused although the flush freed %d bytes of records: %v", held, err)
	}
}
