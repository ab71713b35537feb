package clickhouse

import (
	"strings"
	"testing"
)

func TestPlanGatesNewServerFeatures(t *testing.T) {
	old, _ := ParseVersion("18.16.1")
	_, stmts := Plan(Config{Database: "strata"}, old, nil)
	all := flatten(stmts)
	for _, forbidden := range []string{"CODEC", "TTL", "INDEX", "LowCardinality", "Map(", "DateTime64"} {
		if strings.Contains(all, forbidden) {
			t.Errorf("18.16 plan uses %s:\n%s", forbidden, all)
		}
	}
	cur, _ := ParseVersion("24.8.4.13")
	steps, stmts := Plan(Config{Database: "strata"}, cur, nil)
	if len(steps) != len(Migrations) {
		t.Fatalf("24.8 plan has %d steps, want all %d", len(steps), len(Migrations))
	}
	all = flatten(stmts)
	for _, want := range []string{
		"ALTER TABLE strata.logs ADD INDEX IF NOT EXISTS body_tokens body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1",
		"ALTER TABLE strata.logs MODIFY TTL day + toIntervalDay(retention_days)",
		"ALTER TABLE strata.logs MODIFY COLUMN timestamp Int64 CODEC(DoubleDelta, LZ4)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("24.8 plan lacks %q", want)
		}
	}
}

func TestPlanSkipsApplied(t *testing.T) {
	v, _ := ParseVersion("18.16.1")
	steps, _ := Plan(Config{Database: "strata"}, v, map[int]bool{1: true, 2: true})
	if len(steps) != 3 || steps[0].Version != 3 || steps[1].Version != 7 || steps[2].Version != 9 {
		t.Fatalf("steps = %+v, want versions 3, 7 and 9", steps)
	}
}

func TestPlanCluster(t *testing.T) {
	v, _ := ParseVersion("24.8")
	cfg := Config{Database: "strata", Cluster: "prod"}
	_, stmts := Plan(cfg, v, nil)
	all := flatten(stmts)
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS strata.logs_local (",
		"ENGINE = ReplacingMergeTree\n",
		"CREATE TABLE IF NOT EXISTS strata.trace_index_local (",
		"ALTER TABLE strata.logs_local ADD INDEX IF NOT EXISTS body_tokens",
		"ALTER TABLE strata.spans_local MODIFY COLUMN start_ns",
		"ALTER TABLE strata.trace_index_local MODIFY TTL",
		"CREATE TABLE IF NOT EXISTS strata.log_streams_local (",
		"CREATE TABLE IF NOT EXISTS strata.log_blooms_local (",
		"ALTER TABLE strata.logs_local ADD COLUMN bloomed UInt8 DEFAULT 0",
		"INSERT INTO strata.log_streams_local (tenant, day, retention_days, stream_id, service_name, labels_keys, labels_values) SELECT tenant, day, retention_days, stream_id, any(service_name), any(labels_keys), any(labels_values) FROM strata.logs_local GROUP BY",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("cluster plan lacks %q:\n%s", want, all)
		}
	}
	for _, forbidden := range []string{"ON CLUSTER", "Replicated", "TABLE strata.logs ", "TABLE strata.spans "} {
		if strings.Contains(all, forbidden) {
			t.Errorf("cluster plan without ZooKeeper options has %q:\n%s", forbidden, all)
		}
	}
	dist := strings.Join(schemaOf(cfg).distributedTables(), "\n")
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS strata.logs (",
		"ENGINE = Distributed(prod, strata, logs_local, cityHash64(tenant, stream_id))",
		"ENGINE = Distributed(prod, strata, spans_local, cityHash64(tenant, trace_id))",
		"ENGINE = Distributed(prod, strata, trace_index_local, cityHash64(tenant, trace_id))",
		"ENGINE = Distributed(prod, strata, log_streams_local, cityHash64(tenant, stream_id))",
		"ENGINE = Distributed(prod, strata, log_blooms_local, cityHash64(tenant, stream_id))",
		"ALTER TABLE strata.logs ADD COLUMN bloomed UInt8 DEFAULT 0",
	} {
		if !strings.Contains(dist, want) {
			t.Errorf("distributed tables lack %q:\n%s", want, dist)
		}
	}
	if d := (schema{DB: "strata"}).distributedTables(); d != nil {
		t.Errorf("distributed tables without a cluster: %v", d)
	}
}

func TestPlanReplicatedOnCluster(t *testing.T) {
	v, _ := ParseVersion("24.8")
	cfg := Config{Database: "strata", Cluster: "prod", Replicated: true, OnClusterDDL: true}
	_, stmts := Plan(cfg, v, nil)
	first := stmts[0][0]
	for _, want := range []string{"CREATE TABLE IF NOT EXISTS strata.logs_local ON CLUSTER prod", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/strata/logs_local', '{replica}')"} {
		if !strings.Contains(first, want) {
			t.Errorf("cluster DDL lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(stmts[3][0], "ALTER TABLE strata.logs_local ON CLUSTER prod ADD INDEX") {
		t.Errorf("ALTER lacks ON CLUSTER: %s", stmts[3][0])
	}
	if !strings.Contains(flatten(stmts), "INSERT INTO strata.log_streams (tenant,") || !strings.Contains(flatten(stmts), "FROM strata.logs GROUP BY") {
		t.Errorf("ON CLUSTER backfill does not go through the Distributed tables:\n%s", flatten(stmts))
	}
	if d := schemaOf(cfg).distributedTables(); !strings.Contains(d[0], "CREATE TABLE IF NOT EXISTS strata.logs ON CLUSTER prod (") {
		t.Errorf("distributed DDL lacks ON CLUSTER: %s", d[0])
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{"18.16.1": {18, 16, 1}, "24.8.4.13": {24, 8, 4}, "23.3": {23, 3, 0}} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseVersion("garbage"); err == nil {
		t.Error("ParseVersion(garbage) succeeded")
	}
}

func flatten(stmts [][]string) string {
	var sb strings.Builder
	for _, s := range stmts {
		for _, q := range s {
			sb.WriteString(q)
			sb.WriteString("\n")
		}
	}
	return sb.String()
}
