package logql

import (
	"cmp"
	"context"
	"slices"
)

// EntryIterator yields log entries. Next advances and reports whether an
// entry is available; Err reports why iteration stopped early.
type EntryIterator interface {
	Next() bool
	At() Entry
	Err() error
	Close() error
}

// SelectRequest asks a Source for the entries one log query reads.
type SelectRequest struct {
	// Log is the log query: the source must return entries whose stream
	// matches Log.Matchers. It may also drop entries that fail
	// Log.LeadingLineFilters() (pushdown), and must not apply anything else:
	// the evaluator runs the whole pipeline itself.
	Log *LogQueryExpr
	// Start (inclusive) and End (exclusive) bound entry timestamps, in unix
	// nanoseconds.
	Start, End int64
}

// Source returns the entries of a request in ascending timestamp order
// across all streams (globally sorted; ties in any order). The evaluator
// fails with ErrOutOfOrder otherwise.
type Source func(ctx context.Context, req SelectRequest) (EntryIterator, error)

// sliceIterator iterates over a slice.
type sliceIterator struct {
	entries []Entry
	i       int
}

// NewSliceIterator returns an iterator over entries, in slice order.
func NewSliceIterator(entries []Entry) EntryIterator {
	return &sliceIterator{entries: entries, i: -1}
}

func (it *sliceIterator) Next() bool {
	it.i++
	return it.i < len(it.entries)
}

func (it *sliceIterator) At() Entry    { return it.entries[it.i] }
func (it *sliceIterator) Err() error   { return nil }
func (it *sliceIterator) Close() error { return nil }

// SliceSource serves requests from entries held in memory: it applies the
// selector and the time range. The entries are sorted by timestamp once,
// here; tests and small in-memory data sets use it.
func SliceSource(entries []Entry) Source {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return func(_ context.Context, req SelectRequest) (EntryIterator, error) {
		i, _ := slices.BinarySearchFunc(sorted, req.Start, func(e Entry, t int64) int { return cmp.Compare(e.Timestamp, t) })
		return &filterIterator{entries: sorted[i:], req: req, i: -1}, nil
	}
}

// filterIterator yields the entries of a sorted slice that match a request.
type filterIterator struct {
	entries []Entry
	req     SelectRequest
	i       int
}

func (it *filterIterator) Next() bool {
	for it.i++; it.i < len(it.entries); it.i++ {
		e := &it.entries[it.i]
		if e.Timestamp >= it.req.End {
			it.i = len(it.entries)
			return false
		}
		if MatchesLabels(it.req.Log.Matchers, e.Stream) {
			return true
		}
	}
	return false
}

func (it *filterIterator) At() Entry    { return it.entries[it.i] }
func (it *filterIterator) Err() error   { return nil }
func (it *filterIterator) Close() error { return nil }
