package ingester

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
	"github.com/strataobs/strata/wal"

	"github.com/strataobs/strata/wal/waltest"
)

func testIngester(t *testing.T, store Store, dir string, mut func(*Config)) *Ingester {
	t.Helper()
	var cfg Config
	flagext.DefaultValues(&cfg)
	cfg.WAL.Dir = dir
	cfg.FlushCheckPeriod = 20 * time.Millisecond
	cfg.MaxEpochAge = 50 * time.Millisecond
	cfg.FlushedRetention = 0
	cfg.FlushConcurrency = 2 // the concurrent flush path, off by default, runs in every test
	if mut != nil {
		mut(&cfg)
	}
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	i := New(cfg, store, limits.NewOverrides(lim), nil, nil, prometheus.NewRegistry(), log.NewNopLogger())
	if err := services.StartAndAwaitRunning(context.Background(), i); err != nil {
		t.Fatal(err)
	}
	return i
}

func pushN(t *testing.T, i *Ingester, tenant string, from, n int) {
	t.Helper()
	if err := tryPushN(i, tenant, from, n); err != nil {
		t.Fatal(err)
	}
}

// tryPushN pushes records from+1 .. from+n of one stream; safe off the test's goroutine.
func tryPushN(i *Ingester, tenant string, from, n int) error {
	ts := time.Now().UnixNano()
	req := &pb.PushRequest{Tenant: tenant, Resources: []*pb.Resource{{ServiceName: "svc"}}}
	st := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}}, Placement: &pb.Placement{Rank: 0}}
	for k := from; k < from+n; k++ {
		st.Records = append(st.Records, &pb.LogRecord{Id: uint64(k + 1), Timestamp: ts + int64(k), Body: fmt.Sprintf("line %d", k)})
	}
	req.Streams = []*pb.LogStream{st}
	_, err := i.Push(context.Background(), req)
	return err
}

func countLogs(t *testing.T, c *clickhouse.Client, tenant string) uint64 {
	t.Helper()
	var n uint64
	if err := c.Conn().QueryRow(context.Background(), fmt.Sprintf("SELECT count() FROM %s.logs WHERE tenant = ?", c.Database()), tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitLogs(t *testing.T, c *clickhouse.Client, tenant string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := countLogs(t, c, tenant)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s: %d rows, want %d", tenant, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplayFlushesUnflushedRecords: records acknowledged but never flushed (the process
// "crashed") are flushed by the ingester that replays the WAL.
func TestReplayFlushesUnflushedRecords(t *testing.T) {
	ch := chtest.New(t)
	dir := t.TempDir()
	a := testIngester(t, ch, filepath.Join(dir, "a"), func(c *Config) { c.MaxEpochAge = time.Hour; c.MaxEpochRecords = 1 << 30 })
	pushN(t, a, "replay", 0, 500)
	pushN(t, a, "replay", 500, 500)
	waltest.CopyDir(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if n := countLogs(t, ch, "replay"); n != 0 {
		t.Fatalf("%d rows flushed before the crash, want 0", n)
	}
	b := testIngester(t, ch, filepath.Join(dir, "b"), nil)
	defer services.StopAndAwaitTerminated(context.Background(), b)
	waitLogs(t, ch, "replay", 1000)
}

// TestReplayDoesNotRepeatFlushed: flush markers in the WAL keep a restarted ingester from
// inserting records it already flushed.
func TestReplayDoesNotRepeatFlushed(t *testing.T) {
	ch := chtest.New(t)
	dir := t.TempDir()
	a := testIngester(t, ch, filepath.Join(dir, "a"), nil)
	pushN(t, a, "flushed", 0, 300)
	waitLogs(t, ch, "flushed", 300)
	waltest.CopyDir(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	b := testIngester(t, ch, filepath.Join(dir, "b"), nil)
	pushN(t, b, "flushed", 300, 100) // new records still flow and mark progress
	waitLogs(t, ch, "flushed", 400)
	services.StopAndAwaitTerminated(context.Background(), b)
	if n := countLogs(t, ch, "flushed"); n != 400 {
		t.Fatalf("%d rows after restart, want 400 (no repeats)", n)
	}
}

// TestDuplicatePushIsStoredOnce: a client retry of the same records (same ids) is not
// stored twice.
func TestDuplicatePushIsStoredOnce(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.MaxEpochAge = 300 * time.Millisecond; c.FlushedRetention = time.Minute })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	pushN(t, i, "dup", 0, 100)
	pushN(t, i, "dup", 0, 100)
	waitLogs(t, ch, "dup", 100)
}

// TestEarlyReleaseDropsLateCopy: a release that arrives before the record (a replica
// lagging behind the owner) still keeps this replica from flushing its copy.
func TestEarlyReleaseDropsLateCopy(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.ReleaseGrace = 10 * time.Millisecond })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	if _, err := i.Release(context.Background(), &pb.ReleaseRequest{Tenant: "early", FlushId: 1, LogIds: []uint64{1, 2}}); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UnixNano()
	req := &pb.PushRequest{Tenant: "early", Resources: []*pb.Resource{{ServiceName: "svc"}}, Streams: []*pb.LogStream{{
		StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}},
		Placement: &pb.Placement{Rank: 1, Replicas: []string{"owner:1", "me:1"}},
		Records:   []*pb.LogRecord{{Id: 1, Timestamp: ts, Body: "a"}, {Id: 2, Timestamp: ts, Body: "b"}, {Id: 3, Timestamp: ts, Body: "c"}},
	}}}
	if _, err := i.Push(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	// Record 3 was never released: this rank-1 replica flushes it after its grace.
	waitLogs(t, ch, "early", 1)
	time.Sleep(300 * time.Millisecond)
	if n := countLogs(t, ch, "early"); n != 1 {
		t.Fatalf("%d rows, want only the unreleased record", n)
	}
}

