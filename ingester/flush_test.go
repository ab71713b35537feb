package ingester

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"google.golang.org/protobuf/proto"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

func TestFlushWorkChunks(t *testing.T) {
	w := &flushWork{}
	for k := 0; k < 60000; k++ {
		w.logView = append(w.logView, logEntry{ts: int64(1000 + k)})
		w.logIdx = append(w.logIdx, int32(k))
	}
	for k := 0; k < 10000; k++ {
		w.spanView = append(w.spanView, spanEntry{ts: int64(500 + k)})
		w.spanIdx = append(w.spanIdx, int32(k))
	}
	cs := w.chunks(25000)
	if len(cs) != 3 {
		t.Fatalf("%d chunks, want 3", len(cs))
	}
	// 70,000 records in three INSERTs of about the same size, not 25,000, 25,000 and 20,000.
	want := []struct{ logs, spans, min, max int }{{23334, 0, 1000, 24333}, {23333, 0, 24334, 47666}, {13333, 10000, 500, 60999}}
	for k, c := range cs {
		if len(c.logIdx) != want[k].logs || len(c.spanIdx) != want[k].spans || c.minTS != int64(want[k].min) || c.maxTS != int64(want[k].max) {
			t.Errorf("chunk %d: %d logs, %d spans, ts [%d, %d]; want %+v", k, len(c.logIdx), len(c.spanIdx), c.minTS, c.maxTS, want[k])
		}
	}
	// Chunks must not share backing arrays beyond their length: build appends nothing to
	// them, but a capped slice keeps it that way.
	if cap(cs[0].logIdx) != 23334 {
		t.Errorf("chunk capacity %d, want 23334", cap(cs[0].logIdx))
	}
	if cs := w.chunks(70000); len(cs) != 1 {
		t.Errorf("work of exactly the limit split into %d", len(cs))
	}
	if one := (&flushWork{logIdx: []int32{0}}).chunks(25000); len(one) != 1 {
		t.Errorf("small work split into %d", len(one))
	}
}

// TestFullEpochRotatesAtPush: a push that would take an epoch past
// -ingester.max-epoch-records goes to a new one, at once, not at the next flush pass
// (here an hour away); a push larger than the limit fills an epoch of its own; and a
// replay puts every record back in the epoch its push named.
func TestFullEpochRotatesAtPush(t *testing.T) {
	ch := chtest.New(t)
	dir := t.TempDir()
	cfg := func(c *Config) {
		c.MaxEpochAge = time.Hour
		c.MaxEpochRecords = 10
		c.FlushCheckPeriod = time.Hour
	}
	i := testIngester(t, ch, dir, cfg)
	for k := 0; k < 5; k++ {
		pushN(t, i, "r", k*4, 4)
	}
	pushN(t, i, "r", 100, 13)
	sizes := func(i *Ingester) map[uint64]int {
		i.mu.Lock()
		defer i.mu.Unlock()
		out := map[uint64]int{}
		for _, e := range i.epochs {
			if n := e.records(); n > 0 {
				out[e.id] = n
			}
		}
		return out
	}
	before := sizes(i)
	// 4+4 fill the first epoch, 4+4 the second, 4 open the third; 13 take the fourth.
	var got []int
	i.mu.Lock()
	for _, e := range i.epochs {
		if n := e.records(); n > 0 {
			got = append(got, n)
		}
	}
	i.mu.Unlock()
	if want := []int{8, 8, 4, 13}; !reflect.DeepEqual(got, want) {
		t.Fatalf("epochs hold %v records, want %v", got, want)
	}
	if err := services.StopAndAwaitTerminated(context.Background(), i); err != nil {
		t.Fatal(err)
	}
	j := testIngester(t, ch, dir, cfg)
	defer services.StopAndAwaitTerminated(context.Background(), j)
	if after := sizes(j); !reflect.DeepEqual(after, before) {
		t.Errorf("after replay epochs by size %v, want %v", after, before)
	}
}

// TestPressedEpochClosesEarly: with half of -ingester.max-memory-bytes in use, a flush
// pass closes an open epoch that holds a full INSERT's worth of records instead of
// waiting for its age; with memory to spare it waits.
func TestPressedEpochClosesEarly(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxBytes int64
		closed   bool
	}{{"memory half full", 4 << 20, true}, {"memory to spare", 1 << 40, false}} {
		i := testIngester(t, chtest.New(t), t.TempDir(), func(cfg *Config) {
			cfg.MaxEpochAge = time.Hour
			cfg.MaxEpochRecords = 1 << 30
			cfg.FlushCheckPeriod = time.Hour
			cfg.MaxMemoryBytes = c.maxBytes
		})
		// Straight to keep: admission compares the limit with this test process's heap.
		ts := time.Now().UnixNano()
		req := &pb.PushRequest{Tenant: "p", Resources: []*pb.Resource{{ServiceName: "svc"}}}
		st := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}}, Placement: &pb.Placement{}}
		// A full INSERT's worth, and with the small limit enough to fill half of it.
		for k := range max(i.cfg.insertRecords(), 20000) {
			st.Records = append(st.Records, &pb.LogRecord{Id: uint64(k + 1), Timestamp: ts + int64(k), Body: "a line of some eighty bytes, about what an access log line of a web server holds"})
		}
		req.Streams = []*pb.LogStream{st}
		body, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := i.keep(body); err != nil {
			t.Fatal(err)
		}
		i.mu.Lock()
		first, used := i.cur, i.memBytes
		i.mu.Unlock()
		i.flushPass(context.Background(), time.Now(), false)
		i.mu.Lock()
		closed := first.isClosed()
		i.mu.Unlock()
		if closed != c.closed {
			t.Errorf("%s (%d of %d bytes in use): epoch closed %v, want %v", c.name, used, c.maxBytes, closed, c.closed)
		}
		if err := services.StopAndAwaitTerminated(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
}

