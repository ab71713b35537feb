// Package clickhouse is the only package in Strata that speaks SQL. It owns the schema and
// its migrations, the batch writers the ingesters flush through, and the readers the
// querier uses.
//
// # Schema
//
// One portable baseline runs on ClickHouse 18.16 (the oldest server we support) and on
// current releases; features only newer servers have are added by version-gated migrations
// (see migrations.go). Choices, after what SigNoz, the OTel exporter and Jaeger converged on:
//
//   - Partitions by (day, retention_days): per-tenant retention is a partition drop, which
//     works on every server version, never a row delete.
//   - Sort keys start with tenant and service, then time, then the record id. The record id
//     is deterministic (replicas and retries carry the same one), so ReplacingMergeTree on
//     that key removes the repeats failures can cause.
//   - Timestamps are Int64 unix nanoseconds: DateTime64 does not exist on 18.16 and
//     nanoseconds must survive the round trip.
//   - Attributes are parallel key/value/type arrays; Map does not exist on 18.16.
//   - flush_id marks each flush batch; the querier excludes batches ingesters still hold,
//     which is how a result counts each record exactly once (querier/doc.go).
//   - trace_index maps trace id to its time range, so trace-by-id needs no time range.
//
// Every INSERT names its columns: 18.16 rejects a batch otherwise.
//
// # Writers
//
// LogBatch and SpanBatch (writer.go) collect a flush's rows column by column, strings as
// the bytes and positions ch-go encodes and arrays as offsets and values (columns.go);
// insert hands those to clickhouse-go's columns without copying (colappend.go). A batch
// that is Reset keeps its memory for the next flush. Blocks go uncompressed to loopback
// addresses and LZ4-compressed elsewhere (-clickhouse.compression).
//
// # Cluster
//
// With a cluster name (Config.Cluster) the data tables are <table>_local on every server
// and Distributed tables under the plain names shard them (logs by tenant and stream,
// spans and trace_index by tenant and trace id), so the readers and writers are the same
// in both layouts. Inserts are synchronous (insert_distributed_sync). Migrate runs the
// DDL on each host of system.clusters itself, so neither sharding nor migrations need
// ZooKeeper; Replicated engines and ON CLUSTER DDL are opt-in (docs/scaling.md).
//
// # Readers
//
// User values reach SQL only through [Quote] (fuzzed, and checked against the server);
// no read passes driver arguments, so the driver's placeholder binding never touches a
// literal. Every read is scoped to one tenant and bounds the day partitions.
//
//   - logread.go: [Client.SelectLogs] streams log rows in time order with keyset
//     pagination over adaptive time windows (reading the rest of the range ahead when a
//     line filter scans every row), skipping unmerged copies (same time and id); rows
//     become logql entries with Loki 3's structured metadata (logentry.go) and their
//     stream's labels from log_streams (logstreams.go); attribute arrays arrive packed
//     into one string per row (packedPairsSQL).
//   - logfilter.go: stream matchers, leading line filters (position() for |= and !=,
//     re2 match() for |~ and !~) and flush/record exclusions as SQL. Readers re-check
//     matchers in Go, so SQL regexps only need to be a superset; a regexp the server
//     cannot compile is retried without regexp pushdown.
//   - logcount.go: [Client.CountLogs] counts distinct records per time bucket and
//     group, reading each grouping label with the pipeline's precedence: plain rows
//     outside the time spans where two flush blocks of a stream overlap, distinct ids
//     inside them (logcopies.go: only there can storage hold copies), or else FINAL
//     (uniqExact(id) when the groups read label or attribute arrays) in concurrent
//     time slices of about as many rows each (placed by log_blooms' row counts).
//   - logstreams.go: streams in a range, for labels, series, stats and volume; stream
//     labels by id for reads.
//   - spanread.go, spansearch.go, spantags.go: traces by id through trace_index,
//     TraceQL conditions as a candidate-trace prefilter (exact searches read only the
//     attribute arrays the query needs), tag names and values, and per-service
//     statistics.
//
// Everything runs on 18.16: no toStartOfInterval (buckets are intDiv on the Int64
// nanosecond timestamp), no hasToken, no JSONExtract, no Map.
package clickhouse
