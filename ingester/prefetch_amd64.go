package ingester

import "unsafe"

// prefetchLine asks the CPU to bring the cache line at addr in, without waiting for it:
// unlike a load, a prefetch does not hold up the instructions after it while it misses.
//
//go:noescape
func prefetchLine(addr unsafe.Pointer)
