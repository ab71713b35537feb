// Package logql parses LogQL, the query language of Grafana Loki, and
// evaluates it in memory with Loki 3.x semantics. It owns the grammar, the
// AST, the log pipeline (filters, parsers, formatters), metric evaluation
// (range and vector aggregations, binary operations) and the helpers the
// querier uses to push work down to storage. It does no I/O: entries come in
// through a [Source] or an [EntryIterator]. Standard library only.
//
// # Where to start reading
//
//   - [Parse] turns a query into an [Expr]: a [*LogQueryExpr] (log query) or
//     a [SampleExpr] (metric query). Every node's String prints canonical
//     LogQL that parses back to the same tree. Errors are [*ParseError] with
//     Loki's text, "parse error at line 1, col 15: syntax error: unexpected
//     ...", which Grafana shows as is. lexer.go, parser.go (metric grammar,
//     precedence climbing) and parser_log.go (selectors and pipelines) are
//     the grammar; ast.go and ast_log.go the tree.
//   - [NewPipeline] compiles a log query's stages; [Pipeline.Process] runs
//     them over one [Entry]. labels_builder.go holds Loki's label rules.
//   - [EvalLogs] groups pipeline results into [Streams].
//   - [EvalMetric] evaluates a metric query over a [Params] time range and
//     returns a [Matrix] (range query), or a [Vector] or [Scalar] (instant
//     query). eval_range.go streams entries through per-series windows.
//   - pushdown.go: [LogQueries], [LogQueryExpr.LeadingLineFilters],
//     [AsCountQuery] and [DataRange] tell the planner what storage may do
//     itself.
//
// # Invariants
//
//   - A metric query reads each of its log queries once, in ascending
//     timestamp order across streams; a [Source] that yields older entries
//     after newer ones fails the query with [ErrOutOfOrder]. Memory is
//     bounded by the samples inside one range window, plus the result.
//   - At step t a range aggregation sees entries with timestamps in the
//     left-open window (t - offset - range, t - offset]; steps run from
//     Start to End inclusive. rate is count / range seconds; series whose
//     window is empty are absent at that step.
//   - Labels are sorted and returned Labels values are shared: never
//     modify them. A Pipeline is not safe for concurrent use; parsed
//     expressions are immutable and may be shared.
//   - A metric series still carrying __error__ fails the query with a
//     [*PipelineError], as in Loki; [*ParseError], [*PipelineError] and
//     [*LimitError] are the caller's fault (HTTP 400).
//
// # Supported LogQL
//
// Log queries: stream selectors with = != =~ !~ (at least one matcher that
// rejects the empty value); line filters |= != |~ !~ |> !> with "or" and
// ip("..."); parsers json (all fields, nested keys joined with "_", or
// label="path" parameters), logfmt (--strict, --keep-empty, parameters),
// regexp, pattern, unpack; label filters on strings, numbers, durations,
// byte sizes and ip(), combined with and, "," and or (and binds tighter)
// and parentheses; line_format and label_format with Go templates and
// Loki's function set (ToUpper, trim, default, printf, regexReplaceAll,
// __line__, __timestamp__, sprig's string, math and date subset); drop,
// keep, decolorize. Strings are "..." with Go escapes or `raw`; durations
// take ms s m h d w y (and us ns), compound ones such as 1m30s included.
//
// Metric queries: count_over_time, rate, bytes_over_time, bytes_rate,
// absent_over_time, and with | unwrap x, duration(x), duration_seconds(x)
// or bytes(x) (plus label filters after the unwrap): sum_, avg_, min_,
// max_, stddev_, stdvar_, first_, last_over_time, quantile_over_time(φ, ...),
// rate, rate_counter; [range] and offset; by/without on the unwrap
// aggregations Loki allows it on. Vector aggregations sum, avg, min, max,
// count, stddev, stdvar, topk, bottomk, sort, sort_desc with by/without
// before or after. Binary operators + - * / % ^, == != > >= < <= with bool,
// and, or, unless, with on/ignoring and group_left/group_right; number
// literals, vector(n), label_replace.
//
// Not supported: count_values, approx_topk, variants, the | distinct and
// | limit stages, quoted (UTF-8) label names, unary minus on vectors and
// hexadecimal numbers. Like Loki, no subqueries. Build expressions with
// Parse: hand-made nodes miss the compiled regexps and templates.
//
// Differences from Loki, on purpose: rate_counter follows Prometheus'
// extrapolated rate (Loki's port mixes nanoseconds and milliseconds);
// ranges may use fractional and Go units ([1.5m], [100us]) where Loki only
// takes Prometheus durations; a rename label_format a=a is a no-op (Loki
// drops the label).
package logql
