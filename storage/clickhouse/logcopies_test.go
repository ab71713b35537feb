package clickhouse

import (
	"reflect"
	"strings"
	"testing"
	"time"
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

func TestCopyAreaNamesFewSpansAndGranulesOfMany(t *testing.T) {
	ms := int64(time.Millisecond)
	few := []copySpan{{0, 1}, {10, 11}}
	a := areaOf(few)
	if a.grain != 0 || !reflect.DeepEqual(a.asSpans(), few) || !strings.Contains(a.sql(), " OR ") {
		t.Errorf("areaOf(%v) = %+v (sql %s), want the spans themselves", few, a, a.sql())
	}

	// 100 spans of 2 ms, one a second: 1 ms granules name them all.
	var many []copySpan
	for i := range int64(100) {
		many = append(many, copySpan{i*1000*ms + 5*ms, i*1000*ms + 7*ms - 1})
	}
	a = areaOf(many)
	if a.grain != ms || len(a.granules) != 200 {
		t.Errorf("areaOf(100 spans of 2 ms) has grain %d and %d granules, want 1 ms and 200", a.grain, len(a.granules))
	}
	if !a.covers(many) || !reflect.DeepEqual(a.asSpans(), many) {
		t.Errorf("areaOf(100 spans) does not cover exactly them: %v", a.asSpans()[:3])
	}
	for _, out := range []copySpan{{7 * ms, 7 * ms}, {4*ms + 999_999, 5 * ms}, {0, 99 * time.Second.Nanoseconds()}} {
		if a.covers([]copySpan{out}) {
			t.Errorf("area of 100 spans covers %v", out)
		}
	}
	if sql := a.sql(); !strings.HasPrefix(sql, "intDiv(timestamp, 1000000) IN (5,6,1005,1006,") {
		t.Errorf("sql = %.60s", sql)
	}

	// 5,000 spans of 10 ms every 20 s: granules grow until at most maxCopyGranules.
	many = many[:0]
	for i := range int64(5000) {
		many = append(many, copySpan{i * 20 * time.Second.Nanoseconds(), i*20*time.Second.Nanoseconds() + 10*ms})
	}
	a = areaOf(many)
	if len(a.granules) > maxCopyGranules || a.grain <= ms || !a.covers(many) || !within(many, a.asSpans()) {
		t.Errorf("areaOf(5000 spans): grain %d, %d granules; covers them: %v", a.grain, len(a.granules), a.covers(many))
	}

	// Around zero, intDiv truncates: granule 0 holds (-grain, grain).
	a = copyArea{grain: 10, granules: []int64{-1, 0, 2}}
	if got, want := a.asSpans(), []copySpan{{-19, 9}, {20, 29}}; !reflect.DeepEqual(got, want) {
		t.Errorf("asSpans around zero = %v, want %v", got, want)
	}
	if !a.covers([]copySpan{{-19, 9}}) || a.covers([]copySpan{{-20, -20}}) || a.covers([]copySpan{{10, 10}}) {
		t.Error("covers around zero disagrees with asSpans")
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
