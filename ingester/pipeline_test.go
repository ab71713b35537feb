package ingester

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"google.golang.org/protobuf/proto"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// A flush adds its log rows in the logs table's sort order (tenant, service_name,
// timestamp, id), whatever order they were pushed in, so ClickHouse skips sorting them.
func TestFlushSortsLogsAsStored(t *testing.T) {
	i := testIngester(t, chtest.New(t), t.TempDir(), func(cfg *Config) { cfg.FlushCheckPeriod = time.Hour; cfg.MaxEpochAge = time.Hour })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	ts := time.Now().UnixNano()
	// Tenant "a" sorts first although its service sorts last.
	for n, tenant := range []string{"t", "a"} {
		svcs := []string{"web", "api"}
		if tenant == "a" {
			svcs = []string{"zzz"}
		}
		req := &pb.PushRequest{Tenant: tenant}
		for s, svc := range svcs {
			req.Resources = append(req.Resources, &pb.Resource{ServiceName: svc})
			st := &pb.LogStream{StreamId: uint64(10*n + s + 1), Labels: []*pb.Label{{Name: "service_name", Value: svc}}, Placement: &pb.Placement{}}
			// Newest first, with ties on the timestamp that the id orders.
			for k := range 50 {
				st.Records = append(st.Records, &pb.LogRecord{Id: uint64(10000*n + 1000*s + 97*k%50), Timestamp: ts - int64(k/2), Resource: uint32(s), Body: "line"})
			}
			req.Streams = append(req.Streams, st)
		}
		body, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := i.keep(body); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	i.mu.Lock()
	i.closeEpoch(i.cur, now)
	works := i.collect(now, true)
	i.mu.Unlock()
	if len(works) != 1 || len(works[0].logIdx) != 150 {
		t.Fatalf("collected %d works, want one of 150 records", len(works))
	}
	w := works[0]
	defer i.doneFlushing(works) // or the stopping ingester waits for this work to end
	w.flushBatch = i.getBatch()
	if err := i.build(w, nil, false); err != nil {
		t.Fatal(err)
	}
	type order struct {
		tenant, service string
		ts              int64
		id              uint64
	}
	key := func(k int32) order {
		le := w.logAt(k)
		return order{tenant: le.tenant(), service: le.resource().GetServiceName(), ts: le.ts, id: le.id}
	}
	for n := 1; n < len(w.logIdx); n++ {
		a, b := key(w.logIdx[n-1]), key(w.logIdx[n])
		if c := cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.service, b.service), cmp.Compare(a.ts, b.ts), cmp.Compare(a.id, b.id)); c > 0 {
			t.Fatalf("record %d (%s %d %d) is built before record %d (%s %d %d)", n-1, a.service, a.ts, a.id, n, b.service, b.ts, b.id)
		}
	}
	if got := key(w.logIdx[0]); got.tenant != "a" || key(w.logIdx[50]).service != "api" {
		t.Fatalf("the batch starts with tenant %q, service %q, and its 51st record's service is %q; want a, zzz and api", got.tenant, got.service, key(w.logIdx[50]).service)
	}
	if w.logs.Len() != 150 {
		t.Fatalf("the batch holds %d rows, want 150", w.logs.Len())
	}
}

// gatedStore holds each WriteLogs until the test lets it go, and tells the test of each
// batch prepared.
type gatedStore struct {
	Store
	prepared   chan struct{}
	release    chan struct{}
	releaseAll sync.Once
	writes     atomic.Int32
	fail       atomic.Bool
}

func (g *gatedStore) PrepareLogs(ctx context.Context, b *clickhouse.LogBatch) error {
	err := g.Store.PrepareLogs(ctx, b)
	select {
	case g.prepared <- struct{}{}:
	default: // nobody counts any more (a stopping ingester's final flush)
	}
	return err
}

func (g *gatedStore) WriteLogs(ctx context.Context, b *clickhouse.LogBatch) error {
	g.writes.Add(1)
	<-g.release
	if g.fail.Load() {
		return errors.New("injected write failure")
	}
	return g.Store.WriteLogs(ctx, b)
}

func gatedIngester(t *testing.T, mut ...func(*Config)) (*Ingester, *gatedStore, *clickhouse.Client) {
	ch := chtest.New(t)
	g := &gatedStore{Store: ch, prepared: make(chan struct{}, 10), release: make(chan struct{})}
	i := testIngester(t, g, t.TempDir(), func(cfg *Config) {
		cfg.FlushCheckPeriod = time.Hour
		cfg.MaxEpochAge = time.Hour
		cfg.FlushConcurrency = 1
		cfg.MaxInsertRecords = 10
		for _, m := range mut {
			m(cfg)
		}
	})
	// On failure too, writes are let go before the ingester stops (cleanups run last first).
	t.Cleanup(func() { services.StopAndAwaitTerminated(context.Background(), i) })
	t.Cleanup(g.letGo)
	pushN(t, i, "t", 0, 30) // one epoch, flushed as three INSERTs of 10
	i.mu.Lock()
	i.closeEpoch(i.cur, time.Now())
	i.mu.Unlock()
	return i, g, ch
}

func (g *gatedStore) letGo() {
	g.fail.Store(false)
	g.releaseAll.Do(func() { close(g.release) })
}

func waitFor(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
}

