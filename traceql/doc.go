// Package traceql parses TraceQL, Tempo's trace query language, into a typed
// AST, evaluates queries over the spans of one trace in memory, and tells
// the storage layer which per-span conditions it can push into SQL.
//
// It owns the language only: no I/O, no SQL, no HTTP. The querier calls
// [Parse] once per request (a *[ParseError] maps to 400), hands
// [Query.Pushdown] to storage to select candidate traces, then calls
// [Query.Eval] or [Query.EvalSpansets] on each whole, de-duplicated trace.
// A [Query] is immutable and safe for concurrent use.
//
// # Where to start reading
//
//   - ast.go: the node types, operators and intrinsics; print.go: the
//     canonical String() form (Parse(q.String()) round-trips).
//   - lexer.go, parser.go, types.go: recursive descent with Tempo's
//     precedence and Tempo-like type checks at parse time.
//   - eval.go (values, fields, aggregates), spanset.go (pipelines, &&, ||,
//     by, coalesce), structure.go (structural operators).
//   - pushdown.go: [Condition] and [Pushdown], the contract with storage.
//
// # Supported
//
//   - Spanset filters {...}; {} matches every span. Field expressions with
//     && || ! and parentheses; comparisons = != > >= < <=; regexes =~ !~,
//     fully anchored like Tempo's (pattern is matched as ^(?s:pattern)$);
//     arithmetic + - * / % ^ and unary minus.
//   - Intrinsics name, status (error, ok, unset), statusMessage, kind
//     (unspecified, internal, server, client, producer, consumer), duration,
//     childCount, rootName, rootServiceName, traceDuration, and the colon
//     forms span:name, span:status, span:statusMessage, span:kind,
//     span:duration, span:childCount, span:id, span:parentID, trace:id,
//     trace:rootName, trace:rootService, trace:duration.
//   - Attributes resource.x.y, span.x.y, unscoped .x.y (the span attribute
//     if present, else the resource attribute) and quoted names span."a b".
//   - Statics: "double", 'single' (Go escapes) and `raw` strings, ints,
//     floats (1.5, 1e3), durations (1.5s, 100ms, 1h30m, 10us, 10µs, and
//     Prometheus' 1d, 1w, 1y), true, false, nil, status and kind keywords.
//   - Spanset operators && and ||, and all structural operators: > < >> <<
//     ~, their negations !> !< !>> !<< !~ and union forms &> &< &>> &<< &~.
//   - Pipelines: {...} | {...}, scalar filters over count(), avg(), min(),
//     max(), sum() with arithmetic (| count() > 2, | avg(duration) > 1s),
//     by(), coalesce() and select() (see [Query.Selects]); parenthesised
//     pipelines as spanset operands: ({a} | count() > 1) && {b}.
//
// # Not supported (a ParseError says so)
//
// The parent., event., link. and instrumentation. scopes and their
// intrinsics (event:name, link:traceID, ...), the parent and nestedSet*
// intrinsics, arrays, query hints (with(...)), metrics functions (rate(),
// quantile_over_time(), ... behind /api/metrics) and scalar pipelines
// compared with each other (({a} | count()) > ({b} | count())).
//
// # Semantics worth knowing
//
// They follow Tempo, including its quirks:
//
//   - && and || have the same precedence and group left to right, in field
//     and in spanset expressions: { a || b && c } is { (a || b) && c }. The
//     canonical form adds the parentheses. Unary ! binds tighter than
//     comparisons: !a = b is (!a) = b.
//   - A comparison with a missing attribute is false, != included;
//     `!= nil` tests existence. Values of different types are never equal
//     (an int 500 attribute does not match "500"); ints, floats and
//     durations compare as numbers, durations in nanoseconds.
//   - {A} && {B} matches when both match somewhere in the trace and returns
//     the union of their spans; {A} || {B} when either does.
//   - Structural operators need both sides to match, the negated ones too.
//     A span whose parent is not in the trace is treated as a root. Where
//     Tempo rejects a structural operator after by() ("multiple spansets"),
//     we use the union of the groups.
//   - rootName and rootServiceName come from the span without a parent
//     (the earliest one if a broken trace has several) and are nil when the
//     trace has none; traceDuration is the latest end minus the earliest
//     start over all spans.
//   - by() keeps groups in order of first appearance (Tempo's order is
//     random); aggregates skip spans where their argument is nil or not a
//     number and add "count()", "avg(duration)", ... to the spanset's
//     attributes as Tempo does.
package traceql
