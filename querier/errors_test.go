package querier

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/storage/clickhouse"
)

// everyEndpoint lists one request per read endpoint, for tenant A's time range.
func everyEndpoint() []string {
	rng := qs("start", ns(base), "end", ns(base.Add(400*time.Second)))
	secs := "start=" + strconv.FormatInt(base.Unix(), 10) + "&end=" + strconv.FormatInt(base.Add(time.Hour).Unix(), 10)
	return []string{
		exploreQuery(`{service_name=~".+"}`),
		"/loki/api/v1/query_range?" + rng + "&" + qs("query", `sum by (service_name) (count_over_time({service_name=~".+"}[1m]))`, "step", "60"),
		"/loki/api/v1/query_range?" + rng + "&" + qs("query", `count_over_time({service_name=~".+"} | json | __error__="" [1m])`, "step", "60"),
		"/loki/api/v1/query?" + qs("query", `sum(count_over_time({service_name=~".+"}[10m]))`, "time", ns(base.Add(5*time.Minute))),
		"/loki/api/v1/labels?" + rng,
		"/loki/api/v1/label/service_name/values?" + rng,
		"/loki/api/v1/series?" + rng + "&" + qs("match[]", `{service_name=~".+"}`),
		"/loki/api/v1/index/stats?" + rng + "&" + qs("query", `{service_name=~".+"}`),
		"/loki/api/v1/index/volume?" + rng + "&" + qs("query", `{service_name=~".+"}`),
		"/loki/api/v1/index/volume_range?" + rng + "&" + qs("query", `{service_name=~".+"}`, "step", "60"),
		"/loki/api/v1/detected_labels?" + rng,
		"/loki/api/v1/detected_fields?" + rng + "&" + qs("query", `{service_name=~".+"}`),
		"/loki/api/v1/detected_field/user/values?" + rng + "&" + qs("query", `{service_name=~".+"}`),
		"/api/traces/" + traceHex(1),
		"/api/v2/traces/" + traceHex(1),
		"/api/search?q=%7B%7D&" + secs,
		"/api/search/tags?" + secs,
		"/api/v2/search/tags?" + secs,
		"/api/search/tag/service.name/values?" + secs,
		"/api/v2/search/tag/resource.service.name/values?" + secs,
		"/ui/api/services?" + rng,
	}
}

// TestTenantIsolation asks every endpoint as tenant B and as the default tenant:
// nothing of tenant A may show, while tenant A sees its data.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	secret := []string{"checkout", "frontend", "web-ui", "timeout", traceHex(1)[2:]}
	for _, path := range everyEndpoint() {
		own := f.get(path)
		if own.status != http.StatusOK {
			t.Errorf("tenant A, %s: %d %.200s", path, own.status, own.body)
		}
		for _, tenant := range []string{tenantB, ""} {
			r := f.getAs(tenant, path)
			if r.status != http.StatusOK && r.status != http.StatusNotFound {
				t.Errorf("tenant %q, %s: status %d %s", tenant, path, r.status, r.body)
			}
			if containsAny(r.body, secret) || stripTimes(r.body) == stripTimes(own.body) {
				t.Errorf("tenant %q sees tenant A's data at %s: %.300s", tenant, path, r.body)
			}
		}
	}
}

