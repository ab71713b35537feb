package ingester

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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
	if _, err := i.check(); err != nil {
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
	if _, err := i.check(); err == nil {
		t.Fatalf("setup: a push is admitted with %d bytes of records held and a limit of %d", held, i.cfg.MaxMemoryBytes)
	}
	if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
		t.Fatalf("%d records still pending", pending)
	}
	if mem := i.memoryBytes(); mem != 0 {
		t.Fatalf("%d bytes of records still held after the flush", mem)
	}
	i.heapReadAt.Store(0)
	if _, err := i.check(); err != nil {
		t.Fatalf("a push is refused although the flush freed %d bytes of records: %v", held, err)
	}
}

// fullIngester returns an ingester holding 100,000 records, with the garbage collector
// off and its memory limit below what it uses, so that it refuses pushes until a flush
// frees room; its flush loop never runs by itself.
func fullIngester(t *testing.T, wait time.Duration) *Ingester {
	t.Helper()
	i := testIngester(t, chtest.New(t), t.TempDir(), func(cfg *Config) {
		cfg.FlushCheckPeriod = time.Hour
		cfg.PushWait = wait
	})
	t.Cleanup(func() { services.StopAndAwaitTerminated(context.Background(), i) })
	for k := range 20 {
		pushN(t, i, "t", k*5000, 5000)
	}
	gc := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(gc) })
	runtime.GC()
	i.readHeap()
	held := i.memoryBytes()
	i.cfg.MaxMemoryBytes = i.heapInUse(held) - held/2
	if _, err := i.check(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("setup: a push with %d bytes of records held and a limit of %d gets %v", held, i.cfg.MaxMemoryBytes, err)
	}
	return i
}

// A push that finds the ingester full waits for the flush that frees room, and is then
// kept, instead of going back to its client.
func TestPushWaitsForRoomAFlushFrees(t *testing.T) {
	i := fullIngester(t, time.Minute)
	done := make(chan error, 1)
	go func() { done <- tryPushN(i, "t", 100000, 10) }()
	select {
	case err := <-done:
		t.Fatalf("the push returned (%v) while the ingester was full", err)
	case <-time.After(300 * time.Millisecond):
	}
	if n := i.waiting.Load(); n != 1 {
		t.Fatalf("%d pushes waiting, want 1", n)
	}
	if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
		t.Fatalf("%d records still pending", pending)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the push was refused after the flush freed room: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the push still waits 10 s after the flush freed room")
	}
	if got := i.stored.Load(); got != 100010 {
		t.Fatalf("%d records stored, want 100010", got)
	}
	if n := counted(t, i.m.refused.WithLabelValues("memory")); n != 0 {
		t.Fatalf("%v refusals counted for a push that was kept", n)
	}
}

// A push waits at most -ingester.push-wait, and is then refused, once; with 0 it is
// refused at once. After a wait in vain, Admit refuses at once until a push is admitted.
func TestPushWaitEnds(t *testing.T) {
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		i := fullIngester(t, wait)
		start := time.Now()
		err := tryPushN(i, "t", 100000, 10)
		took := time.Since(start)
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "-ingester.max-memory-bytes") {
			t.Fatalf("wait %s: a push to a full ingester got %v", wait, err)
		}
		if took < wait {
			t.Fatalf("wait %s: refused after %s", wait, took)
		}
		if n := counted(t, i.m.refused.WithLabelValues("memory")); n != 1 {
			t.Fatalf("wait %s: %v refusals counted, want 1", wait, n)
		}
		// A wait in vain (ClickHouse down, say): pushes are refused before they are read
		// until one is admitted.
		if err := i.Admit(); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("wait %s: Admit after a wait in vain: %v", wait, err)
		}
	}
	i := fullIngester(t, time.Minute)
	i.waitFailed.Store(true)
	i.flushPass(context.Background(), time.Now(), true)
	if err := i.Admit(); err != nil {
		t.Fatalf("Admit with room freed after a wait in vain: %v", err)
	}
	if err := tryPushN(i, "t", 300000, 10); err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	i.cfg.MaxMemoryBytes = 1 // full again
	i.mu.Unlock()
	if err := i.Admit(); err != nil {
		t.Fatalf("Admit refuses (%v) once a push was admitted since the wait in vain", err)
	}
}

// At most maxWaitingPushes wait; the next is refused at once, and Admit, which the
// distributor in this process asks before reading a request, says so.
func TestWaitingPushesAreBounded(t *testing.T) {
	i := fullIngester(t, time.Minute)
	if err := i.Admit(); err != nil {
		t.Fatalf("Admit refuses (%v) while a push may still wait for room", err)
	}
	done := make(chan error, maxWaitingPushes)
	for k := range maxWaitingPushes {
		go func() { done <- tryPushN(i, "t", 200000+10*k, 10) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for i.waiting.Load() != maxWaitingPushes {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes waiting, want %d", i.waiting.Load(), maxWaitingPushes)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := tryPushN(i, "t", 100000, 10); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a push beyond the waiting room got %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a push beyond the waiting room waited %s", took)
	}
	if err := i.Admit(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Admit with the waiting room full: %v", err)
	}
	i.flushPass(context.Background(), time.Now(), true)
	for range maxWaitingPushes {
		if err := <-done; err != nil {
			t.Fatalf("a waiting push was refused after the flush: %v", err)
		}
	}
}

func counted(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
