// Package querier serves Strata's read APIs over HTTP with gin: Loki-compatible
// (/loki/api/v1/...), Tempo-compatible (/api/...) and the UI's JSON API (/ui/api/...).
// It merges what ingesters hold in memory ([Recent]) with what ClickHouse stores, and
// pushes work into ClickHouse where SQL on the oldest supported server can do it.
//
// # Where to start reading
//
//   - querier.go: Config (limits), Deps, New; one file per API: loki.go, tempo.go, ui.go.
//     Handlers are thin: parse (params.go), call the query code with a context, encode.
//   - loki_query.go: log queries (storage rows and memory merged in order, then
//     logql.EvalLogs) and metric queries (logql.EvalMetric over the same merged rows);
//     loki_pushdown.go: count queries answered by one ClickHouse aggregation.
//   - loki_index.go, loki_detected.go: labels, series, stats, volume, detected_*.
//   - tempo.go, tempo_search.go, tempo_tags.go, tempo_otlp.go: traces by id, TraceQL
//     search, tags; ui.go: services and cluster.
//   - errors.go: the one mapping from errors to statuses. Errors are text/plain like
//     Loki's: 400 for parse errors ("parse error at line 1, col 5: ..."), bad
//     parameters and limits (the text names the flag to raise), 401 without a tenant
//     when auth is on, 429 over the per-tenant concurrency limit, 499 when the client
//     leaves, 503 while storage is unavailable, 504 at the query timeout.
//
// # Tenants and limits
//
// X-Scope-OrgID names the tenant; without it the tenant is -auth.default-tenant unless
// -auth.enabled (the same flags the distributor reads). Every storage read is scoped
// to one tenant. Limits: -querier.query-timeout, -querier.max-query-range,
// -querier.max-entries-limit-per-query, -querier.max-query-series,
// -querier.max-concurrent-queries-per-tenant, -querier.max-search-traces.
//
// # Exact merge with ingesters (the Recent contract)
//
// A result holds every acknowledged record once. Each read asks Recent (when set) and
// ClickHouse, and the contract between them is:
//
//   - Recent.Logs returns the tenant's in-memory records in [Start, End) whose stream
//     matches the matchers, in any order, copies allowed; it may also drop lines the
//     line filters reject. Recent.Spans returns whole traces for TraceIDs, or the spans
//     starting in [Start, End). Rows and spans are built with
//     clickhouse.LogRowFromRecord and clickhouse.SpanFromProto, so they equal what
//     ClickHouse returns for the same record, id included.
//   - ExcludeFlushIDs lists flush batches the ingesters answered from memory: the
//     ClickHouse part of the read leaves them out. Every record stored under such a
//     flush id must be in the rows Recent returned (if it is in the query's range). An
//     ingester names the epochs holding records of the query's tenant and range, flushed
//     or not yet: a flush may land between its answer and the storage read.
//   - Anything else may be in both places (a replica's copy of a record the owner
//     flushed, a repeat after a failover): the querier de-duplicates by record id. Log
//     queries merge storage and memory in (time, id) order and keep one row per id;
//     counts pushed into ClickHouse exclude the ids Recent returned (an external table
//     when there are many) and count those in Go; traces keep one span per id.
//   - With Recent nil (tests) the querier reads ClickHouse only; the app passes
//     IngesterReader (ingesters.go), which asks the ingesters in the ring.
//
// ClickHouse itself may hold copies of a record until ReplacingMergeTree merges them:
// row reads skip adjacent copies (same time and id) and aggregations count distinct
// ids (LIMIT 1 BY id), so copies never count twice. Index statistics (index/stats,
// volume) are estimates, as in Loki, and do not de-duplicate storage copies.
//
// # Pushdown
//
// Stream matchers, time ranges and leading line filters become SQL (storage/clickhouse
// renders them); rows are still run through the whole LogQL pipeline in Go, so SQL
// only has to return a superset, except for counts. A metric query of the form
// sum [by (labels)] (count_over_time|rate|bytes_over_time|bytes_rate({selector}
// <line filters> [range])) — Grafana's volume query included — is one ClickHouse
// aggregation over buckets of gcd(step, range), summed into Loki's left-open windows
// (t - range, t] in Go. Anything else streams rows into logql.EvalMetric. TraceQL
// searches push traceql's per-span conditions into SQL to pick candidate traces
// (newest first), then evaluate the query in Go on each whole trace.
//
// # Not yet
//
// Patterns (answered empty), Loki's multi-tenant "a|b" reads, and a push-based tail:
// the tail websocket (loki_tail.go) polls storage and ingester memory every second.
package querier