// Flushes build into one kept batch, emptied between them, and store exactly their own
// records.
func TestFlushesReuseTheirBatch(t *testing.T) {
	store := chtest.New(t)
	i := testIngester(t, store, t.TempDir(), func(cfg *Config) {
		cfg.FlushCheckPeriod = time.Hour
		cfg.FlushConcurrency = 1
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	var kept *flushBatch
	for round, n := range []int{30, 10} {
		pushN(t, i, "t", round*1000, n)
		if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
			t.Fatalf("round %d: %d records still pending", round, pending)
		}
		if len(i.batches) != 1 {
			t.Fatalf("round %d: %d batches kept, want 1", round, len(i.batches))
		}
		b := <-i.batches
		if b.logs.Len() != 0 || b.spans.Len() != 0 {
			t.Fatalf("round %d: the kept batch holds %d logs and %d spans, want it emptied", round, b.logs.Len(), b.spans.Len())
		}
		if kept != nil && b != kept {
			t.Fatalf("round %d: the flush built into a new batch, not the kept one", round)
		}
		kept = b
		i.batches <- b
	}
	var rows, ids uint64
	if err := store.Conn().QueryRow(context.Background(), "SELECT count(), uniqExact(id) FROM "+store.Database()+".logs").Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	if rows != 40 || ids != 40 {
		t.Fatalf("storage holds %d rows of %d ids, want 40 of 40", rows, ids)
	}
}

func TestInsertRecordsShrinkWithTheMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		max  int
		mem  int64
		want int
	}{
		{100000, 512 << 20, 100000}, // the defaults: 131,072 records of the limit
		{100000, 64 << 20, 16384},
		{25000, 64 << 20, 16384},
		{10000, 64 << 20, 10000},
		{100000, 1000, 1},
	} {
		cfg := Config{MaxInsertRecords: c.max, MaxMemoryBytes: c.mem}
		if got := cfg.insertRecords(); got != c.want {
			t.Errorf("max-insert-records %d, max-memory-bytes %d: %d records per INSERT, want %d", c.max, c.mem, got, c.want)
		}
	}
}

