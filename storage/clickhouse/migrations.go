package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
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
	// Replicated selects Replicated* engines for the local tables (needs ZooKeeper).
	Replicated bool
	// OnCluster sends each statement once, ON CLUSTER (needs ZooKeeper); otherwise
	// Migrate runs the statements on every host of the cluster itself.
	OnCluster bool
}

func schemaOf(cfg Config) schema {
	return schema{DB: cfg.Database, Cluster: cfg.Cluster, Replicated: cfg.Replicated, OnCluster: cfg.OnClusterDDL}
}

func (s schema) onCluster() string {
	if s.Cluster == "" || !s.OnCluster {
		return ""
	}
	return " ON CLUSTER " + s.Cluster
}

// local names the table that stores a data table's rows on each server. With a cluster
// that is <table>_local and <table> is a Distributed table over the shards' local
// tables, so readers and writers use the same names in both layouts.
func (s schema) local(table string) string {
	if s.Cluster == "" {
		return table
	}
	return table + "_local"
}

// engine is the engine of a local table. The replication path names the table instead
// of using the {table} macro, so it does not depend on which macros a server expands.
func (s schema) engine(kind, table string) string {
	if !s.Replicated {
		return kind
	}
	return "Replicated" + kind + "('/clickhouse/tables/{shard}/" + s.DB + "/" + table + "', '{replica}')"
}

// dataTable is a table of telemetry, sharded when a cluster is configured.
type dataTable struct {
	name    string
	cols    []string
	shardBy string
}

// dataTables lists the sharded tables and their sharding keys. ReplacingMergeTree
// collapses repeated rows only within one server, and the schema relies on that for the
// copies that retries and failovers insert; the keys hash what the copies of a record
// share (its stream, its trace), so every copy lands on the shard of the first. Keying
// spans and the trace index by trace also keeps a whole trace on one shard.
var dataTables = []dataTable{
	{"logs", logsInsertColumns, "cityHash64(tenant, stream_id)"},
	{"spans", spansColumns, "cityHash64(tenant, trace_id)"},
	{"trace_index", traceIndexColumns, "cityHash64(tenant, trace_id)"},
	{"log_streams", logStreamsColumns, "cityHash64(tenant, stream_id)"},
	{"log_blooms", logBloomsColumns, "cityHash64(tenant, stream_id)"},
}

// addedColumns are columns later steps added to a data table, as ALTER TABLE ... ADD
// COLUMN statements for the Distributed tables made before them (see distributedTables).
var addedColumns = map[string][]string{"logs": {"bloomed UInt8 DEFAULT 0"}}

// distributedTables creates, with a cluster, the Distributed tables over the local ones.
// They are not versioned steps: the statements are idempotent and cheap, so each Migrate
// ensures them, which also covers a database whose local tables predate the cluster
// setting (see checkLayout). A step that adds or changes a column must alter both the
// local and the Distributed table.
func (s schema) distributedTables() []string {
	if s.Cluster == "" {
		return nil
	}
	out := make([]string, 0, len(dataTables))
	for _, t := range dataTables {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s (\n  %s\n) ENGINE = Distributed(%s, %s, %s, %s)",
			s.DB, t.name, s.onCluster(), strings.Join(t.cols, ",\n  "), s.Cluster, s.DB, s.local(t.name), t.shardBy))
		for _, col := range addedColumns[t.name] {
			out = append(out, fmt.Sprintf("ALTER TABLE %s.%s%s ADD COLUMN %s", s.DB, t.name, s.onCluster(), col))
		}
	}
	return out
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

// logsInsertColumns are the logs columns the writer fills: logsColumns (migration 1)
// and the columns later steps added.
var logsInsertColumns = append(slices.Clone(logsColumns), "bloomed UInt8")

