package bench

import (
	"os"
	"testing"
)

func TestFreshPageCostTimesFaults(t *testing.T) {
	if _, err := FreshPageCost(os.Getpagesize()-1, 1); err == nil {
		t.Fatal("less than a page: want an error")
	}
	if _, err := FreshPageCost(1<<20, 0); err == nil {
		t.Fatal("no rounds: want an error")
	}
	d, err := FreshPageCost(8<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A page fault takes at least tens of nanoseconds on any machine; zero would mean
	// the writes were not timed (or never faulted).
	if d <= 0 {
		t.Fatalf("fresh page cost %v, want > 0", d)
	}
	t.Logf("%v per fresh %d-byte page", d, os.Getpagesize())
}