// A pass retires the epochs it flushed once their retention has passed by the time the
// pass ends, not by the time it began: with no retention, in the same pass.
func TestPassRetiresWhatItFlushedAtItsEnd(t *testing.T) {
	i := testIngester(t, chtest.New(t), t.TempDir(), func(cfg *Config) {
		cfg.FlushCheckPeriod = time.Hour
		cfg.FlushedRetention = 0
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	pushN(t, i, "t", 0, 20)
	if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
		t.Fatalf("%d records still pending", pending)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.memBytes != 0 {
		t.Fatalf("after the pass that flushed them, %d bytes of records are still held, want 0", i.memBytes)
	}
}

// TestConcurrentPushesKeepEpochsAtTheLimit: pushes on their way to the WAL count toward
// the open epoch, so concurrent pushes never take it past -ingester.max-epoch-records.
func TestConcurrentPushesKeepEpochsAtTheLimit(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) {
		c.MaxEpochAge = time.Hour
		c.MaxEpochRecords = 10
		c.FlushCheckPeriod = time.Hour
		c.FlushedRetention = time.Hour // every epoch stays to be counted
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 25 {
				if err := tryPushN(i, "r", (g*25+k)*3, 3); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	i.mu.Lock()
	defer i.mu.Unlock()
	total := 0
	for _, e := range i.epochs {
		total += e.records()
		if e.records() > 10 {
			t.Errorf("an epoch holds %d records, over the limit of 10", e.records())
		}
		if e.reserved != 0 {
			t.Errorf("an epoch still has %d records reserved", e.reserved)
		}
	}
	if total != 8*25*3 {
		t.Errorf("epochs hold %d records, want %d", total, 8*25*3)
	}
}

// TestFullEpochFlushesAtOnce: the push that closes a full epoch wakes the flush loop, so
// the epoch's flush does not wait for the next check (here an hour away).
func TestFullEpochFlushesAtOnce(t *testing.T) {
	i := testIngester(t, chtest.New(t), t.TempDir(), func(c *Config) {
		c.MaxEpochAge = time.Hour
		c.MaxEpochRecords = 10
		c.FlushCheckPeriod = time.Hour
		c.FlushedRetention = time.Hour
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	pushN(t, i, "t", 0, 6)
	pushN(t, i, "t", 6, 6) // closes the first epoch
	deadline := time.Now().Add(20 * time.Second)
	for {
		i.mu.Lock()
		first := i.epochs[0]
		closed, pending := first.isClosed(), first.pending
		i.mu.Unlock()
		if closed && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the full epoch (closed %v) still has %d records pending after 20 s", closed, pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRetireWaitsForWorkInFlight: a flushed epoch stays in memory while a push is on its
// way to it or one of its flush works is still running, and retires once neither is.
func TestRetireWaitsForWorkInFlight(t *testing.T) {
	i := testIngester(t, chtest.New(t), t.TempDir(), func(c *Config) {
		c.FlushCheckPeriod = time.Hour
		c.MaxEpochAge = time.Hour
		c.FlushedRetention = time.Hour
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	for _, inFlight := range []func(e *epoch) *int{
		func(e *epoch) *int { return &e.reserved },
		func(e *epoch) *int { return &e.flushing },
	} {
		pushN(t, i, "t", 0, 5)
		i.mu.Lock()
		e := i.cur
		i.mu.Unlock()
		if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
			t.Fatalf("%d records still pending", pending)
		}
		// Past the retention, only the work in flight keeps the epoch.
		later := time.Now().Add(2 * time.Hour)
		i.mu.Lock()
		*inFlight(e) = 1
		i.retire(later)
		if !slices.Contains(i.epochs, e) || i.memBytes == 0 {
			t.Error("an epoch with work in flight was retired")
		}
		*inFlight(e) = 0
		i.retire(later)
		if slices.Contains(i.epochs, e) || i.memBytes != 0 {
			t.Errorf("the epoch was not retired once its work was done (%d bytes held)", i.memBytes)
		}
		i.mu.Unlock()
	}
}

// TestSortLogOrder holds the radix sort to a comparison sort on batches of every shape:
// few and many groups, timestamps within seconds and across the whole int64 range (the
// comparison sort's fallback), ties on timestamps, and batches below and above the size
// where the radix sort takes over.
func TestSortLogOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, tc := range map[string]struct {
		n, groups int
		span      int64 // timestamps in [base, base+span)
		base      int64
	}{
		"small":                {n: 100, groups: 3, span: 5e9, base: 1.7e18},
		"epoch":                {n: 50000, groups: 20, span: 5e9, base: 1.7e18},
		"one group":            {n: 20000, groups: 1, span: 5e9, base: 1.7e18},
		"ties":                 {n: 20000, groups: 4, span: 50, base: 1.7e18},
		"one timestamp":        {n: 10000, groups: 1, span: 1, base: 1.7e18},
		"days":                 {n: 20000, groups: 300, span: 7 * 86400e9, base: 1.7e18},
		"whole range":          {n: 20000, groups: 5, span: math.MaxInt64, base: math.MinInt64 / 2},
		"many groups, one day": {n: 20000, groups: 70000, span: 86400e9, base: 0},
	} {
		t.Run(name, func(t *testing.T) {
			keys := make([]logOrder, tc.n)
			for k := range keys {
				keys[k] = logOrder{group: uint32(rng.IntN(tc.groups)), idx: int32(k), ts: tc.base + rng.Int64N(tc.span), id: rng.Uint64()}
			}
			want := slices.Clone(keys)
			slices.SortFunc(want, compareLogOrder)
			var tmp []logOrder
			for round := range 2 { // the scratch of the first round reused
				got := slices.Clone(keys)
				tmp = sortLogOrder(got, tmp)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d: radix order differs from the comparison sort's", round)
				}
			}
		})
	}
}

// BenchmarkSortLogOrder sorts an epoch's keys as sortLogs does: 200,000 records of 20
// services from concurrent pushes, in arrival order.
func BenchmarkSortLogOrder(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, pushes = 200000, 100
	keys := make([]logOrder, 0, n)
	base := int64(1.7e18)
	for p := range pushes {
		for k := range n / pushes {
			keys = append(keys, logOrder{group: uint32(rng.IntN(20)), idx: int32(len(keys)), ts: base + int64(p)*50e6 + int64(k)*1e6 + rng.Int64N(1e6), id: rng.Uint64()})
		}
	}
	work := make([]logOrder, n)
	b.Run("pdqsort", func(b *testing.B) {
		for b.Loop() {
			copy(work, keys)
			slices.SortFunc(work, compareLogOrder)
		}
	})
	b.Run("radix", func(b *testing.B) {
		var tmp []logOrder
		for b.Loop() {
			copy(work, keys)
			tmp = sortLogOrder(work, tmp)
		}
	})
}
