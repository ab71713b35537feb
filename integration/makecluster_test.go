package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/integration/cluster"
)

// TestMakeCluster runs `make cluster` exactly as a user would (on its own addresses, data
// folder and database), sends OTLP load to both distributors, queries both queriers,
// checks Strata's own metrics moved, and stops the cluster with `make cluster-stop`:
// every process must exit on SIGTERM, and ClickHouse then holds exactly one copy.
func TestMakeCluster(t *testing.T) {
	const n, batch, tenant = 50000, 1000, "mk"
	const netPrefix = "127.0.20"
	db := newTestDB(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := append(os.Environ(),
		"STRATA_CLICKHOUSE="+db.cfg.Address, "STRATA_CLUSTER_DB="+db.cfg.Database,
		"STRATA_CLUSTER_NET="+netPrefix, "STRATA_CLUSTER_DIR="+dir,
		"STRATA_CLUSTER_ARGS=-ring.heartbeat-period=1s -memberlist.gossip-interval=100ms -memberlist.pullpush-interval=2s -ingester.max-epoch-age=1s -ingester.release-grace=15s")
	makeCmd := func(target string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-C", root, "--no-print-directory", target)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			out, _ := makeCmd("cluster-stop")
			t.Logf("cleanup: make cluster-stop\n%s", out)
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
			for _, l := range logs {
				p := &cluster.Process{Name: filepath.Base(l), LogPath: l}
				t.Logf("---- %s\n%s", p.Name, p.Tail(20))
			}
		}
	})
	began := time.Now()
	out, err := makeCmd("cluster")
	if err != nil {
		t.Fatalf("make cluster: %v\n%s", err, out)
	}
	t.Logf("make cluster took %s:\n%s", time.Since(began).Round(time.Millisecond), out)
	if out, err := makeCmd("cluster-status"); err != nil {
		t.Fatalf("make cluster-status: %v\n%s", err, out)
	}

	host := func(last int) string { return fmt.Sprintf("%s.%d", netPrefix, last) }
	distributors := []string{host(11), host(12)}
	ingesters := []string{host(21), host(22), host(23)}
	queriers := []*cluster.Process{{Host: host(31), HTTPPort: 3100}, {Host: host(32), HTTPPort: 3100}}
	metricsURL := func(hosts ...string) []string {
		var u []string
		for _, h := range hosts {
			u = append(u, "http://"+h+":3100/metrics")
		}
		return u
	}
	for _, d := range distributors {
		p := &cluster.Process{Host: d, HTTPPort: 3100}
		if err := cluster.Eventually(context.Background(), 60*time.Second, func() error { return ringHasActive(p, 3) }); err != nil {
			t.Fatalf("%s ring: %v", d, err)
		}
	}
	var queriesBefore float64
	for _, u := range metricsURL(host(31), host(32)) {
		v, _ := metricSample(t, u, "strata_querier_request_duration_seconds_count")
		queriesBefore += v
	}

	var res loadResult
	sendLoad(t, []string{distributors[0] + ":4317", distributors[1] + ":4317"}, tenant, n, batch, time.Now().Add(3*time.Minute), &res)
	t.Logf("acknowledged %d logs, %d spans; retryable errors %d, other %d", res.ackedLogs.Load(), res.ackedSpans.Load(), res.retryableErrs.Load(), res.otherErrs.Load())
	if res.ackedLogs.Load() != n || res.ackedSpans.Load() != n {
		t.Fatalf("acknowledged %d logs / %d spans of %d: %v", res.ackedLogs.Load(), res.ackedSpans.Load(), n, res.firstOtherErr.Load())
	}
	// The UI's cluster page shows each ingester's load, asked of the ingesters themselves.
	body, status, err := httpGetTenant(queriers[0].HTTPURL()+"/ui/api/cluster", tenant)
	if err != nil || status != 200 {
		t.Fatalf("/ui/api/cluster: %d %v %s", status, err, body)
	}
	var cl struct {
		Members []struct {
			ID            string  `json:"id"`
			State         string  `json:"state"`
			IngestRate    float64 `json:"ingestRate"`
			MemoryRecords int64   `json:"memoryRecords"`
			WALBytes      int64   `json:"walBytes"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(body), &cl); err != nil {
		t.Fatalf("/ui/api/cluster: %v: %s", err, body)
	}
	var rate float64
	for _, m := range cl.Members {
		if m.State != "ACTIVE" || m.WALBytes == 0 {
			t.Errorf("cluster page member %+v: want ACTIVE with a WAL", m)
		}
		rate += m.IngestRate
	}
	if len(cl.Members) != 3 || rate <= 0 {
		t.Errorf("cluster page: %d members, total ingest rate %.0f/s; want 3 members and a rate above 0: %s", len(cl.Members), rate, body)
	}
	t.Logf("cluster page: ingest rate %.0f records/s over the last 10 s", rate)
	for _, q := range queriers {
		err := cluster.Eventually(context.Background(), time.Minute, func() error {
			got, err := lokiCount(t, q, tenant, `{service_name=~"svc-.*"}`)
			if err != nil {
				return err
			}
			if got != n {
				return fmt.Errorf("count %d, want %d", got, n)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("querier %s: %v", q.Host, err)
		}
	}

	// Strata's own metrics: every acknowledged record is counted once by the distributors,
	// RF=3 replicas received it, and flushes and queries show up.
	accepted := metricsSum(t, metricsURL(distributors...), "strata_distributor_accepted_records_total", `tenant="mk"`, `signal="logs"`)
	if accepted != n {
		t.Errorf("distributors' accepted log records = %v, want %d", accepted, n)
	}
	received := metricsSum(t, metricsURL(ingesters...), "strata_ingester_received_records_total")
	if received < 2*2*n || received > 3*2*n {
		t.Errorf("ingesters received %v records, want between %d (quorum) and %d (RF=3) for %d logs + %d spans", received, 4*n, 6*n, n, n)
	}
	var flushed float64
	if err := cluster.Eventually(context.Background(), time.Minute, func() error {
		flushed = metricsSum(t, metricsURL(ingesters...), "strata_ingester_flushed_records_total", `signal="logs"`)
		if flushed < n {
			return fmt.Errorf("ingesters flushed %v log records, want ≥ %d", flushed, n)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if q := metricsSum(t, metricsURL(host(31), host(32)), "strata_querier_request_duration_seconds_count"); q <= queriesBefore {
		t.Errorf("querier request count did not move: %v then %v", queriesBefore, q)
	}
	if _, err := httpGet("http://" + host(21) + ":3100/metrics"); err != nil {
		t.Fatal(err)
	}
	t.Logf("metrics: accepted %v, received by replicas %v, flushed %v log records", accepted, received, flushed)

	began = time.Now()
	out, err = makeCmd("cluster-stop")
	stopped = true
	t.Logf("make cluster-stop took %s", time.Since(began).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("make cluster-stop: %v\n%s", err, out)
	}
	if c := strings.Count(out, ": stopped"); c != 7 {
		t.Fatalf("make cluster-stop stopped %d of 7 processes cleanly:\n%s", c, out)
	}
	if out, err := makeCmd("cluster-status"); err == nil {
		t.Fatalf("cluster-status succeeded after stop:\n%s", out)
	}
	db.waitCount(t, time.Minute, n, "SELECT count() FROM %s.logs WHERE tenant = 'mk'")
	db.waitCount(t, time.Minute, n, "SELECT uniqExact(id) FROM %s.spans WHERE tenant = 'mk'")
	t.Logf("after make cluster-stop: %d logs and %d spans in ClickHouse", n, db.count(t, "SELECT count() FROM %s.spans WHERE tenant = 'mk'"))
}