// The next batch is built while one is written, and only one ahead.
func TestFlushBuildsTheNextBatchDuringAWrite(t *testing.T) {
	i, g, ch := gatedIngester(t)
	done := make(chan int)
	go func() { done <- i.flushPass(context.Background(), time.Now(), false) }()
	waitFor(t, g.prepared, "first batch")
	waitFor(t, g.prepared, "second batch built while the first is written")
	select {
	case <-g.prepared:
		t.Fatal("a third batch was built before the first was written")
	case <-time.After(200 * time.Millisecond):
	}
	if n := g.writes.Load(); n != 1 {
		t.Fatalf("%d writes started, want 1", n)
	}
	g.letGo()
	if pending := <-done; pending != 0 {
		t.Fatalf("%d records pending after the pass", pending)
	}
	var rows uint64
	if err := ch.Conn().QueryRow(context.Background(), "SELECT count() FROM "+ch.Database()+".logs").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 30 {
		t.Fatalf("storage holds %d rows, want 30", rows)
	}
}

// An epoch that a push closes while a pass writes joins that pass: its batch is built
// during the pass's last INSERT instead of by the next pass, with ClickHouse idle. The
// epoch being written is not taken up again: every record is stored once.
func TestEpochClosedDuringAWriteJoinsThePass(t *testing.T) {
	i, g, ch := gatedIngester(t, func(cfg *Config) { cfg.MaxEpochRecords = 10 })
	done := make(chan int)
	go func() { done <- i.flushPass(context.Background(), time.Now(), false) }()
	waitFor(t, g.prepared, "first batch")
	waitFor(t, g.prepared, "second batch")
	pushN(t, i, "t", 100, 5)
	pushN(t, i, "t", 105, 6) // closes the epoch of the five before it
	g.release <- struct{}{}
	waitFor(t, g.prepared, "third batch")
	g.release <- struct{}{}
	waitFor(t, g.prepared, "the batch of the epoch closed during the pass")
	g.letGo()
	if pending := <-done; pending != 0 {
		t.Fatalf("%d records of closed epochs pending after the pass, want 0", pending)
	}
	var rows, ids uint64
	if err := ch.Conn().QueryRow(context.Background(), "SELECT count(), uniqExact(id) FROM "+ch.Database()+".logs").Scan(&rows, &ids); err != nil {
		t.Fatal(err)
	}
	if rows != 35 || ids != 35 {
		t.Fatalf("storage holds %d rows of %d ids, want 35 of 35", rows, ids)
	}
}

// After a failed write, the batch built ahead is not written: its records stay pending
// with the failed ones, and every work of the pass is counted done (epochs can retire).
func TestFailedWriteDropsTheBatchBuiltAhead(t *testing.T) {
	i, g, _ := gatedIngester(t)
	g.fail.Store(true)
	done := make(chan int)
	go func() { done <- i.flushPass(context.Background(), time.Now(), false) }()
	waitFor(t, g.prepared, "first batch")
	waitFor(t, g.prepared, "second batch")
	g.release <- struct{}{} // the first write fails
	if pending := <-done; pending != 30 {
		t.Fatalf("%d records pending after the failed pass, want 30", pending)
	}
	if n := g.writes.Load(); n != 1 {
		t.Fatalf("%d writes after the failure, want 1", n)
	}
	i.mu.Lock()
	for _, e := range i.epochs {
		if e.flushing != 0 {
			t.Errorf("epoch %d still counts %d works in flight", e.id, e.flushing)
		}
	}
	i.mu.Unlock()
	// The next pass, after the backoff, writes them all.
	g.fail.Store(false)
	g.letGo()
	go func() { done <- i.flushPass(context.Background(), time.Now().Add(time.Minute), false) }()
	for range 3 {
		waitFor(t, g.prepared, "a batch of the retry")
	}
	if pending := <-done; pending != 0 {
		t.Fatalf("%d records pending after the retry", pending)
	}
	if n := g.writes.Load(); n != 4 {
		t.Fatalf("%d writes in all, want 4", n)
	}
}

// Records released by another replica while their INSERT runs end flushed, counted
// settled once: the epoch ends with no record pending, neither more nor fewer.
func TestReleaseDuringWriteSettlesOnce(t *testing.T) {
	i, g, _ := gatedIngester(t, func(cfg *Config) { cfg.FlushedRetention = time.Hour })
	done := make(chan int)
	go func() { done <- i.flushPass(context.Background(), time.Now(), false) }()
	waitFor(t, g.prepared, "first batch")
	// Records 1 and 2 are in the first INSERT (records 1-10), 25 in the last.
	if _, err := i.Release(context.Background(), &pb.ReleaseRequest{Tenant: "t", FlushId: 7, LogIds: []uint64{1, 2, 25}}); err != nil {
		t.Fatal(err)
	}
	g.letGo()
	if pending := <-done; pending != 0 {
		t.Fatalf("%d records pending after the pass", pending)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	flushed, released := 0, 0
	for _, e := range i.epochs {
		if e.pending != 0 {
			t.Errorf("epoch %d counts %d records pending, want 0", e.id, e.pending)
		}
		for k := range e.logs {
			switch e.logs[k].state {
			case stateFlushed:
				flushed++
			case stateReleased:
				released++
			}
		}
	}
	// An owner's batch is built without looking at releases, so all 30 were written.
	if flushed != 30 || released != 0 {
		t.Fatalf("%d records flushed and %d released, want 30 flushed", flushed, released)
	}
}
