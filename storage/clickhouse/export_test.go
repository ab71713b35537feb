package clickhouse

import "context"

// AheadUsed is how many windows the iterator took from a read ahead (startAhead).
func (it *LogIterator) AheadUsed() int { return it.aheadUsed }

// SetMinSlicedRows lowers the row count above which counts are split into slices, so a
// small fixture exercises them; the returned function restores it.
func SetMinSlicedRows(n uint64) (restore func()) {
	old := minSlicedRows
	minSlicedRows = n
	return func() { minSlicedRows = old }
}

// CountSlicesOf is how CountLogs would split q.
func (c *Client) CountSlicesOf(ctx context.Context, q LogCountQuery) [][2]int64 {
	return c.countSlices(ctx, &q)
}

// CopyCounts is how many counts were answered between copies (countBetweenCopies)
// rather than FINAL.
func (c *Client) CopyCounts() int64 { return c.copyCounts.Load() }

// SetBeforeCopyCount runs f before each count countBetweenCopies makes.
func (c *Client) SetBeforeCopyCount(f func()) { c.beforeCopyCount = f }

// SetMinRowsPerBlock lowers the rows per flush block below which counts read FINAL, so
// a small fixture looks for copies among its blocks; the returned function restores it.
func SetMinRowsPerBlock(n uint64) (restore func()) {
	old := minRowsPerBlock
	minRowsPerBlock = n
	return func() { minRowsPerBlock = old }
}
