package integration

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strataobs/strata/integration/cluster"
)

// TestClusterRollingRestart restarts each ingester in turn (SIGTERM, wait for exit, start
// from the same WAL and tokens) while load runs and a querier is asked for counts the
// whole time. No acknowledged record may be lost, and queries may fail only retryably.
func TestClusterRollingRestart(t *testing.T) {
	const maxN, batch, tenant = 2000000, 1000, "roll"
	db := newTestDB(t)
	c := startCluster(t, db)
	addrs := []string{c.distributors[0].OTLPGRPCAddr(), c.distributors[1].OTLPGRPCAddr()}
	var res loadResult
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		sendLoadUntil(t, addrs, tenant, maxN, batch, time.Now().Add(6*time.Minute), stop, &res)
	}()

	// Queries during the roll: any answer other than 200 or a retryable 429/503 fails.
	var queries, retryable atomic.Int64
	var queryErrMu sync.Mutex
	var queryErrs []string
	queryStop := make(chan struct{})
	queryDone := make(chan struct{})
	go func() {
		defer close(queryDone)
		for {
			select {
			case <-queryStop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			queries.Add(1)
			_, err := lokiCount(t, c.querier, tenant, `{service_name=~"svc-.*"}`)
			if err == nil {
				continue
			}
			if msg := err.Error(); strings.HasPrefix(msg, "status 429") || strings.HasPrefix(msg, "status 503") {
				retryable.Add(1)
				continue
			}
			queryErrMu.Lock()
			queryErrs = append(queryErrs, err.Error())
			queryErrMu.Unlock()
		}
	}()

	waitAcked := func(n int64) {
		for res.ackedLogs.Load() < n {
			select {
			case <-loadDone:
				t.Fatalf("load ended early: %v", res.firstOtherErr.Load())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	bin := cluster.Binary(t)
	waitAcked(20000)
	for _, ing := range c.ingesters {
		before := res.ackedLogs.Load()
		start := time.Now()
		if err := ing.Stop(2 * time.Minute); err != nil {
			t.Fatalf("graceful stop of %s: %v\n%s", ing.Name, err, ing.Tail(30))
		}
		stopped := time.Since(start)
		ing.Start(bin)
		for _, d := range c.distributors {
			if err := cluster.Eventually(context.Background(), time.Minute, func() error { return ringHasActive(d, 3) }); err != nil {
				t.Fatalf("%s after restarting %s: %v", d.Name, ing.Name, err)
			}
		}
		t.Logf("restarted %s: stop took %s, back ACTIVE after %s; %d log records acknowledged meanwhile",
			ing.Name, stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), res.ackedLogs.Load()-before)
		// Let the restarted ingester take writes before the next one goes.
		waitAcked(res.ackedLogs.Load() + 10000)
	}
	close(stop)
	<-loadDone
	close(queryStop)
	<-queryDone

	acked := res.ackedLogs.Load()
	t.Logf("acknowledged %d logs and %d spans; write errors: retryable %d, other %d; queries %d, retryable failures %d",
		acked, res.ackedSpans.Load(), res.retryableErrs.Load(), res.otherErrs.Load(), queries.Load(), retryable.Load())
	if res.otherErrs.Load() != 0 {
		t.Fatalf("clients saw non-retryable write errors: %v", res.firstOtherErr.Load())
	}
	if len(queryErrs) > 0 {
		t.Fatalf("%d queries failed non-retryably, first: %s", len(queryErrs), queryErrs[0])
	}
	if acked%batch != 0 || res.ackedSpans.Load() != acked {
		t.Fatalf("load ended inside a batch (deadline?): %d logs, %d spans", acked, res.ackedSpans.Load())
	}
	db.waitCount(t, 3*time.Minute, uint64(acked), "SELECT uniqExact(id) FROM %s.logs WHERE tenant = 'roll'")
	db.waitCount(t, 3*time.Minute, uint64(acked), "SELECT uniqExact(id) FROM %s.spans WHERE tenant = 'roll'")
	logs := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = 'roll'")
	spans := db.count(t, "SELECT count() FROM %s.spans WHERE tenant = 'roll'")
	t.Logf("every acknowledged record stored; extra rows from the roll: logs %d, spans %d", logs-uint64(acked), spans-uint64(acked))
	var promoted float64
	for _, ing := range c.ingesters {
		v, _ := metricSample(t, ing.HTTPURL()+"/metrics", "strata_ingester_promoted_records_total")
		promoted += v
	}
	t.Logf("records promoted to the next replica after their owner refused them (since the last restarts): %.0f", promoted)
	got, err := lokiCount(t, c.querier, tenant, `{service_name=~"svc-.*"}`)
	if err != nil || got != acked {
		t.Fatalf("querier count after the roll = %d (%v), want %d", got, err, acked)
	}
}
