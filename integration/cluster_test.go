package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/strataobs/strata/integration/cluster"
)

// testCluster is 3 ingesters and 2 distributors as separate processes on 127.0.0.2-6,
// sharing a memberlist ring.
type testCluster struct {
	ingesters    []*cluster.Process
	distributors []*cluster.Process
	querier      *cluster.Process
}

func startCluster(t *testing.T, db *testDB, extra ...string) *testCluster {
	bin := cluster.Binary(t)
	root := t.TempDir()
	c := &testCluster{}
	common := append([]string{db.flag(), "-ring.heartbeat-period=1s", "-ring.heartbeat-timeout=15s",
		"-memberlist.gossip-interval=100ms", "-memberlist.pullpush-interval=2s",
		"-ingester.max-epoch-age=1s", "-ingester.release-grace=15s", "-ingester.flushed-retention=2s"}, extra...)
	// Every process joins through all three ingesters, as a DNS name of a headless service
	// would resolve in Kubernetes: a restarted ingester must find the others, not just itself.
	var join []string
	for i := 0; i < 3; i++ {
		host := fmt.Sprintf("127.0.0.%d", 2+i)
		p := cluster.NewProcess(t, fmt.Sprintf("ingester-%d", i+1), host, root)
		join = append(join, "-memberlist.join="+p.MemberlistAddr())
		c.ingesters = append(c.ingesters, p)
	}
	for _, p := range c.ingesters {
		p.Args = append(append(append([]string{"-target=ingester"}, join...), common...), p.Args...)
	}
	for i := 0; i < 2; i++ {
		host := fmt.Sprintf("127.0.0.%d", 5+i)
		p := cluster.NewProcess(t, fmt.Sprintf("distributor-%d", i+1), host, root)
		p.Args = append(append([]string{"-target=distributor"}, join...), common...)
		c.distributors = append(c.distributors, p)
	}
	c.querier = cluster.NewProcess(t, "querier", "127.0.0.7", root)
	c.querier.Args = append(append([]string{"-target=querier"}, join...), common...)
	var wg sync.WaitGroup
	for _, p := range append(append([]*cluster.Process{c.querier}, c.ingesters...), c.distributors...) {
		wg.Add(1)
		go func() { defer wg.Done(); p.Start(bin) }()
	}
	wg.Wait()
	// Distributors must see all three ingesters ACTIVE before RF=3 writes can reach quorum everywhere.
	for _, d := range c.distributors {
		if err := cluster.Eventually(context.Background(), 60*time.Second, func() error { return ringHasActive(d, 3) }); err != nil {
			t.Fatalf("%s ring: %v\n%s", d.Name, err, d.Tail(20))
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range append(append(c.ingesters, c.distributors...), c.querier) {
				t.Logf("---- %s log tail\n%s", p.Name, p.Tail(30))
			}
		}
	})
	return c
}

func ringHasActive(p *cluster.Process, n int) error {
	body, err := httpGet(p.HTTPURL() + "/ring")
	if err != nil {
		return err
	}
	if got := strings.Count(body, ">ACTIVE<"); got < n {
		return fmt.Errorf("%d ACTIVE ingesters in the ring, want %d", got, n)
	}
	return nil
}

// loadResult counts what the load generator got acknowledged.
type loadResult struct {
	ackedLogs, ackedSpans    atomic.Int64
	retryableErrs, otherErrs atomic.Int64
	firstOtherErr            atomic.Value
}

// sendLoad sends n log records and n spans with unique content in batches of batch,
// spread over the distributors' gRPC receivers, retrying retryable failures like an
// OTLP exporter would. It is bounded in count and in time (deadline).
func sendLoad(t *testing.T, addrs []string, tenant string, n, batch int, deadline time.Time, res *loadResult) {
	t.Helper()
	sendLoadUntil(t, addrs, tenant, n, batch, deadline, nil, res)
}

