//go:build !amd64

package ingester

import "unsafe"

// prefetchLine is a no-op where Strata has no prefetch instruction for it.
func prefetchLine(unsafe.Pointer) {}
