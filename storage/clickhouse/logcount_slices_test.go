package clickhouse

import (
	"reflect"
	"testing"
)

func TestRowSlices(t *testing.T) {
	defer SetMinSlicedRows(100)()
	const start, end = int64(1000), int64(1640) // 64 buckets of 10
	hist := func(rows map[int]uint64) []uint64 {
		h := make([]uint64, 64)
		for b, n := range rows {
			h[b] = n
		}
		return h
	}
	cases := []struct {
		name string
		n    int
		hist []uint64
		want [][2]int64
	}{
		{"no rows counted: equal time", 2, hist(nil), [][2]int64{{1000, 1320}, {1320, 1640}}},
		{"no blooms at all: equal time", 2, nil, [][2]int64{{1000, 1320}, {1320, 1640}}},
		{"few rows: whole", 2, hist(map[int]uint64{3: 50, 60: 49}), [][2]int64{{1000, 1640}}},
		{"rows in the last quarter only", 2, hist(map[int]uint64{48: 100, 52: 100, 56: 100, 60: 100}),
			[][2]int64{{1000, 1530}, {1530, 1640}}},
		{"uniform, three slices", 3, func() []uint64 {
			h := make([]uint64, 64)
			for i := range h {
				h[i] = 10
			}
			return h
		}(), [][2]int64{{1000, 1220}, {1220, 1430}, {1430, 1640}}},
		{"all rows in the last bucket: whole", 2, hist(map[int]uint64{63: 500}), [][2]int64{{1000, 1640}}},
		{"all rows in the first bucket", 2, hist(map[int]uint64{0: 500}), [][2]int64{{1000, 1010}, {1010, 1640}}},
	}
	for _, c := range cases {
		got := rowSlices(start, end, c.n, c.hist)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		// Whatever the histogram, slices tile [start, end) in order.
		lo := start
		for _, s := range got {
			if s[0] != lo || s[1] <= s[0] {
				t.Errorf("%s: slices %v do not tile [%d, %d)", c.name, got, start, end)
			}
			lo = s[1]
		}
		if lo != end {
			t.Errorf("%s: slices %v end at %d, want %d", c.name, got, lo, end)
		}
	}
}
