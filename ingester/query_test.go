package ingester

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"google.golang.org/grpc"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

func serveGRPC(t *testing.T, i *Ingester) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterIngesterServer(s, i)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// chCountExcluding counts the tenant's rows in ClickHouse outside the given flush ids,
// the way the querier's storage part does.
func chCountExcluding(t *testing.T, c *clickhouse.Client, tenant string, flushIDs []uint64) uint64 {
	t.Helper()
	ex := "0"
	if len(flushIDs) > 0 {
		parts := make([]string, len(flushIDs))
		for k, f := range flushIDs {
			parts[k] = fmt.Sprint(f)
		}
		ex = strings.Join(parts, ",")
	}
	var n uint64
	q := fmt.Sprintf("SELECT count() FROM %s.logs WHERE tenant = ? AND flush_id NOT IN (%s)", c.Database(), ex)
	if err := c.Conn().QueryRow(context.Background(), q, tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQueryMergeIsExactAcrossFlushes: while records are pushed and flushed, memory
// (as QueryLogs answers) plus ClickHouse minus the flush ids it reports always counts
// every acknowledged record exactly once.
func TestQueryMergeIsExactAcrossFlushes(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) {
		c.MaxEpochAge = 30 * time.Millisecond
		c.FlushCheckPeriod = 10 * time.Millisecond
		c.FlushedRetention = 50 * time.Millisecond
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	addr := serveGRPC(t, i)
	pool := client.NewPool(64 << 20)
	defer pool.Close()
	req := &pb.QueryLogsRequest{Start: 0, End: time.Now().Add(time.Hour).UnixNano()}

	const pushes, per = 60, 100
	acked := 0
	sawMemory, sawStorage := false, false
	for p := 0; p < pushes; p++ {
		pushN(t, i, "exact", p*per, per)
		acked += per
		recent, err := pool.QueryLogs(context.Background(), []string{addr}, 0, "exact", req)
		if err != nil {
			t.Fatal(err)
		}
		stored := chCountExcluding(t, ch, "exact", recent.FlushIDs)
		sawMemory = sawMemory || len(recent.Logs) > 0
		sawStorage = sawStorage || stored > 0
		if got := uint64(len(recent.Logs)) + stored; got != uint64(acked) {
			t.Fatalf("after %d acknowledged: memory %d + storage %d = %d", acked, len(recent.Logs), stored, got)
		}
		time.Sleep(time.Duration(p%4) * 10 * time.Millisecond)
	}
	if !sawMemory || !sawStorage {
		t.Fatalf("the test never saw both sides (memory %v, storage %v): it did not exercise the merge", sawMemory, sawStorage)
	}
}

func TestQueryLogsFilters(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.MaxEpochAge = time.Hour })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	addr := serveGRPC(t, i)
	pushN(t, i, "f", 0, 20) // bodies "line 0" .. "line 19", service_name=svc
	pool := client.NewPool(64 << 20)
	defer pool.Close()
	f := func(req *pb.QueryLogsRequest, tenant string, want int) {
		t.Helper()
		if req.End == 0 {
			req.End = time.Now().Add(time.Hour).UnixNano()
		}
		r, err := pool.QueryLogs(context.Background(), []string{addr}, 0, tenant, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Logs) != want {
			t.Errorf("%v: %d records, want %d", req, len(r.Logs), want)
		}
	}
	eq := func(n, v string) *pb.LabelMatcher { return &pb.LabelMatcher{Name: n, Value: v} }
	f(&pb.QueryLogsRequest{}, "f", 20)
	f(&pb.QueryLogsRequest{}, "other-tenant", 0)
	f(&pb.QueryLogsRequest{Matchers: []*pb.LabelMatcher{eq("service_name", "svc")}}, "f", 20)
	f(&pb.QueryLogsRequest{Matchers: []*pb.LabelMatcher{eq("service_name", "nope")}}, "f", 0)
	f(&pb.QueryLogsRequest{Matchers: []*pb.LabelMatcher{{Type: pb.LabelMatcher_TYPE_RE, Name: "service_name", Value: "s.c"}}}, "f", 20)
	f(&pb.QueryLogsRequest{Matchers: []*pb.LabelMatcher{{Type: pb.LabelMatcher_TYPE_NRE, Name: "service_name", Value: "s.c"}}}, "f", 0)
	f(&pb.QueryLogsRequest{Filters: []*pb.LineFilter{{Value: "line 1"}}}, "f", 11) // 1, 10-19
	f(&pb.QueryLogsRequest{Filters: []*pb.LineFilter{{Type: pb.LineFilter_TYPE_NOT_CONTAINS, Value: "line 1"}}}, "f", 9)
	f(&pb.QueryLogsRequest{Filters: []*pb.LineFilter{{Type: pb.LineFilter_TYPE_RE, Value: `line [2-4]$`}}}, "f", 3)
	f(&pb.QueryLogsRequest{Start: time.Now().Add(time.Minute).UnixNano()}, "f", 0)
	if _, err := pool.QueryLogs(context.Background(), []string{addr}, 0, "f", &pb.QueryLogsRequest{Filters: []*pb.LineFilter{{Type: pb.LineFilter_TYPE_RE, Value: "("}}}); err == nil || !strings.Contains(err.Error(), "line filter") {
		t.Errorf("bad regex: %v", err)
	}
}