// TestReplayResolvesInterruptedFlush: the process died after a flush intent but before
// its marker. Replay asks storage: ids already stored under that flush id are not
// inserted again, the others are.
func TestReplayResolvesInterruptedFlush(t *testing.T) {
	ch := chtest.New(t)
	dir := t.TempDir()
	ts := time.Now().UnixNano()
	stream := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}}, Placement: &pb.Placement{}}
	res := &pb.Resource{ServiceName: "svc"}
	var recs []*pb.LogRecord
	for k := 0; k < 10; k++ {
		recs = append(recs, &pb.LogRecord{Id: uint64(100 + k), Timestamp: ts + int64(k), Body: fmt.Sprintf("line %d", k)})
	}
	const landed, lost = uint64(7001), uint64(7002) // flush ids: one insert landed, one did not
	w, err := wal.Open(wal.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(nil); err != nil {
		t.Fatal(err)
	}
	push, _ := encodePush(&pb.PushRequest{Tenant: "intent", Resources: []*pb.Resource{res},
		Streams: []*pb.LogStream{{StreamId: 1, Labels: stream.Labels, Placement: stream.Placement, Records: recs}}})
	appendRec := func(b []byte) {
		if _, err := w.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	appendRec(withHeader(recPush, landed, push))
	appendRec(withHeader(recFlushIntent, landed, encodeIDs([]uint64{100, 101, 102, 103, 104})))
	appendRec(withHeader(recFlushIntent, lost, encodeIDs([]uint64{105, 106, 107, 108, 109})))
	w.Close()
	var b clickhouse.LogBatch
	for _, r := range recs[:5] {
		b.Add("intent", 30, landed, stream, res, r)
	}
	if err := ch.WriteLogs(context.Background(), &b); err != nil {
		t.Fatal(err)
	}

	i := testIngester(t, ch, dir, nil)
	defer services.StopAndAwaitTerminated(context.Background(), i)
	waitLogs(t, ch, "intent", 10)
	time.Sleep(200 * time.Millisecond)
	if n := countLogs(t, ch, "intent"); n != 10 {
		t.Fatalf("%d rows, want 10: the landed half must not be inserted again", n)
	}
}

// TestFallbackSkipsWhatOwnerStored: the owner stored records but its release never came
// (this replica was down, or the release was lost). The replica's fallback finds them in
// storage and does not insert them again; what the owner did not store, it flushes.
func TestFallbackSkipsWhatOwnerStored(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.ReleaseGrace = 10 * time.Millisecond })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	ts := time.Now().UnixNano()
	stream := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}},
		Placement: &pb.Placement{Rank: 1, Replicas: []string{"owner:1", "me:1"}}}
	res := &pb.Resource{ServiceName: "svc"}
	recs := []*pb.LogRecord{{Id: 11, Timestamp: ts, Body: "a"}, {Id: 12, Timestamp: ts + 1, Body: "b"}, {Id: 13, Timestamp: ts + 2, Body: "c"}}
	var owner clickhouse.LogBatch
	owner.Add("fb", 30, 424242, stream, res, recs[0])
	owner.Add("fb", 30, 424242, stream, res, recs[1])
	if err := ch.WriteLogs(context.Background(), &owner); err != nil {
		t.Fatal(err)
	}
	req := &pb.PushRequest{Tenant: "fb", Resources: []*pb.Resource{res}, Streams: []*pb.LogStream{{
		StreamId: 1, Labels: stream.Labels, Placement: stream.Placement, Records: recs}}}
	if _, err := i.Push(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	waitLogs(t, ch, "fb", 3)
	time.Sleep(300 * time.Millisecond)
	if n := countLogs(t, ch, "fb"); n != 3 {
		t.Fatalf("%d rows, want 3 (2 by the owner, 1 by the fallback)", n)
	}
}

