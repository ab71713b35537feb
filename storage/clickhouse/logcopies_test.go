package clickhouse

import (
	"reflect"
	"testing"
)

func TestOverlapsAreWhereTwoBlocksOfAStreamMeet(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blocks   []flushBlock
		excluded []uint64
		lo, hi   int64
		want     []copySpan
	}{
		{name: "one stream, flushes one after another", blocks: []flushBlock{
			{1, 1, 0, 9, 1}, {1, 2, 10, 19, 1}, {1, 3, 20, 29, 1},
		}, lo: 0, hi: 100},
		{name: "streams apart overlap in time, not on one stream", blocks: []flushBlock{
			{1, 1, 0, 9, 1}, {2, 1, 5, 15, 1}, {3, 2, 0, 20, 1},
		}, lo: 0, hi: 100},
		{name: "a retried flush overlaps itself", blocks: []flushBlock{
			{1, 1, 0, 9, 1}, {1, 2, 10, 19, 1}, {1, 2, 10, 19, 1},
		}, lo: 0, hi: 100, want: []copySpan{{10, 19}}},
		{name: "a block meets one that ended earlier but reaches further", blocks: []flushBlock{
			{7, 3, 30, 35, 1}, {7, 1, 0, 50, 1}, {7, 2, 10, 12, 1},
		}, lo: 0, hi: 100, want: []copySpan{{10, 12}, {30, 35}}},
		{name: "a shared timestamp is an overlap", blocks: []flushBlock{
			{1, 1, 0, 10, 1}, {1, 2, 10, 19, 1},
		}, lo: 0, hi: 100, want: []copySpan{{10, 10}}},
		{name: "spans of streams are joined and clipped to the range", blocks: []flushBlock{
			{1, 1, 0, 10, 1}, {1, 2, 5, 19, 1}, {2, 1, 8, 30, 1}, {2, 2, 10, 40, 1}, {3, 1, 26, 30, 1}, {3, 2, 27, 40, 1},
		}, lo: 7, hi: 25, want: []copySpan{{7, 25}}},
		{name: "excluded flushes are not read", blocks: []flushBlock{
			{1, 1, 0, 10, 1}, {1, 9, 5, 19, 1}, {1, 2, 11, 12, 1},
		}, excluded: []uint64{9}, lo: 0, hi: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := overlaps(tc.blocks, tc.excluded, tc.lo, tc.hi); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("overlaps = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFewSpansJoinsTheClosest(t *testing.T) {
	spans := []copySpan{{0, 1}, {10, 11}, {13, 14}, {100, 101}, {104, 105}}
	if got, want := fewSpans(spans, 3), []copySpan{{0, 1}, {10, 14}, {100, 105}}; !reflect.DeepEqual(got, want) {
		t.Errorf("fewSpans(3) = %v, want %v", got, want)
	}
	if got, want := fewSpans(spans, 1), []copySpan{{0, 105}}; !reflect.DeepEqual(got, want) {
		t.Errorf("fewSpans(1) = %v, want %v", got, want)
	}
	if got := fewSpans(spans, 16); !reflect.DeepEqual(got, spans) {
		t.Errorf("fewSpans(16) = %v, want them unchanged", got)
	}
}

func TestWithin(t *testing.T) {
	outer := []copySpan{{0, 10}, {20, 30}}
	for _, tc := range []struct {
		inner []copySpan
		want  bool
	}{
		{nil, true},
		{[]copySpan{{0, 10}}, true},
		{[]copySpan{{2, 3}, {21, 30}}, true},
		{[]copySpan{{5, 12}}, false},
		{[]copySpan{{11, 19}}, false},
		{[]copySpan{{25, 31}}, false},
		{[]copySpan{{2, 3}, {40, 41}}, false},
	} {
		if got := within(tc.inner, outer); got != tc.want {
			t.Errorf("within(%v, %v) = %v, want %v", tc.inner, outer, got, tc.want)
		}
		if got := within(tc.inner, nil); got != (len(tc.inner) == 0) {
			t.Errorf("within(%v, nil) = %v", tc.inner, got)
		}
	}
}

func TestSpannedRows(t *testing.T) {
	blocks := []flushBlock{{1, 1, 0, 99, 1000}, {2, 1, 100, 199, 3000}}
	for _, tc := range []struct {
		spans []copySpan
		want  float64
	}{
		{nil, 0},
		{[]copySpan{{0, 49}}, 500.0 / 4000},
		{[]copySpan{{0, 49}, {150, 300}}, 2000.0 / 4000},
		{[]copySpan{{-5, 500}}, 1},
	} {
		if got := spannedRows(blocks, tc.spans); got != tc.want {
			t.Errorf("spannedRows(%v) = %v, want %v", tc.spans, got, tc.want)
		}
	}
	if got := spannedRows(nil, []copySpan{{0, 1}}); got != 0 {
		t.Errorf("spannedRows of no blocks = %v, want 0", got)
	}
}