// stripTimes blanks the execution statistics, which differ between any two answers.
func stripTimes(s string) string {
	if i := strings.Index(s, `"stats":`); i >= 0 {
		return s[:i]
	}
	return s
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestErrors(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxQueryRange = 24 * time.Hour })
	rng := qs("start", ns(base), "end", ns(base.Add(400*time.Second)))
	cases := map[string]struct {
		path   string
		status int
		text   string
	}{
		"parse error has Loki's position": {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `{service_name="x"`), 400, "parse error at line 1, col"},
		"log query on the instant API":    {"/loki/api/v1/query?" + qs("query", `{service_name="x"}`), 400, "log queries are not supported as an instant query"},
		"limit over the maximum":          {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `{service_name="x"}`, "limit", "5001"), 400, "-querier.max-entries-limit-per-query"},
		"range over the maximum":          {"/loki/api/v1/query_range?" + qs("query", `{service_name="x"}`, "start", "0", "end", ns(base)), 400, "the query time range exceeds the limit"},
		"bad direction":                   {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `{service_name="x"}`, "direction", "sideways"), 400, "invalid direction"},
		"uppercase direction is fine":     {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `{service_name="x"}`, "direction", "FORWARD"), 200, `"resultType":"streams"`},
		"zero step":                       {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `sum(rate({service_name="x"}[1m]))`, "step", "0"), 400, "zero or negative query resolution step"},
		"too many points":                 {"/loki/api/v1/query_range?" + rng + "&" + qs("query", `sum(rate({service_name="x"}[1m]))`, "step", "1ms"), 400, "maximum resolution of 11000 points"},
		"end before start":                {"/loki/api/v1/query_range?" + qs("query", `{service_name="x"}`, "start", ns(base), "end", ns(base.Add(-time.Second))), 400, "end timestamp must not be before"},
		"bad timestamp":                   {"/loki/api/v1/query_range?" + qs("query", `{service_name="x"}`, "start", "yesterday"), 400, "invalid start"},
		"float seconds and ms step":       {"/loki/api/v1/query_range?" + qs("query", `sum(rate({service_name="x"}[1m]))`, "start", "1700000000.5", "end", "1700000600", "step", "15000ms"), 200, `"resultType":"matrix"`},
		"bad tenant":                      {"/loki/api/v1/labels", 400, "unsupported character"},
		"bad trace id":                    {"/api/traces/not-hex", 400, "invalid trace id"},
		"q and tags together":             {"/api/search?q=%7B%7D&tags=a%3Db", 400, "q and tags cannot both be set"},
	}
	for name, c := range cases {
		var r response
		if name == "bad tenant" {
			r = f.getAs("a|b", c.path)
		} else {
			r = f.get(c.path)
		}
		if r.status != c.status || !strings.Contains(r.body, c.text) {
			t.Errorf("%s: %d %q, want %d with %q", name, r.status, r.body, c.status, c.text)
		}
		if r.status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: error Content-Type %q, want text/plain", name, r.header.Get("Content-Type"))
		}
	}
}

func TestLimitErrors(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxSeries, c.MaxConcurrent = 1, 2 })
	rng := qs("start", ns(base), "end", ns(base.Add(400*time.Second)))
	r := f.get("/loki/api/v1/query_range?" + rng + "&" + qs("query", `sum by (service_name) (count_over_time({service_name=~".+"}[1m]))`, "step", "60"))
	if r.status != 400 || !strings.Contains(r.body, "maximum of series (1)") || !strings.Contains(r.body, "-querier.max-query-series") {
		t.Errorf("max series: %d %s", r.status, r.body)
	}
	// Two queries of tenant A are running: the third gets 429; tenant B is not affected.
	for i := 0; i < 2; i++ {
		release, err := f.q.limiter.acquire(tenantA)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	r = f.get("/loki/api/v1/labels?" + rng)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "-querier.max-concurrent-queries-per-tenant=2") {
		t.Errorf("over the concurrency limit: %d %s", r.status, r.body)
	}
	if r := f.getAs(tenantB, "/loki/api/v1/labels?"+rng); r.status != http.StatusOK {
		t.Errorf("tenant B: %d %s", r.status, r.body)
	}
}

func TestAuthTimeoutAndStorage(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.AuthEnabled = true })
	if r := f.getAs("", "/loki/api/v1/labels"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "no org id") {
		t.Errorf("auth on, no tenant: %d %s", r.status, r.body)
	}
	if r := f.getAs("", "/api/echo"); r.status != http.StatusOK {
		t.Errorf("echo needs no tenant: %d", r.status)
	}
	f.q.cfg.QueryTimeout = time.Nanosecond
	if r := f.get("/loki/api/v1/labels"); r.status != http.StatusGatewayTimeout || !strings.Contains(r.body, "-querier.query-timeout") {
		t.Errorf("timeout: %d %s", r.status, r.body)
	}
	f.q.cfg.QueryTimeout = time.Minute
	f.q.deps.Store = func() *clickhouse.Client { return nil }
	if r := f.get("/loki/api/v1/labels"); r.status != http.StatusServiceUnavailable {
		t.Errorf("storage not ready: %d %s", r.status, r.body)
	}
}
