package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// checkDatasources checks a Grafana datasource provisioning file: a Loki and a Tempo
// datasource at a Strata querier, linked both ways.
func checkDatasources(t *testing.T, where string, data []byte, querierURL func(string) bool) {
	t.Helper()
	var ds struct {
		Datasources []struct {
			Name, Type, URL, UID string
			JSONData             struct {
				DerivedFields []struct {
					DatasourceUID string `yaml:"datasourceUid"`
				} `yaml:"derivedFields"`
				TracesToLogs struct {
					DatasourceUID string `yaml:"datasourceUid"`
				} `yaml:"tracesToLogsV2"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(data, &ds); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	uids := map[string]string{}
	for _, d := range ds.Datasources {
		uids[d.Type] = d.UID
	}
	if uids["loki"] == "" || uids["tempo"] == "" {
		t.Fatalf("%s: want a loki and a tempo datasource with uids, got %+v", where, ds.Datasources)
	}
	for _, d := range ds.Datasources {
		switch d.Type {
		case "loki":
			if !querierURL(d.URL) {
				t.Errorf("%s: %s url %s is not the Strata querier", where, d.Name, d.URL)
			}
			if len(d.JSONData.DerivedFields) == 0 || d.JSONData.DerivedFields[0].DatasourceUID != uids["tempo"] {
				t.Errorf("%s: %s lacks the logs-to-trace link to %s", where, d.Name, uids["tempo"])
			}
		case "tempo":
			if !querierURL(d.URL) {
				t.Errorf("%s: %s url %s is not the Strata querier", where, d.Name, d.URL)
			}
			if d.JSONData.TracesToLogs.DatasourceUID != uids["loki"] {
				t.Errorf("%s: %s lacks the trace-to-logs link to %s", where, d.Name, uids["loki"])
			}
		}
	}
}

type compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf compose
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	return cf
}

// composeMount returns where docker-compose mounts a repository path into a service.
func composeMount(cf compose, service, hostPath string) string {
	for _, v := range cf.Services[service].Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && filepath.Clean(parts[0]) == filepath.Clean(hostPath) {
			return parts[1]
		}
	}
	return ""
}

func TestComposeGrafanaProvisioning(t *testing.T) {
	cf := loadCompose(t)
	data, err := os.ReadFile(filepath.Join("grafana", "provisioning", "datasources", "strata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkDatasources(t, "datasources/strata.yaml", data, func(u string) bool {
		pu, err := url.Parse(u)
		_, ok := cf.Services[pu.Hostname()]
		return err == nil && ok && pu.Port() == "3100" && strings.HasPrefix(pu.Hostname(), "querier")
	})

	// The Prometheus datasource points at compose's Prometheus, which scrapes every
	// strata service.
	var ds struct {
		Datasources []struct{ Type, URL, UID string } `yaml:"datasources"`
	}
	yaml.Unmarshal(data, &ds)
	var prom string
	for _, d := range ds.Datasources {
		if d.Type == "prometheus" {
			prom = d.URL
		}
	}
	if pu, err := url.Parse(prom); prom == "" || err != nil || cf.Services[pu.Hostname()].Image == "" {
		t.Errorf("no prometheus datasource pointing at a compose service (%q)", prom)
	}
	promCfg := composeMount(cf, "prometheus", "./deploy/prometheus/prometheus.yml")
	if promCfg != "/etc/prometheus/prometheus.yml" {
		t.Errorf("compose prometheus does not mount deploy/prometheus/prometheus.yml at its default config path (%q)", promCfg)
	}
	pdata, err := os.ReadFile(filepath.Join("prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(pdata, &pc); err != nil {
		t.Fatal(err)
	}
	scraped := map[string]bool{}
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				host, port, _ := strings.Cut(tg, ":")
				if port != "3100" {
					t.Errorf("prometheus target %s: strata serves /metrics on 3100", tg)
				}
				scraped[host] = true
			}
		}
	}
	for name, svc := range cf.Services {
		if svc.Image == strataImage(t) && !scraped[name] {
			t.Errorf("prometheus.yml does not scrape %s", name)
		}
	}

	// The dashboards provider reads the directory compose mounts deploy/grafana/dashboards at.
	pv, err := os.ReadFile(filepath.Join("grafana", "provisioning", "dashboards", "strata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(pv, &prov); err != nil {
		t.Fatal(err)
	}
	mount := composeMount(cf, "grafana", "./deploy/grafana/dashboards")
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || mount == "" || prov.Providers[0].Options.Path != mount {
		t.Errorf("dashboards provider %+v does not read the mounted dashboards directory %q", prov.Providers, mount)
	}
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboardPanel struct {
	ID      int              `json:"id"`
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", "dashboards", "strata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("strata.json does not parse: %v", err)
	}
	return d
}

// queries returns every PromQL expression of the dashboard, keyed by where it is.
func (d dashboard) queries() map[string]string {
	out := map[string]string{}
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// templateMetrics returns the metrics template variables query with label_values(metric, label).
func (d dashboard) templateMetrics() []string {
	var out []string
	re := regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range d.Templating.List {
		b, _ := json.Marshal(v.Query)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "offset": true, "and": true, "or": true, "unless": true, "inf": true, "nan": true, "atan2": true}
)

// metricNames returns the metric names a PromQL expression selects. It is a small lexer,
// not a parser: strings, label matchers, ranges and grouping labels are removed, and of
// the identifiers left those followed by "(" are functions and the rest are metrics.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 {
			// Part of a number (1e3, 5m) or a Grafana variable ($instance).
			if c := s[loc[0]-1]; c == '$' || c == '.' || (c >= '0' && c <= '9') {
				continue
			}
		}
		if promKeywords[strings.ToLower(name)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNamesLexer(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (signal) (rate(strata_a_total{instance=~"$instance", x="by (y)"}[$__rate_interval]))`: {"strata_a_total"},
		`histogram_quantile(0.99, sum by (le) (rate(b_bucket[5m])))`:                                  {"b_bucket"},
		`go_heap{i="1"} and on (instance) strata_mem offset 1h`:                                       {"go_heap", "strata_mem"},
		`topk(10, x) / ignoring(le) group_left y > bool 1e3`:                                          {"x", "y"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
}

func TestDashboardParses(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and a title")
	}
	ids := map[int]bool{}
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d repeats", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	qs := d.queries()
	if len(qs) < 10 {
		t.Fatalf("only %d queries in the dashboard", len(qs))
	}
	for where, q := range qs {
		if len(metricNames(q)) == 0 {
			t.Errorf("%s: %q selects no metric", where, q)
		}
		if strings.Count(q, "(") != strings.Count(q, ")") || strings.Count(q, "{") != strings.Count(q, "}") {
			t.Errorf("%s: unbalanced brackets in %q", where, q)
		}
	}
}

// TestDashboardUsesRealMetrics checks every metric the dashboard queries against the
// metrics a real strata process exports, and that every Strata component metric has a
// panel. Metrics with labels appear only once observed, so the process is given the
// traffic that produces them: logs and spans over OTLP and Loki push, a rejected record,
// flushes, queries, and pushes refused at the memory limit (a second process).
func TestDashboardUsesRealMetrics(t *testing.T) {
	d := loadDashboard(t)
	exported := scrapeStrataMetrics(t)
	used := map[string]bool{}
	check := func(where string, names []string) {
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s: strata exports no metric %s", where, n)
			}
		}
	}
	for where, q := range d.queries() {
		check(where, metricNames(q))
	}
	check("templating", d.templateMetrics())
	for n := range exported {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		component := strings.HasPrefix(n, "strata_distributor_") || strings.HasPrefix(n, "strata_ingester_") || strings.HasPrefix(n, "strata_querier_")
		if component && !used[n] && !used[base+"_bucket"] && !used[base+"_count"] && !used[base] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
}

// scrapeStrataMetrics returns the sample names strata exports under traffic.
func scrapeStrataMetrics(t *testing.T) map[string]bool {
	t.Helper()
	bin := cluster.Binary(t)
	cfg := chtest.Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("ClickHouse is required for this test (set STRATA_TEST_CLICKHOUSE or run `scripts/clickhouse start`): %v", err)
	}
	t.Cleanup(func() { chtest.Drop(t, ch) })
	root := t.TempDir()
	start := func(name string, extra ...string) *cluster.Process {
		p := cluster.NewProcess(t, name, "127.0.0.1", root, append([]string{
			"-target=all", "-ring.store=memberlist",
			"-clickhouse.address=" + cfg.Address, "-clickhouse.database=" + cfg.Database,
			"-ingester.max-epoch-age=200ms", "-ingester.flush-check-period=100ms",
		}, extra...)...)
		p.Args = append(p.Args, "-memberlist.join="+p.MemberlistAddr())
		p.Start(bin)
		return p
	}

	names := map[string]bool{}
	p := start("all")
	now := time.Now().UnixNano()
	post(t, p.HTTPURL()+"/loki/api/v1/push", fmt.Sprintf(`{"streams":[{"stream":{"service_name":"shop"},"values":[["%d","hello"],["1000","too old"]]}]}`, now), 0)
	post(t, p.OTLPHTTPURL()+"/v1/logs", fmt.Sprintf(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","body":{"stringValue":"hi"}}]}]}]}`, now), 200)
	post(t, p.OTLPHTTPURL()+"/v1/traces", fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"GET","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, now, now+1e6), 200)
	err = cluster.Eventually(context.Background(), 60*time.Second, func() error {
		m := scrape(t, p.HTTPURL())
		if !m[`strata_ingester_flushed_records_total{signal="logs"}`] || !m[`strata_ingester_flushed_records_total{signal="spans"}`] {
			return fmt.Errorf("logs and spans not flushed yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; log tail:\n%s", err, p.Tail(20))
	}
	get(t, p.HTTPURL()+"/loki/api/v1/query_range?query="+url.QueryEscape(`{service_name="shop"}`))
	get(t, p.HTTPURL()+"/api/traces/0102030405060708090a0b0c0d0e0f10")
	for s := range scrape(t, p.HTTPURL()) {
		names[sampleName(s)] = true
	}

	// Every push is refused above a one-byte memory limit.
	full := start("full", "-ingester.max-memory-bytes=1")
	post(t, full.OTLPHTTPURL()+"/v1/logs", fmt.Sprintf(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"%d","body":{"stringValue":"hi"}}]}]}]}`, now), 429)
	for s := range scrape(t, full.HTTPURL()) {
		names[sampleName(s)] = true
	}
	if !names["strata_ingester_refused_pushes_total"] {
		t.Fatalf("the memory-limited process refused no push")
	}
	return names
}

func post(t *testing.T, u, body string, want int) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", u, resp.StatusCode, b, want)
	}
}

func get(t *testing.T, u string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
}

// scrape returns the series of /metrics in the text format, without values.
func scrape(t *testing.T, base string) map[string]bool {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if _, err := strconv.ParseFloat(line[i+1:], 64); err == nil || strings.Contains(line[i+1:], "Inf") || line[i+1:] == "NaN" {
				line = line[:i]
			}
		}
		out[line] = true
	}
	return out
}

func sampleName(series string) string {
	if i := strings.IndexAny(series, "{ "); i >= 0 {
		return series[:i]
	}
	return series
}
