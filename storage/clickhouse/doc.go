// Package clickhouse is the only package in Strata that speaks SQL. It owns the schema and
// its migrations, the batch writers the ingesters flush through, and (later) the readers.
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
package clickhouse
