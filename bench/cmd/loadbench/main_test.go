package main

import "testing"

func TestJoinRates(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want string
	}{
		{nil, ""},
		{[]float64{1.4}, "1"},
		{[]float64{1, 2}, "1 and 2"},
		{[]float64{400028, 347073, 422021}, "400028, 347073 and 422021"},
	} {
		if got := joinRates(c.in); got != c.want {
			t.Errorf("joinRates(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