// logBloomsColumns are the log_blooms table's: one row per stream per flush batch (and
// day) with an n-gram bloom filter of its lines and where its rows sit in the logs sort
// key (service_name, timestamps), so a line filter reads only the rows of blocks that
// may hold it (see logbloom.go).
var logBloomsColumns = []string{
	"tenant String", "day Date", "retention_days UInt16", "service_name String",
	"stream_id UInt64", "flush_id UInt64", "min_ts Int64", "max_ts Int64", "rows UInt32", "bloom String",
}

// logStreamsColumns are the log_streams table's: one row per stream and day (and
// retention), the stream's labels once instead of on every log row. Stream matchers
// are answered here, so log reads and counts select rows by the narrow stream_id
// column instead of the label arrays of every row in range.
var logStreamsColumns = []string{
	"tenant String", "day Date", "retention_days UInt16", "stream_id UInt64",
	"service_name String", "labels_keys Array(String)", "labels_values Array(String)",
}

func columnNames(defs []string) []string {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = strings.Fields(d)[0]
	}
	return names
}

func createTable(s schema, table string, cols []string, engine, partition, order string) string {
	local := s.local(table)
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s (\n  %s\n) ENGINE = %s\nPARTITION BY %s\nORDER BY %s",
		s.DB, local, s.onCluster(), strings.Join(cols, ",\n  "), s.engine(engine, local), partition, order)
}

// traceGranularity is the index granularity of the span tables. A trace's spans lie
// scattered over the services' runs in spans' sort key, so fetching 20 traces touched
// about as many granules, each read whole for every column: with 1,024-row granules
// instead of the default 8,192 a search's trace fetch reads a quarter as much (65 → 35
// ms over 1M spans) and searches themselves are no slower. ClickHouse cannot change
// the granularity of an existing table; tables created before this keep theirs.
const traceGranularity = 1024

func withGranularity(create string, rows int) string {
	return fmt.Sprintf("%s\nSETTINGS index_granularity = %d", create, rows)
}

// Migrations is the ordered list of schema steps. Never edit what a released step does
// to an existing database: add a step. (Settings of a table being created, which reach
// only new databases, are the exception, as for traceGranularity.)
var Migrations = []Migration{
	{Version: 1, Name: "logs table", DDL: func(s schema) []string {
		return []string{createTable(s, "logs", logsColumns, "ReplacingMergeTree",
			"(day, retention_days)", "(tenant, service_name, timestamp, id)")}
	}},
	{Version: 2, Name: "spans table", DDL: func(s schema) []string {
		return []string{withGranularity(createTable(s, "spans", spansColumns, "ReplacingMergeTree",
			"(day, retention_days)", "(tenant, service_name, start_ns, id)"), traceGranularity)}
	}},
	{Version: 3, Name: "trace index table", DDL: func(s schema) []string {
		return []string{withGranularity(createTable(s, "trace_index", traceIndexColumns, "MergeTree",
			"(day, retention_days)", "(tenant, trace_id)"), traceGranularity)}
	}},
	{Version: 4, Name: "token bloom filter on log bodies", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{
			fmt.Sprintf("ALTER TABLE %s.%s%s ADD INDEX IF NOT EXISTS body_tokens body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1", s.DB, s.local("logs"), s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.%s%s ADD INDEX IF NOT EXISTS trace_id_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 1", s.DB, s.local("spans"), s.onCluster()),
		}
	}},
	{Version: 5, Name: "column codecs", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{
			fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY COLUMN timestamp Int64 CODEC(DoubleDelta, LZ4)", s.DB, s.local("logs"), s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY COLUMN body String CODEC(ZSTD(1))", s.DB, s.local("logs"), s.onCluster()),
			fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY COLUMN start_ns Int64 CODEC(DoubleDelta, LZ4)", s.DB, s.local("spans"), s.onCluster()),
		}
	}},
	{Version: 6, Name: "retention TTL", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		var out []string
		for _, t := range []string{"logs", "spans", "trace_index"} {
			out = append(out, fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY TTL day + toIntervalDay(retention_days)", s.DB, s.local(t), s.onCluster()))
		}
		return out
	}},
	{Version: 7, Name: "log streams table", DDL: func(s schema) []string {
		return []string{
			createTable(s, "log_streams", logStreamsColumns, "ReplacingMergeTree", "(day, retention_days)", "(tenant, stream_id)"),
			backfillLogStreams(s),
		}
	}},
	{Version: 8, Name: "retention TTL on log streams", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY TTL day + toIntervalDay(retention_days)", s.DB, s.local("log_streams"), s.onCluster())}
	}},
	// Rows stored before this step have bloomed = 0: line filters over a range that
	// holds any of them read every row, as before (see Client.pruneLines).
	{Version: 9, Name: "log line blooms", DDL: func(s schema) []string {
		return []string{
			createTable(s, "log_blooms", logBloomsColumns, "MergeTree", "(day, retention_days)", "(tenant, service_name, min_ts)"),
			fmt.Sprintf("ALTER TABLE %s.%s%s ADD COLUMN bloomed UInt8 DEFAULT 0", s.DB, s.local("logs"), s.onCluster()),
		}
	}},
	{Version: 10, Name: "retention TTL on log blooms", MinServer: Version{Major: 21, Minor: 8}, DDL: func(s schema) []string {
		return []string{fmt.Sprintf("ALTER TABLE %s.%s%s MODIFY TTL day + toIntervalDay(retention_days)", s.DB, s.local("log_blooms"), s.onCluster())}
	}},
}