// TestQueryFlushIDsOnlyWhereStorageMayHoldRows: a query is told to exclude an epoch's
// flush id only when the epoch holds records of the query's tenant and range; any other
// exclusion costs ClickHouse a column read for nothing. The id is named before any flush
// of the epoch: one that starts after the snapshot and lands before the querier reads
// storage must still be excluded, or its records count twice.
// holdingTen starts an ingester whose epochs neither close nor retire by age, with ten
// records (ids 1-10) of tenant a, and returns a range holding them.
func holdingTen(t *testing.T, ch *clickhouse.Client) (i *Ingester, before, far int64) {
	t.Helper()
	i = testIngester(t, ch, t.TempDir(), func(c *Config) {
		c.MaxEpochAge = time.Hour
		c.FlushedRetention = time.Hour
	})
	t.Cleanup(func() { services.StopAndAwaitTerminated(context.Background(), i) })
	before = time.Now().UnixNano()
	pushN(t, i, "a", 0, 10)
	return i, before, time.Now().Add(time.Hour).UnixNano()
}

func TestQueryFlushIDsOnlyWhereStorageMayHoldRows(t *testing.T) {
	ch := chtest.New(t)
	i, before, far := holdingTen(t, ch)
	check := func(when, tenant string, start, end int64, wantEntries, wantIDs int) []uint64 {
		t.Helper()
		entries, ids := i.snapshotLogs(tenant, start, end)
		if len(entries) != wantEntries || len(ids) != wantIDs {
			t.Errorf("%s, tenant %s [%d, %d): %d entries and flush ids %v, want %d and %d ids", when, tenant, start, end, len(entries), ids, wantEntries, wantIDs)
		}
		return ids
	}
	check("other tenant", "b", before, far, 0, 0)
	check("range before the records", "a", 0, before, 0, 0)
	// The querier's view taken before the flush, its storage read after it.
	ids := check("before any flush", "a", before, far, 10, 1)
	if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
		t.Fatalf("%d records still pending after a final flush pass", pending)
	}
	if n := chCountExcluding(t, ch, "a", nil); n != 10 {
		t.Fatalf("ClickHouse holds %d rows of tenant a, want 10", n)
	}
	if n := chCountExcluding(t, ch, "a", ids); n != 0 {
		t.Errorf("memory returned all 10 records before the flush, and storage still counts %d of them excluding %v", n, ids)
	}
	check("after the flush", "a", before, far, 10, 1)
	check("other tenant after the flush", "b", before, far, 0, 0)
}

// TestReleaseCrossingOwnFlushIsStillAnswered: another replica's release of a record can
// arrive while this ingester's insert of it is in flight. Storage then holds the record
// under this ingester's flush id, which the querier excludes while the epoch is named,
// so memory must go on answering for it; the epoch's pending count settles once.
func TestReleaseCrossingOwnFlushIsStillAnswered(t *testing.T) {
	i, before, far := holdingTen(t, chtest.New(t))
	ids := make([]uint64, 10)
	for k := range ids {
		ids[k] = uint64(k + 1)
	}
	now := time.Now()
	i.mu.Lock()
	e := i.cur
	if n := i.release(ids[:3], now); n != 3 { // the other replica's release, first
		t.Fatalf("released %d, want 3", n)
	}
	i.markFlushed(ids, now) // then this ingester's own insert of all ten lands
	pending := e.pending
	i.mu.Unlock()
	if pending != 0 {
		t.Errorf("epoch pending = %d after every record was flushed or released, want 0", pending)
	}
	entries, flushIDs := i.snapshotLogs("a", before, far)
	if len(entries) != 10 || len(flushIDs) != 1 {
		t.Errorf("memory answers %d records with flush ids %v; want all 10 stored under its flush id, and that id", len(entries), flushIDs)
	}
}
