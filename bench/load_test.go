package bench

import "testing"

func TestRateBetween(t *testing.T) {
	r := &LoadResult{PerSecond: []int64{100, 200, 300, 400}}
	for _, c := range []struct {
		from, to int
		want     float64
	}{
		{0, 4, 250},
		{1, 3, 250},
		{3, 4, 400},
		{2, 5, 0}, // past the load's end
		{2, 2, 0},
	} {
		if got := r.RateBetween(c.from, c.to); got != c.want {
			t.Errorf("RateBetween(%d, %d) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}