// backfillLogStreams fills log_streams from the rows stored before it existed; from
// then on every log insert writes its streams first (Client.WriteLogs). Host by host
// it copies each server's local rows (both tables shard by stream); with ON CLUSTER
// DDL the statement runs once, so it goes through the Distributed tables.
func backfillLogStreams(s schema) string {
	from, to := s.local("logs"), s.local("log_streams")
	if s.OnCluster {
		from, to = "logs", "log_streams"
	}
	return fmt.Sprintf("INSERT INTO %[1]s.%[2]s (%[3]s) SELECT tenant, day, retention_days, stream_id, any(service_name), any(labels_keys), any(labels_values) FROM %[1]s.%[4]s GROUP BY tenant, day, retention_days, stream_id",
		s.DB, to, strings.Join(columnNames(logStreamsColumns), ", "), from)
}

// Plan returns the versioned statements that bring a database on server v to the latest
// schema under cfg, given the versions already applied. It is pure so the DDL can be
// tested as text.
func Plan(cfg Config, v Version, applied map[int]bool) (steps []Migration, stmts [][]string) {
	s := schemaOf(cfg)
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
//
// With a cluster (and without ON CLUSTER DDL) it migrates every host that the connected
// server lists for the cluster in system.clusters, one after the other, each with its own
// schema_migrations: ON CLUSTER would need ZooKeeper for its DDL queue, and a host that
// was down is brought up to date by the next Migrate.
func (c *Client) Migrate(ctx context.Context) error {
	s := schemaOf(c.cfg)
	if s.Cluster == "" || s.OnCluster {
		return c.migrateServer(ctx, s)
	}
	hosts, err := c.clusterHosts(ctx, s.Cluster)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		hc, err := open(ctx, c.cfg, []string{h}, 1)
		if err != nil {
			return fmt.Errorf("migrate host %s of cluster %s: %w", h, s.Cluster, err)
		}
		err = hc.migrateServer(ctx, s)
		hc.Close()
		if err != nil {
			return fmt.Errorf("migrate host %s of cluster %s: %w", h, s.Cluster, err)
		}
	}
	return nil
}

// clusterHosts returns the native-protocol address of every replica of every shard.
func (c *Client) clusterHosts(ctx context.Context, cluster string) ([]string, error) {
	q := "SELECT host_name, port FROM system.clusters WHERE cluster = " + Quote(cluster) + " ORDER BY shard_num, replica_num"
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read hosts of cluster %s: %w", cluster, err)
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var (
			host string
			port uint16
		)
		if err := rows.Scan(&host, &port); err != nil {
			return nil, fmt.Errorf("read hosts of cluster %s: %w", cluster, err)
		}
		hosts = append(hosts, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read hosts of cluster %s: %w", cluster, err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("cluster %s is not in system.clusters of %s: define it in the servers' remote_servers configuration", cluster, c.addr)
	}
	return hosts, nil
}

