package integration

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/strataobs/strata/integration/cluster"
)

// lokiCount asks the querier for sum(count_over_time(...)) over the last hour.
func lokiCount(t *testing.T, q *cluster.Process, tenant, selector string) (int64, error) {
	t.Helper()
	v := url.Values{}
	v.Set("query", fmt.Sprintf("sum(count_over_time(%s[2h]))", selector))
	v.Set("time", strconv.FormatInt(time.Now().UnixNano(), 10))
	body, status, err := httpGetTenant(q.HTTPURL()+"/loki/api/v1/query?"+v.Encode(), tenant)
	if err != nil {
		return 0, err
	}
	if status != 200 {
		return 0, fmt.Errorf("status %d: %s", status, body)
	}
	var resp struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return 0, fmt.Errorf("%v: %s", err, body)
	}
	if len(resp.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := resp.Data.Result[0].Value[1].(string)
	n, err := strconv.ParseFloat(s, 64)
	return int64(n), err
}

// TestClusterQueryCountsExactly: with RF=3 over three ingester processes, counts from
// the querier equal the acknowledged records while flushes are happening and after they
// settle: the in-memory replicas and ClickHouse are merged with no record twice or missing.
func TestClusterQueryCountsExactly(t *testing.T) {
	const n, batch = 100000, 1000
	db := newTestDB(t)
	// Epochs of 25 s keep records in ingester memory well after the load, so the checks
	// below see them there, half flushed, and in ClickHouse.
	c := startCluster(t, db, "-ingester.max-epoch-age=25s", "-ingester.max-epoch-records=1000000")
	var res loadResult
	sendLoad(t, []string{c.distributors[0].OTLPGRPCAddr(), c.distributors[1].OTLPGRPCAddr()}, "exact", n, batch, time.Now().Add(3*time.Minute), &res)
	if res.ackedLogs.Load() != n {
		t.Fatalf("acknowledged %d of %d", res.ackedLogs.Load(), n)
	}
	// Query repeatedly while the ingesters flush, release and retire epochs.
	// Each check compares the total, sum by service, sum by level and every needle's raw
	// lines with the generator's manifest.
	m := loadManifest(n, batch)
	deadline := time.Now().Add(45 * time.Second)
	checks, inMemory := 0, 0
	for time.Now().Before(deadline) {
		stored := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = 'exact'")
		if err := checkManifest(c.querier, "exact", m); err != nil {
			explainManifest(t, db, c.querier, "exact", m)
			t.Fatalf("check %d (ClickHouse held %d rows before it): %v", checks, stored, err)
		}
		if stored < n {
			inMemory++
		}
		checks++
	}
	if inMemory == 0 {
		t.Fatal("no check ran while records were still only in ingester memory: the merge was not exercised")
	}
	one, err := lokiCount(t, c.querier, "exact", `{service_name="svc-3"}`)
	if err != nil || one != n/20 {
		t.Fatalf("one service: %d, %v; want %d", one, err, n/20)
	}
	other, err := lokiCount(t, c.querier, "someone-else", `{service_name=~"svc-.*"}`)
	if err != nil || other != 0 {
		t.Fatalf("another tenant sees %d records (%v)", other, err)
	}
	t.Logf("%d checks against the manifest (%d records, %d services, %d levels, %d needles) over 45 s, %d of them begun while records were still only in ingester memory", checks, n, len(m.services), len(m.levels), len(m.needles), inMemory)
}