// RPCs reaching an ingester before it runs (gRPC is served while the WAL is still being
// opened and replayed) are refused as retryable: a release is not a crash, and a query is
// not answered from a partial memory (whose flush ids would hide the rest of those
// flushes in ClickHouse).
func TestRPCsBeforeRunningAreRefused(t *testing.T) {
	var cfg Config
	flagext.DefaultValues(&cfg)
	cfg.WAL.Dir = t.TempDir()
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	i := New(cfg, nil, limits.NewOverrides(lim), nil, nil, prometheus.NewRegistry(), log.NewNopLogger())
	if _, err := i.Release(context.Background(), &pb.ReleaseRequest{Tenant: "t", FlushId: 1, LogIds: []uint64{1}}); status.Code(err) != codes.Unavailable {
		t.Fatalf("release before running: %v, want Unavailable", err)
	}
	if err := i.QueryLogs(&pb.QueryLogsRequest{}, nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("log query before running: %v, want Unavailable", err)
	}
	if err := i.QuerySpans(&pb.QuerySpansRequest{}, nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("span query before running: %v, want Unavailable", err)
	}
}

// encodePush marshals req after room for a WAL record header, as withHeader wants.
func encodePush(req *pb.PushRequest) ([]byte, error) {
	return proto.MarshalOptions{}.MarshalAppend(make([]byte, recHeader, recHeader+proto.Size(req)), req)
}

// TestFallbackRepeatsRowsUnderItsOwnFlushID: rows a replica's own earlier attempt left
// under its flush id (an insert that failed late) are not another replica's copy. Taking
// them for one marked the records released while the replica named the epoch whose rows
// the querier excludes: counted nowhere.
func TestFallbackRepeatsRowsUnderItsOwnFlushID(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) {
		c.ReleaseGrace = 10 * time.Millisecond
		c.FlushedRetention = time.Hour
	})
	defer services.StopAndAwaitTerminated(context.Background(), i)
	ts := time.Now().UnixNano()
	stream := &pb.LogStream{StreamId: 1, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}},
		Placement: &pb.Placement{Rank: 1, Replicas: []string{"owner:1", "me:1"}}}
	res := &pb.Resource{ServiceName: "svc"}
	recs := []*pb.LogRecord{{Id: 21, Timestamp: ts, Body: "a"}, {Id: 22, Timestamp: ts + 1, Body: "b"}, {Id: 23, Timestamp: ts + 2, Body: "c"}}
	i.mu.Lock()
	own := i.cur.id // the epoch the push below lands in
	i.mu.Unlock()
	var early clickhouse.LogBatch
	early.Add("self", 30, own, stream, res, recs[0])
	early.Add("self", 30, own, stream, res, recs[1])
	if err := ch.WriteLogs(context.Background(), &early); err != nil {
		t.Fatal(err)
	}
	req := &pb.PushRequest{Tenant: "self", Resources: []*pb.Resource{res}, Streams: []*pb.LogStream{{
		StreamId: 1, Labels: stream.Labels, Placement: stream.Placement, Records: recs}}}
	if _, err := i.Push(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	waitLogs(t, ch, "self", 5) // the two early rows, and all three from the fallback
	entries, flushIDs := i.snapshotLogs("self", ts, ts+3)
	if len(entries) != 3 || len(flushIDs) != 1 || flushIDs[0] != own {
		t.Errorf("memory answers %d records with flush ids %v; want all 3 under flush id %d", len(entries), flushIDs, own)
	}
	if n := chCountExcluding(t, ch, "self", flushIDs); n != 0 {
		t.Errorf("storage counts %d rows outside the flush ids memory answers for", n)
	}
}

// TestReplayKeepsLocatedPushes: a push handed over with its records located goes to the
// WAL whole, so an ingester replaying the WAL flushes every record of it.
func TestReplayKeepsLocatedPushes(t *testing.T) {
	ch := chtest.New(t)
	dir := t.TempDir()
	a := testIngester(t, ch, filepath.Join(dir, "a"), func(c *Config) { c.MaxEpochAge = time.Hour; c.MaxEpochRecords = 1 << 30 })
	ts := time.Now().UnixNano()
	req := &pb.PushRequest{Tenant: "located", Resources: []*pb.Resource{{ServiceName: "a"}, {ServiceName: "b"}}}
	for s := range 3 {
		st := &pb.LogStream{StreamId: uint64(s + 1), Labels: []*pb.Label{{Name: "service_name", Value: "a"}}}
		for k := range 100 {
			st.Records = append(st.Records, &pb.LogRecord{Id: uint64(1000*s + k + 1), Timestamp: ts + int64(k), Body: fmt.Sprintf("line %d", k), Resource: uint32(k % 2)})
		}
		req.Streams = append(req.Streams, st)
	}
	raw, headLen := logsOnly(t, req)
	if _, err := a.PushLocated(context.Background(), locate(t, raw, headLen)); err != nil {
		t.Fatal(err)
	}
	waltest.CopyDir(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	b := testIngester(t, ch, filepath.Join(dir, "b"), nil)
	defer services.StopAndAwaitTerminated(context.Background(), b)
	waitLogs(t, ch, "located", 300)
}
