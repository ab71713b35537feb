package ingester

import "sync"

// pushBuffers keeps the memory of retired pushes for the pushes a distributor in this
// process writes (PushBuffer). A push is hundreds of KB, and fresh each time it was a
// fifth of the bytes an all-in-one process allocated: zeroed before it was written, and
// collected. retire gives a push's memory back only when no query is reading held
// records (Ingester.readers), since queries read pushes without the lock.
type pushBuffers struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int64 // capacity of free
	max   int64 // bound on bytes
}

// pushHeadroom: new memory for a push is 1/pushHeadroom larger than the push
// (Ingester.PushBuffer).
const pushHeadroom = 32

// get returns an empty buffer of at least size bytes of capacity, the smallest kept,
// or nil.
func (p *pushBuffers) get(size int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for k, b := range p.free {
		if cap(b) >= size && (best < 0 || cap(b) < cap(p.free[best])) {
			best = k
		}
	}
	if best < 0 {
		return nil
	}
	b := p.free[best]
	last := len(p.free) - 1
	p.free[best], p.free[last] = p.free[last], nil
	p.free = p.free[:last]
	p.bytes -= int64(cap(b))
	return b
}

// put keeps b for a later push, unless that would hold more than max bytes.
func (p *pushBuffers) put(b []byte) {
	if cap(b) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+int64(cap(b)) > p.max {
		return
	}
	p.free = append(p.free, b[:0])
	p.bytes += int64(cap(b))
}

// size is the capacity of the buffers kept.
func (p *pushBuffers) size() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}
