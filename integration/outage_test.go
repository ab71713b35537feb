package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/flagext"

	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
)

// privateClickHouse runs a ClickHouse server of the test's own (scripts/clickhouse with
// its own data directory and port), so the test can stop it without disturbing others.
type privateClickHouse struct {
	t    *testing.T
	dir  string
	port int
}

func startPrivateClickHouse(t *testing.T) *privateClickHouse {
	ch := &privateClickHouse{t: t, dir: filepath.Join(t.TempDir(), "clickhouse"), port: cluster.FreePort(t, "127.0.0.1")}
	ch.run("start")
	t.Cleanup(func() { ch.run("stop") })
	return ch
}

func (ch *privateClickHouse) addr() string { return "127.0.0.1:" + strconv.Itoa(ch.port) }

func (ch *privateClickHouse) run(action string) {
	ch.t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(ch.t), "scripts", "clickhouse"), action)
	cmd.Env = append(os.Environ(), "STRATA_CH_DIR="+ch.dir, "STRATA_CH_PORT="+strconv.Itoa(ch.port),
		"STRATA_CH_HTTP_PORT="+strconv.Itoa(cluster.FreePort(ch.t, "127.0.0.1")))
	if out, err := cmd.CombinedOutput(); err != nil {
		ch.t.Fatalf("scripts/clickhouse %s: %v\n%s", action, err, out)
	}
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd) // tests run in integration/
}

// TestClickHouseOutage stops ClickHouse for 60 s under load and starts it again. Every
// acknowledged record must land, and while the ingester's buffers were full clients saw
// only retryable errors.
func TestClickHouseOutage(t *testing.T) {
	ch := startPrivateClickHouse(t)
	var cfg clickhouse.Config
	flagext.DefaultValues(&cfg)
	cfg.Address, cfg.Database = ch.addr(), "strata_outage"
	db := &testDB{cfg: cfg}
	t.Cleanup(func() {
		if db.client != nil {
			db.client.Close()
		}
	})

	// A small memory limit, so buffers fill early in the outage; not smaller, since the
	// process's own needs count too (the live heap is watched as well as the records, and
	// each insert connection keeps the buffer of its largest flush).
	p := cluster.NewProcess(t, "aio", "127.0.0.1", t.TempDir(), "-target=all", "-clickhouse.address="+ch.addr(), db.flag(),
		"-ingester.max-epoch-age=500ms", "-ingester.max-memory-bytes=67108864", "-ingester.max-flush-backoff=2s")
	p.Start(cluster.Binary(t))

	const n, batch = 3000000, 1000
	var res loadResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendLoad(t, []string{p.OTLPGRPCAddr()}, "outage", n, batch, time.Now().Add(90*time.Second), &res)
	}()
	time.Sleep(10 * time.Second)
	beforeStop := res.ackedLogs.Load()
	ch.run("stop")
	stopped := time.Now()
	time.Sleep(60 * time.Second)
	duringOutage := res.ackedLogs.Load() - beforeStop
	retryableDuring := res.retryableErrs.Load()
	ch.run("start")
	t.Logf("ClickHouse down for %s; acknowledged %d log records before, %d during the outage; retryable errors so far %d",
		time.Since(stopped).Round(time.Second), beforeStop, duringOutage, retryableDuring)
	<-done

	acked := res.ackedLogs.Load()
	t.Logf("acknowledged %d logs and %d spans in all; retryable errors %d, other errors %d",
		acked, res.ackedSpans.Load(), res.retryableErrs.Load(), res.otherErrs.Load())
	if res.otherErrs.Load() != 0 {
		t.Fatalf("clients saw non-retryable errors: %v", res.firstOtherErr.Load())
	}
	if retryableDuring == 0 {
		t.Fatalf("no push-back during a 60 s outage: buffers never filled (acked %d during it)", duringOutage)
	}
	db.waitCount(t, 3*time.Minute, uint64(acked), "SELECT uniqExact(id) FROM %s.logs WHERE tenant = 'outage'")
	db.waitCount(t, 3*time.Minute, uint64(res.ackedSpans.Load()), "SELECT uniqExact(id) FROM %s.spans WHERE tenant = 'outage'")
	if m, err := httpGet(p.HTTPURL() + "/metrics"); err != nil || !strings.Contains(m, "strata_ingester_flush_errors_total") || strings.Contains(m, "strata_ingester_flush_errors_total 0\n") {
		t.Errorf("the ingester's flush error counter did not move during the outage (err %v)", err)
	}
	if m, _ := httpGet(p.HTTPURL() + "/metrics"); !strings.Contains(m, `strata_ingester_refused_pushes_total{reason="memory"}`) {
		t.Errorf("the ingester never refused a push for memory during the outage")
	}
	// Its only ingester full, the process refuses pushes before reading them.
	if m, _ := httpGet(p.HTTPURL() + "/metrics"); !strings.Contains(m, "strata_distributor_pushed_back_requests_total") || strings.Contains(m, "strata_distributor_pushed_back_requests_total 0\n") {
		t.Errorf("no push was refused before it was read during the outage")
	}
	rows := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = 'outage'")
	t.Logf("every acknowledged record landed; %d log rows for %d acknowledged (%d repeats)", rows, acked, rows-uint64(acked))
}
