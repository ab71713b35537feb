package logql

import (
	"context"
	"slices"
)

// EvalLogsParams control EvalLogs.
type EvalLogsParams struct {
	// Limit stops after this many kept entries; 0 is unlimited. Entries are
	// kept in iteration order, so a source iterating newest first (Loki's
	// default "backward" direction) keeps the newest ones.
	Limit int
	// Categorize groups streams by stream labels only and puts structured
	// metadata and parsed labels on each entry, as Loki does for clients
	// sending the categorize-labels encoding flag.
	Categorize bool
}

// EvalLogs runs a log query's pipeline over entries and groups the kept
// lines into streams by their resulting labels. Entries within a stream stay
// in iteration order; streams are sorted by labels.
func EvalLogs(ctx context.Context, expr *LogQueryExpr, it EntryIterator, p EvalLogsParams) (Streams, error) {
	pipe, err := NewPipeline(expr)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	var out Streams
	var key []byte
	kept := 0
	for n := 0; it.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := it.At()
		se := StreamEntry{Timestamp: e.Timestamp}
		var ls Labels
		var ok bool
		if p.Categorize {
			var c CategorizedLabels
			se.Line, c, ok = pipe.ProcessCategorized(e)
			ls, se.StructuredMetadata, se.Parsed = c.Stream, c.StructuredMetadata, c.Parsed
		} else {
			se.Line, ls, ok = pipe.Process(e)
		}
		if !ok {
			continue
		}
		key = ls.appendKey(key[:0])
		i, found := index[string(key)]
		if !found {
			i = len(out)
			index[string(key)] = i
			out = append(out, Stream{Labels: ls})
		}
		out[i].Entries = append(out[i].Entries, se)
		if kept++; p.Limit > 0 && kept >= p.Limit {
			break
		}
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Stream) int { return CompareLabels(a.Labels, b.Labels) })
	return out, nil
}