// sendLoadUntil is sendLoad that also ends when stop closes. A worker checks stop only
// before it takes a new batch and retries a taken batch until it is acknowledged, so the
// acknowledged records are exactly the ids below ackedLogs (unless the deadline passed).
func sendLoadUntil(t *testing.T, addrs []string, tenant string, n, batch int, deadline time.Time, stop <-chan struct{}, res *loadResult) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	base := time.Now().Add(-time.Minute)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := grpcConn(t, addrs[w%len(addrs)])
			lc, tc := plogotlp.NewGRPCClient(cc), ptraceotlp.NewGRPCClient(cc)
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := int(next.Add(1) - 1)
				if b*batch >= n || time.Now().After(deadline) {
					return
				}
				ld, td := loadBatch(b, batch, base)
				for attempt := 0; ; attempt++ {
					_, err := lc.Export(tenantCtx(tenant), plogotlp.NewExportRequestFromLogs(ld))
					if err == nil {
						res.ackedLogs.Add(int64(batch))
						break
					}
					if !res.classify(err) || time.Now().After(deadline) {
						break
					}
					time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
				}
				for attempt := 0; ; attempt++ {
					_, err := tc.Export(tenantCtx(tenant), ptraceotlp.NewExportRequestFromTraces(td))
					if err == nil {
						res.ackedSpans.Add(int64(batch))
						break
					}
					if !res.classify(err) || time.Now().After(deadline) {
						break
					}
					time.Sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

// classify counts an export error and reports whether it is retryable.
func (r *loadResult) classify(err error) bool {
	msg := err.Error()
	if strings.Contains(msg, "Unavailable") || strings.Contains(msg, "ResourceExhausted") {
		r.retryableErrs.Add(1)
		return true
	}
	r.otherErrs.Add(1)
	r.firstOtherErr.CompareAndSwap(nil, msg)
	return false
}

// loadSeverity and loadBody give record seq of the load its level and body: one in ten
// is an error, two in ten warnings, and one in 2,500 carries a needle (needle-0..3).
func loadSeverity(seq int) plog.SeverityNumber {
	switch seq % 10 {
	case 0:
		return plog.SeverityNumberError
	case 1, 2:
		return plog.SeverityNumberWarn
	}
	return plog.SeverityNumberInfo
}

func loadBody(seq int) string {
	if seq%2500 == 7 {
		return fmt.Sprintf("request %d failed needle-%d path=/api/items/%d", seq, (seq/2500)%4, seq%977)
	}
	return fmt.Sprintf("request %d handled path=/api/items/%d status=200 duration=%dms", seq, seq%977, seq%300)
}

// loadBatch builds batch b: batch log records over 20 services, and batch spans in
// traces of 10 spans. Every record and span is unique.
func loadBatch(b, batch int, base time.Time) (plog.Logs, ptrace.Traces) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", b%20))
	sl := rl.ScopeLogs().AppendEmpty()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", b%20))
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < batch; i++ {
		seq := b*batch + i
		ts := pcommon.NewTimestampFromTime(base.Add(time.Duration(seq) * time.Microsecond))
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts)
		lr.SetSeverityNumber(loadSeverity(seq))
		lr.Body().SetStr(loadBody(seq))
		lr.Attributes().PutInt("seq", int64(seq))
		sp := ss.Spans().AppendEmpty()
		var tid pcommon.TraceID
		tid[0], tid[1], tid[2], tid[3], tid[15] = byte(seq/10>>24), byte(seq/10>>16), byte(seq/10>>8), byte(seq/10), 0xee
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{1, byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq), 0, 0, 1})
		sp.SetName(fmt.Sprintf("op-%d", seq%7))
		sp.SetStartTimestamp(ts)
		sp.SetEndTimestamp(ts + 1000)
	}
	return ld, td
}

// TestClusterStoresOneCopy: with RF=3 over three ingester processes, N unique log records
// and N unique spans end up in ClickHouse exactly once each: N rows, not 3N.
func TestClusterStoresOneCopy(t *testing.T) {
	const n, batch = 200000, 1000
	db := newTestDB(t)
	c := startCluster(t, db)
	var res loadResult
	start := time.Now()
	sendLoad(t, []string{c.distributors[0].OTLPGRPCAddr(), c.distributors[1].OTLPGRPCAddr()}, "load", n, batch, time.Now().Add(5*time.Minute), &res)
	t.Logf("sent %d logs and %d spans in %s (retryable errors %d)", res.ackedLogs.Load(), res.ackedSpans.Load(), time.Since(start), res.retryableErrs.Load())
	if res.ackedLogs.Load() != n || res.ackedSpans.Load() != n || res.otherErrs.Load() != 0 {
		t.Fatalf("acknowledged %d logs, %d spans of %d; non-retryable errors %d (first: %v)", res.ackedLogs.Load(), res.ackedSpans.Load(), n, res.otherErrs.Load(), res.firstOtherErr.Load())
	}
	db.waitCount(t, 2*time.Minute, n, "SELECT count() FROM %s.logs WHERE tenant = 'load'")
	db.waitCount(t, 2*time.Minute, n, "SELECT count() FROM %s.spans WHERE tenant = 'load'")
	// Past every replica's fallback (2 × release-grace) nothing more may arrive.
	time.Sleep(32 * time.Second)
	logs := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = 'load'")
	spans := db.count(t, "SELECT count() FROM %s.spans WHERE tenant = 'load'")
	distinct := db.count(t, "SELECT uniqExact(id) FROM %s.logs WHERE tenant = 'load'")
	t.Logf("ClickHouse holds %d log rows (%d distinct ids) and %d span rows for %d acknowledged each", logs, distinct, spans, n)
	if logs != n || spans != n || distinct != n {
		t.Fatalf("want exactly %d rows of each with distinct ids; got logs=%d distinct=%d spans=%d", n, logs, distinct, spans)
	}
}