// migrateServer migrates the server c is connected to.
func (c *Client) migrateServer(ctx context.Context, s schema) error {
	// schema_migrations is never replicated: it records what ran on this server.
	boot := []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s%s", s.DB, s.onCluster()),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version", s.DB),
	}
	for _, q := range boot {
		if err := c.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("migrate: %s: %w", firstLine(q), err)
		}
	}
	if err := c.checkLayout(ctx, s); err != nil {
		return err
	}
	if s.OnCluster {
		// Steps may read through the Distributed tables (backfillLogStreams); creating
		// one before its local table exists is allowed.
		for _, q := range s.distributedTables() {
			if err := c.execDDL(ctx, q); err != nil {
				return fmt.Errorf("migrate: %s: %w", firstLine(q), err)
			}
		}
	}
	applied, err := c.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	steps, stmts := Plan(c.cfg, c.version, applied)
	for i, m := range steps {
		for _, q := range stmts[i] {
			if err := c.execDDL(ctx, q); err != nil {
				return fmt.Errorf("migration %d (%s): %s: %w", m.Version, m.Name, firstLine(q), err)
			}
		}
		if err := c.recordMigration(ctx, m); err != nil {
			return err
		}
	}
	for _, q := range s.distributedTables() {
		if err := c.execDDL(ctx, q); err != nil {
			return fmt.Errorf("migrate: %s: %w", firstLine(q), err)
		}
	}
	return nil
}

// errCodeColumnExists is ClickHouse's ILLEGAL_COLUMN, which ADD COLUMN returns for a
// column the table already has.
const errCodeColumnExists = 44

// execDDL runs one statement. ADD COLUMN IF NOT EXISTS is not in 18.16, so an ADD
// COLUMN that finds its column is success: a step interrupted after it, or a
// Distributed table created with the column, runs it again.
func (c *Client) execDDL(ctx context.Context, q string) error {
	err := c.conn.Exec(ctx, q)
	var ex *ch.Exception
	if err != nil && strings.Contains(q, " ADD COLUMN ") && errors.As(err, &ex) && ex.Code == errCodeColumnExists {
		return nil
	}
	return err
}

// checkLayout refuses a database whose data tables were made for the other layout.
// CREATE TABLE IF NOT EXISTS would otherwise keep them: with a cluster, a plain logs
// table in place of the Distributed one would hide the other shards.
func (c *Client) checkLayout(ctx context.Context, s schema) error {
	names := make([]string, len(dataTables))
	for i, t := range dataTables {
		names[i] = Quote(t.name)
	}
	q := fmt.Sprintf("SELECT name, engine FROM system.tables WHERE database = %s AND name IN (%s)", Quote(s.DB), strings.Join(names, ", "))
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("migrate: read tables of %s: %w", s.DB, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			return fmt.Errorf("migrate: read tables of %s: %w", s.DB, err)
		}
		switch distributed := engine == "Distributed"; {
		case s.Cluster != "" && !distributed:
			return fmt.Errorf("migrate: %s.%s on %s is a %s table created without a cluster; to shard it, rename the data tables to their _local names on every server (RENAME TABLE %[1]s.logs TO %[1]s.logs_local, %[1]s.spans TO %[1]s.spans_local, %[1]s.trace_index TO %[1]s.trace_index_local, %[1]s.log_streams TO %[1]s.log_streams_local, %[1]s.log_blooms TO %[1]s.log_blooms_local) and migrate again (docs/scaling.md)",
				s.DB, name, c.addr, engine)
		case s.Cluster == "" && distributed:
			return fmt.Errorf("migrate: %s.%s on %s is a Distributed table: the database was set up for a ClickHouse cluster, so set clickhouse.cluster", s.DB, name, c.addr)
		}
	}
	return rows.Err()
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
