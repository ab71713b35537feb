package clickhouse

// AheadUsed is how many windows the iterator took from a read ahead (startAhead).
func (it *LogIterator) AheadUsed() int { return it.aheadUsed }
