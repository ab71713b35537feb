package bench

import (
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"
)

// FreshPageCost is how long a process takes to fault in one page of memory it has just
// mapped: it maps size bytes, writes one byte per page, unmaps them, and returns the
// median of rounds. Every byte a process grows by costs this much per page, which on
// some virtual machines is far more than the work done with it; the load report states
// it so that page fault counts can be read as time.
func FreshPageCost(size, rounds int) (time.Duration, error) {
	page := os.Getpagesize()
	if size < page || rounds < 1 {
		return 0, fmt.Errorf("fresh page cost: need at least one page (%d bytes) and one round, got %d bytes and %d rounds", page, size, rounds)
	}
	costs := make([]time.Duration, 0, rounds)
	for range rounds {
		m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return 0, fmt.Errorf("fresh page cost: mmap %d bytes: %w", size, err)
		}
		start := time.Now()
		for off := 0; off < size; off += page {
			m[off] = 1
		}
		costs = append(costs, time.Since(start)/time.Duration(size/page))
		if err := syscall.Munmap(m); err != nil {
			return 0, fmt.Errorf("fresh page cost: munmap: %w", err)
		}
	}
	slices.Sort(costs)
	return costs[len(costs)/2], nil
}
