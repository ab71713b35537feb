package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
)

// manifest is what the load generator sent, counted exactly: per service, per level and
// per needle.
type manifest struct {
	total    int64
	services map[string]int64
	levels   map[string]int64
	needles  map[string]int64
}

// loadManifest counts the first n records loadBatch generates in batches of batch.
func loadManifest(n, batch int) manifest {
	m := manifest{total: int64(n), services: map[string]int64{}, levels: map[string]int64{}, needles: map[string]int64{}}
	for seq := 0; seq < n; seq++ {
		m.services[fmt.Sprintf("svc-%d", (seq/batch)%20)]++
		switch loadSeverity(seq) {
		case plog.SeverityNumberError:
			m.levels["error"]++
		case plog.SeverityNumberWarn:
			m.levels["warn"]++
		default:
			m.levels["info"]++
		}
		if body := loadBody(seq); strings.Contains(body, "needle-") {
			m.needles[body[strings.Index(body, "needle-"):strings.Index(body, " path=")]]++
		}
	}
	return m
}

// lokiVector runs an instant metric query and returns its samples keyed by label.
func lokiVector(q *cluster.Process, tenant, query, label string) (map[string]int64, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("time", strconv.FormatInt(time.Now().UnixNano(), 10))
	body, status, err := httpGetTenant(q.HTTPURL()+"/loki/api/v1/query?"+v.Encode(), tenant)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("%s: status %d: %s", query, status, body)
	}
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", query, err, body)
	}
	out := map[string]int64{}
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: sample %q", query, s)
		}
		out[r.Metric[label]] = int64(f)
	}
	return out, nil
}

// lokiLines runs a log query over the last two hours and counts the lines returned.
func lokiLines(q *cluster.Process, tenant, query string) (int64, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("start", strconv.FormatInt(time.Now().Add(-2*time.Hour).UnixNano(), 10))
	v.Set("end", strconv.FormatInt(time.Now().Add(time.Minute).UnixNano(), 10))
	v.Set("limit", "5000")
	body, status, err := httpGetTenant(q.HTTPURL()+"/loki/api/v1/query_range?"+v.Encode(), tenant)
	if err != nil {
		return 0, err
	}
	if status != 200 {
		return 0, fmt.Errorf("%s: status %d: %s", query, status, body)
	}
	var s lokiStreams
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return 0, fmt.Errorf("%s: %v", query, err)
	}
	return int64(s.lines()), nil
}

func sameCounts(what string, got, want map[string]int64) error {
	var diffs []string
	for k, w := range want {
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("%s=%q: %d, want %d", what, k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s=%q: %d, want none", what, k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		return fmt.Errorf("%s", strings.Join(diffs, "; "))
	}
	return nil
}

// checkManifest compares the querier's answers with the manifest: the total, sum by
// service, sum by level and the raw lines of every needle.
func checkManifest(q *cluster.Process, tenant string, m manifest) error {
	const sel = `{service_name=~"svc-.*"}`
	total, err := lokiVector(q, tenant, fmt.Sprintf("sum(count_over_time(%s[2h]))", sel), "")
	if err != nil {
		return err
	}
	if total[""] != m.total {
		return fmt.Errorf("count_over_time = %d, want %d", total[""], m.total)
	}
	bySvc, err := lokiVector(q, tenant, fmt.Sprintf("sum by (service_name) (count_over_time(%s[2h]))", sel), "service_name")
	if err != nil {
		return err
	}
	if err := sameCounts("service_name", bySvc, m.services); err != nil {
		return err
	}
	byLevel, err := lokiVector(q, tenant, fmt.Sprintf("sum by (detected_level) (count_over_time(%s[2h]))", sel), "detected_level")
	if err != nil {
		return err
	}
	if err := sameCounts("detected_level", byLevel, m.levels); err != nil {
		return err
	}
	for needle, want := range m.needles {
		got, err := lokiLines(q, tenant, fmt.Sprintf(`%s |= "%s path="`, sel, needle))
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("lines with %q: %d, want %d", needle, got, want)
		}
	}
	return nil
}

func TestLoadManifest(t *testing.T) {
	m := loadManifest(100000, 1000)
	if m.services["svc-3"] != 5000 || m.levels["error"] != 10000 || m.levels["warn"] != 20000 || m.levels["info"] != 70000 {
		t.Fatalf("manifest %+v", m)
	}
	var needles int64
	for _, n := range m.needles {
		needles += n
	}
	if len(m.needles) != 4 || needles != 40 {
		t.Fatalf("needles %v", m.needles)
	}
}

// explainManifest logs what storage holds per service when checkManifest failed, and
// whether the same check passes a few seconds later, so a failure tells a wrong merge
// (storage right, answer wrong) from a transient one and from lost rows.
func explainManifest(t *testing.T, db *testDB, q *cluster.Process, tenant string, m manifest) {
	t.Helper()
	rows, err := db.conn(t).Conn().Query(context.Background(), fmt.Sprintf(`SELECT service_name, count(), uniqExact(id), uniqExact(flush_id)
		FROM %s.logs WHERE tenant = %s GROUP BY service_name ORDER BY service_name`, db.cfg.Database, clickhouse.Quote(tenant)))
	if err != nil {
		t.Logf("explain: %v", err)
		return
	}
	for rows.Next() {
		var svc string
		var n, distinct, flushes uint64
		if err := rows.Scan(&svc, &n, &distinct, &flushes); err != nil {
			t.Logf("explain: %v", err)
			break
		}
		t.Logf("stored for %s: %d rows, %d distinct ids (manifest %d), %d flush batches", svc, n, distinct, m.services[svc], flushes)
	}
	rows.Close()
	time.Sleep(3 * time.Second)
	if err := checkManifest(q, tenant, m); err != nil {
		t.Logf("the check still fails 3 s later: %v", err)
	} else {
		t.Logf("the check passes 3 s later: the failure was transient")
	}
}
