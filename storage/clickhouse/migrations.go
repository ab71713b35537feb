package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Migration is one versioned, idempotent schema step. Steps are idempotent (IF NOT EXISTS
// and friends) so that a crash half-way or several processes migrating at once never
// leave the schema "dirty": running the list again converges.
type Migration struct {
	Version int
	Name    string
	// MinServer is the oldest server version the step runs on; older servers skip it
	// and the baseline keeps working without the feature.
	MinServer Version
	DDL       func(s schema) []string
}

// schema carries what DDL text depends on.
type schema struct {
	DB      string
	Cluster string
}

func (s schema) onCluster() string {
	if s.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + s.Cluster
}

func (s schema) engine(kind string) string {
	if s.Cluster == "" {
		return kind
	}
	return "Replicated" + kind + "('/clickhouse/tables/{shard}/" + s.DB + "/{table}', '{replica}')"
}

// logsColumns lists the logs table's columns in INSERT order; the writer uses the same list.
var logsColumns = []string{
	"tenant String", "day Date", "retention_days UInt16",
	"timestamp Int64", "observed_timestamp Int64",
	"id UInt64", "flush_id UInt64", "stream_id UInt64",
	"service_name String",
	"labels_keys Array(String)", "labels_values Array(String)",
	"severity_number UInt8", "severity_text String", "level String",
	"body String",
	"trace_id String", "span_id String", "flags UInt32",
	"attr_keys Array(String)", "attr_values Array(String)", "attr_types Array(UInt8)",
	"res_keys Array(String)", "res_values Array(String)", "res_types Array(UInt8)",
	"scope_name String", "scope_version String", "event_name String",
}

var spansColumns = []string{
	"tenant String", "day Date", "retention_days UInt16",
	"trace_id String", "span_id String", "parent_span_id String", "trace_state String",
	"id UInt64", "flush_id UInt64",
	"service_name String", "name String", "kind Int8",
	"start_ns Int64", "end_ns Int64", "duration_ns Int64",
	"status_code Int8", "status_message String",
	"attr_keys Array(String)", "attr_values Array(String)", "attr_types Array(UInt8)",
	"res_keys Array(String)", "res_values Array(String)", "res_types Array(UInt8)",
	"event_times Array(Int64)", "event_names Array(String)", "event_attrs Array(String)",
	"link_trace_ids Array(String)", "link_span_ids Array(String)", "link_trace_states Array(String)", "link_attrs Array(String)",
	"scope_name String", "scope_version String", "flags UInt32",
}

var traceIndexColumns = []string{
	"tenant String", "day Date", "retention_days UInt16",
	"trace_id String", "start_ns Int64", "end_ns Int64", "spans UInt32", "flush_id UInt64",
}

func columnNames(defs []string) []string {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = strings.Fields(d)[0]
	}
	return names
}

func createTable(s schema, table string, cols []string, engine, partition, order string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s (\n  %s\n) ENGINE = %s\nPARTITION BY %s\nORDER BY %s",
		s.DB, table, s.onCluster(), strings.Join(cols, ",\n  "), s.engine(engine), partition, order)
}

// Migrations is the ordered list of schema steps. Never edit a released step: add one.
var Migrations = []Migration{
	{Version: 1, Name: "logs table", DDL: func(s schema) []string {
		return []string{createTable(s, "logs", logsColumns, "ReplacingMergeTree",
			"(day, retention_days)", "(tenant, service_name, timestamp, id)")}
	}},
	{Version: 2, Name: "spans table", DDL: func(s schema) []string {
		return []string{createTable(s, "spans", spansColumns, "ReplacingMergeTree",
			"(day, retention_days)", "(tenant, service_name, start_ns, id)")}
	}},
	{Version: 3, Name: "trace index table", DDL: func(s schema) []string {
		return []string{createTable(s, "trace_index", traceIndexColumns, "MergeTree",
			"(day, retention_days)", "(tenant, trace_id)")}
	}},
	{Version: 4, Name: "token bloom filter on log bodies", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{
			fmt.Sprintf("ALTER TABLE %s.logs%s ADD INDEX IF NOT EXISTS body_tokens body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1", s.DB, s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.spans%s ADD INDEX IF NOT EXISTS trace_id_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 1", s.DB, s.onCluster()),
		}
	}},
	{Version: 5, Name: "column codecs", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{
			fmt.Sprintf("ALTER TABLE %s.logs%s MODIFY COLUMN timestamp Int64 CODEC(DoubleDelta, LZ4)", s.DB, s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.logs%s MODIFY COLUMN body String CODEC(ZSTD(1))", s.DB, s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.spans%s MODIFY COLUMN start_ns Int64 CODEC(DoubleDelta, LZ4)", s.DB, s.onCluster()),
		}
	}},
	{Version: 6, Name: "retention TTL", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		var out []string
		for _, t := range []string{"logs", "spans", "trace_index"} {
			out = append(out, fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY TTL day + toIntervalDay(retention_days)", s.DB, t, s.onCluster()))
		}
		return out
	}},
}

// Plan returns the statements that bring a database on server v to the latest schema,
// given the versions already applied. It is pure so the DDL can be tested as text.
func Plan(db, cluster string, v Version, applied map[int]bool) (steps []Migration, stmts [][]string) {
	s := schema{DB: db, Cluster: cluster}
	for _, m := range Migrations {
		if applied[m.Version] || !v.AtLeast(m.MinServer.Major, m.MinServer.Minor) {
			continue
		}
		steps = append(steps, m)
		stmts = append(stmts, m.DDL(s))
	}
	return steps, stmts
}

// Migrate creates the database and applies every pending step, recording each in
// schema_migrations. Safe to run from many processes at once: every statement is
// idempotent and a step is recorded only after all its statements succeeded.
func (c *Client) Migrate(ctx context.Context) error {
	s := schema{DB: c.cfg.Database, Cluster: c.cfg.Cluster}
	boot := []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s%s", s.DB, s.onCluster()),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.schema_migrations%s (version UInt32, name String, applied_at DateTime) ENGINE = %s ORDER BY version",
			s.DB, s.onCluster(), s.engine("ReplacingMergeTree")),
	}
	for _, q := range boot {
		if err := c.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("migrate: %s: %w", firstLine(q), err)
		}
	}
	applied, err := c.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	steps, stmts := Plan(s.DB, s.Cluster, c.version, applied)
	for i, m := range steps {
		for _, q := range stmts[i] {
			if err := c.conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("migration %d (%s): %s: %w", m.Version, m.Name, firstLine(q), err)
			}
		}
		if err := c.recordMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// recordMigration goes through a batch: a plain INSERT ... VALUES with arguments stalls on
// the native protocol of old servers.
func (c *Client) recordMigration(ctx context.Context, m Migration) error {
	b, err := c.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, applied_at)", c.cfg.Database))
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if err := b.Append(uint32(m.Version), m.Name, time.Now()); err != nil {
		b.Abort()
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	return nil
}

func (c *Client) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := c.conn.Query(ctx, fmt.Sprintf("SELECT DISTINCT version FROM %s.schema_migrations", c.cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = true
	}
	return applied, rows.Err()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
