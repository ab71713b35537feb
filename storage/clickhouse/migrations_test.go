package clickhouse

import (
	"strings"
	"testing"
)

func TestPlanGatesNewServerFeatures(t *testing.T) {
	old, _ := ParseVersion("18.16.1")
	_, stmts := Plan("strata", "", old, nil)
	all := flatten(stmts)
	for _, forbidden := range []string{"CODEC", "TTL", "INDEX", "LowCardinality", "Map(", "DateTime64"} {
		if strings.Contains(all, forbidden) {
			t.Errorf("18.16 plan uses %s:\n%s", forbidden, all)
		}
	}
	cur, _ := ParseVersion("24.8.4.13")
	steps, stmts := Plan("strata", "", cur, nil)
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
	steps, _ := Plan("strata", "", v, map[int]bool{1: true, 2: true})
	if len(steps) != 1 || steps[0].Version != 3 {
		t.Fatalf("steps = %+v, want only version 3", steps)
	}
}

func TestPlanOnCluster(t *testing.T) {
	v, _ := ParseVersion("24.8")
	_, stmts := Plan("strata", "prod", v, nil)
	first := stmts[0][0]
	for _, want := range []string{"CREATE TABLE IF NOT EXISTS strata.logs ON CLUSTER prod", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/strata/{table}', '{replica}')"} {
		if !strings.Contains(first, want) {
			t.Errorf("cluster DDL lacks %q:\n%s", want, first)
		}
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
