package integration

import (
	"context"
	"fmt"
	"github.com/strataobs/strata/integration/cluster"
	"testing"
	"time"
)

// TestClusterIngesterKill9: during the load, one ingester is killed with SIGKILL and
// restarted from its WAL. Every acknowledged record must be in ClickHouse afterwards;
// extra rows (repeats the failure caused) are reported.
func TestClusterIngesterKill9(t *testing.T) {
	const n, batch = 200000, 1000
	db := newTestDB(t)
	c := startCluster(t, db)
	addrs := []string{c.distributors[0].OTLPGRPCAddr(), c.distributors[1].OTLPGRPCAddr()}
	var res loadResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendLoad(t, addrs, "crash", n, batch, time.Now().Add(5*time.Minute), &res)
	}()
	// Kill once a third of the load is acknowledged, then restart from the same WAL.
	victim := c.ingesters[1]
	for res.ackedLogs.Load() < n/3 {
		select {
		case <-done:
			t.Fatal("load finished before the kill")
		case <-time.After(20 * time.Millisecond):
		}
	}
	victim.Kill9()
	t.Logf("killed %s after %d acknowledged log records", victim.Name, res.ackedLogs.Load())
	time.Sleep(2 * time.Second)
	victim.Start(cluster.Binary(t))
	<-done
	acked := res.ackedLogs.Load()
	t.Logf("acknowledged %d logs and %d spans; retryable errors %d, other errors %d", acked, res.ackedSpans.Load(), res.retryableErrs.Load(), res.otherErrs.Load())
	if res.otherErrs.Load() != 0 {
		t.Fatalf("clients saw non-retryable errors: %v", res.firstOtherErr.Load())
	}
	if acked != n || res.ackedSpans.Load() != n {
		t.Fatalf("only %d logs / %d spans of %d acknowledged within the deadline", acked, res.ackedSpans.Load(), n)
	}
	db.waitCount(t, 3*time.Minute, uint64(n), "SELECT uniqExact(id) FROM %s.logs WHERE tenant = 'crash'")
	db.waitCount(t, 3*time.Minute, uint64(n), "SELECT uniqExact(id) FROM %s.spans WHERE tenant = 'crash'")
	logs := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = 'crash'")
	spans := db.count(t, "SELECT count() FROM %s.spans WHERE tenant = 'crash'")
	t.Logf("every acknowledged record stored; extra rows from the failure: logs %d (%.3f%%), spans %d (%.3f%%)",
		logs-uint64(n), 100*float64(logs-uint64(n))/n, spans-uint64(n), 100*float64(spans-uint64(n))/n)
	// The read path stays exact after the crash: repeats in storage and the restarted
	// replica's replayed memory must not show up in counts or lines.
	if err := checkManifest(c.querier, "crash", loadManifest(n, batch)); err != nil {
		t.Errorf("after kill -9: %v", err)
		explainManifest(t, db, c.querier, "crash", loadManifest(n, batch))
	}
	// Where the repeats come from: flush ids carry the writing process's random high half.
	rows, err := db.conn(t).Conn().Query(context.Background(), fmt.Sprintf(`SELECT bitShiftRight(flush_id, 32) AS writer, count() AS rows
		FROM %s.logs WHERE tenant = 'crash' AND id IN (SELECT id FROM %s.logs WHERE tenant = 'crash' GROUP BY id HAVING count() > 1)
		GROUP BY writer ORDER BY writer`, db.cfg.Database, db.cfg.Database))
	if err == nil {
		for rows.Next() {
			var w, n uint64
			rows.Scan(&w, &n)
			t.Logf("duplicated log rows written by process %08x: %d", w, n)
		}
		rows.Close()
	}
}
