package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/strataobs/strata/logql"
)

// Line blooms: without a token index on the oldest supported server (skip indexes need
// 21.8), a needle search decompresses and scans every body in range. Each flush
// therefore stores, per stream, a bloom filter of the 4-byte substrings of its lines in
// log_blooms, with the service and time span its rows occupy in the logs sort key. A
// query with |= literals (or |~ required literals, requiredLiterals) of 3+ distinct
// 4-grams tests the blooms first and reads only the
// (service_name, timestamp) ranges of the blocks that may hold every 4-gram of it:
// ranges of the sort key, so ClickHouse reads those granules alone. Substrings, not
// tokens, because |= matches anywhere in a line.

// gramLen is the n of the n-grams.
const gramLen = 4

// gramHash mixes one n-gram (splitmix64's finalizer: every output bit depends on every
// input bit, which the low bits used for small filters need). Bit positions are
// hash & (m-1) for a filter of m bits (a power of two), so a filter folds in half by
// OR-ing its halves. Stored blooms depend on it: changing it needs a new table.
func gramHash(g uint32) uint64 {
	h := uint64(g) + 0x9E3779B97F4A7C15
	h = (h ^ h>>30) * 0xBF58476D1CE4E5B9
	h = (h ^ h>>27) * 0x94D049BB133111EB
	return h ^ h>>31
}

func gramAt(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// minBloomBits is the smallest filter; maxBloomFill is the share of set bits a fold may
// reach. With one hash per n-gram a filter half full answers "maybe" for an absent
// n-gram half the time, and a literal of k n-grams survives with 2^-(k): a 14-byte
// needle (11 n-grams) passes 1 block in 2,000 that lacks it.
const (
	minBloomBits = 512
	maxBloomFill = 0.5
)

// lineSource gives a batch's lines by row: its body column, or a plain list in tests.
type lineSource interface{ at(row int) string }

type lineList []string

func (l lineList) at(row int) string { return l[row] }

// bloomOf builds the filter of lines rows of body. It sizes the filter for every n-gram
// being distinct, then folds it while it stays at most half full, so repetitive lines
// get a small filter.
func bloomOf(body lineSource, rows []int32, scratch []uint64) ([]byte, []uint64) {
	total := 0
	for _, r := range rows {
		total += max(len(body.at(int(r)))-gramLen+1, 0)
	}
	m := max(minBloomBits, 1<<bits.Len(uint(total*3/2)))
	words := m / 64
	if cap(scratch) < words {
		scratch = make([]uint64, words)
	}
	f := scratch[:words]
	clear(f)
	mask := uint64(m - 1)
	for _, r := range rows {
		setGrams(f, mask, body.at(int(r)))
	}
	set := 0
	for _, w := range f {
		set += bits.OnesCount64(w)
	}
	// Folding ORs the halves: a bit stays clear only if both were clear, so the fill
	// goes from p to 1-(1-p)^2.
	for len(f)*64 > minBloomBits {
		p := float64(set) / float64(len(f)*64)
		if 1-(1-p)*(1-p) > maxBloomFill {
			break
		}
		half := len(f) / 2
		set = 0
		for i := 0; i < half; i++ {
			f[i] |= f[half+i]
			set += bits.OnesCount64(f[i])
		}
		f = f[:half]
	}
	out := make([]byte, 8*len(f))
	for i, w := range f {
		binary.LittleEndian.PutUint64(out[8*i:], w)
	}
	return out, scratch
}

// setGrams sets the bits of every n-gram of s in filter f of mask+1 bits. One 8-byte
// load holds five 4-grams: read that way, with their hashes independent of each other,
// bloomOf ran 17% faster than a load and a hash per position (BenchmarkBloomOf).
func setGrams(f []uint64, mask uint64, s string) {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	for ; i+8 <= len(b); i += 5 {
		w := binary.LittleEndian.Uint64(b[i:])
		p0 := gramHash(uint32(w)) & mask
		p1 := gramHash(uint32(w>>8)) & mask
		p2 := gramHash(uint32(w>>16)) & mask
		p3 := gramHash(uint32(w>>24)) & mask
		p4 := gramHash(uint32(w>>32)) & mask
		f[p0>>6] |= 1 << (p0 & 63)
		f[p1>>6] |= 1 << (p1 & 63)
		f[p2>>6] |= 1 << (p2 & 63)
		f[p3>>6] |= 1 << (p3 & 63)
		f[p4>>6] |= 1 << (p4 & 63)
	}
	for ; i+gramLen <= len(b); i++ {
		p := gramHash(binary.LittleEndian.Uint32(b[i:])) & mask
		f[p>>6] |= 1 << (p & 63)
	}
}

// bloomHas reports whether the filter may hold every n-gram hash in grams. Queries test
// blooms in SQL (bloomHasSQL); this is its reference, which tests check it against.
func bloomHas(bloom string, grams []uint64) bool {
	words := len(bloom) / 8
	if words == 0 || words&(words-1) != 0 {
		return true // not a filter this version wrote: keep the block
	}
	mask := uint64(words*64 - 1)
	for _, h := range grams {
		p := h & mask
		if bloom[p>>3]&(1<<(p&7)) == 0 { // little-endian words: bit p is in byte p/8
			return false
		}
	}
	return true
}

// bloomHasSQL is bloomHas in SQL, so the server tests the blooms and only the verdicts
// travel: bit p of the filter is bit p%8 of byte p/8, and p = hash & (bits-1).
func bloomHasSQL(grams []uint64) string {
	conds := make([]string, len(grams))
	for i, h := range grams {
		hs := strconv.FormatUint(h, 10)
		conds[i] = "bitAnd(reinterpretAsUInt8(substring(bloom, intDiv(bitAnd(toUInt64(" + hs + "), length(bloom) * 8 - 1), 8) + 1, 1)), " +
			strconv.FormatUint(1<<(h&7), 10) + ") != 0"
	}
	return "(length(bloom) < 8 OR (" + strings.Join(conds, " AND ") + "))"
}

// blockKey is one log_blooms row: a stream's rows of one flush batch on one day.
type blockKey struct {
	stream  streamKey
	flushID uint64
}

// lineBlocks groups a batch's rows into blocks.
type lineBlocks struct {
	last    blockKey
	lastIdx int
	index   map[blockKey]int
	keys    []blockKey
	service []string
	rows    [][]int32
	lo, hi  []int64
}

func (b *lineBlocks) reset() {
	clear(b.index)
	// Cleared, not only truncated: their strings may point into the last flush's records.
	clear(b.keys)
	clear(b.service)
	b.keys, b.service, b.lo, b.hi = b.keys[:0], b.service[:0], b.lo[:0], b.hi[:0]
	for i := range b.rows {
		b.rows[i] = b.rows[i][:0]
	}
	b.rows = b.rows[:0]
	b.lastIdx = 0
}

func (b *lineBlocks) add(k blockKey, service string, row int32, ts int64) {
	i := b.lastIdx
	if k != b.last || len(b.keys) == 0 {
		var ok bool
		if i, ok = b.index[k]; !ok {
			if b.index == nil {
				b.index = map[blockKey]int{}
			}
			i = len(b.keys)
			b.index[k] = i
			b.keys = append(b.keys, k)
			b.service = append(b.service, service)
			if len(b.rows) < cap(b.rows) { // a Reset batch: reuse the row list's memory
				b.rows = b.rows[:len(b.rows)+1]
				b.rows[i] = b.rows[i][:0]
			} else {
				b.rows = append(b.rows, nil)
			}
			b.lo, b.hi = append(b.lo, ts), append(b.hi, ts)
		}
		b.last, b.lastIdx = k, i
	}
	b.rows[i] = append(b.rows[i], row)
	b.lo[i], b.hi[i] = min(b.lo[i], ts), max(b.hi[i], ts)
}

// bloomColumns builds the log_blooms rows of a batch, once: a batch written again
// (a retried flush) reuses them.
func (b *LogBatch) bloomColumns() []any {
	if b.bloomCols != nil {
		return b.bloomCols
	}
	bl := &b.blocks
	n := len(bl.keys)
	tenant, day, ret, service := make([]string, n), make([]time.Time, n), make([]uint16, n), make([]string, n)
	stream, flush, lo, hi, rows, bloom := make([]uint64, n), make([]uint64, n), make([]int64, n), make([]int64, n), make([]uint32, n), make([]string, n)
	var scratch []uint64
	for i, k := range bl.keys {
		tenant[i], day[i], ret[i], service[i] = k.stream.tenant, k.stream.day, k.stream.retention, bl.service[i]
		stream[i], flush[i], lo[i], hi[i], rows[i] = k.stream.id, k.flushID, bl.lo[i], bl.hi[i], uint32(len(bl.rows[i]))
		var f []byte
		f, scratch = bloomOf(&b.body, bl.rows[i], scratch)
		bloom[i] = string(f)
	}
	b.bloomCols = []any{tenant, day, ret, service, stream, flush, lo, hi, rows, bloom}
	return b.bloomCols
}

// literalGrams are the n-gram hashes every line a filter keeps contains: those of its
// positive single-value |= literals, and of the literals its single-value |~ regexps
// require, of gramLen bytes or more.
func literalGrams(f *LogFilter) []uint64 {
	var out []uint64
	add := func(v string) {
		for i := 0; i+gramLen <= len(v); i++ {
			out = append(out, gramHash(gramAt(v, i)))
		}
	}
	for _, lf := range f.LineFilters {
		if len(lf.Values) != 1 || lf.Values[0].IP {
			continue
		}
		switch lf.Op {
		case logql.LineContains:
			add(lf.Values[0].Value)
		case logql.LineMatchRegexp:
			if re, err := syntax.Parse(lf.Values[0].Value, syntax.Perl); err == nil {
				for _, lit := range requiredLiterals(re.Simplify()) {
					add(lit)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// requiredLiterals are substrings every match of re contains: the case-sensitive
// literals of its top-level sequence, looking through groups and repeats of at least
// one. Alternations, optional parts and case-folded literals give none.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		var out []string
		for _, sub := range re.Sub {
			out = append(out, requiredLiterals(sub)...)
		}
		return out
	}
	return nil
}

// minPruneGrams is the fewest distinct n-grams worth testing the blooms for: a half-full
// bloom passes an absent 4-gram half the time, so one or two leave most blocks to read
// and the bloom scan would only add its cost (a 6-byte literal has three).
const minPruneGrams = 3

// lineRange is a stretch of the logs sort key: one service's rows between two times.
type lineRange struct {
	service string
	lo, hi  int64 // inclusive
}

// maxLineRanges bounds the ranges a query lists; a literal in more blocks than that is
// common enough that reading everything costs about the same.
const maxLineRanges = 2000

// LinePruning is what the line blooms did for one filter (Client.PruneLines).
type LinePruning struct {
	// Pruned is false when the blooms were not used: no literal long enough, rows in
	// range stored before the blooms, or too many candidate blocks.
	Pruned bool
	// Blocks is how many blooms were tested, Candidates how many may hold the literals,
	// Ranges the sort-key ranges read for them.
	Blocks, Candidates, Ranges int
	// Unbloomed reports rows in range stored without blooms.
	Unbloomed bool
}

// PruneLines reports what the line blooms do for f: what reads and counts of f read.
func (c *Client) PruneLines(ctx context.Context, f LogFilter) (LinePruning, error) {
	return c.pruneLines(ctx, &f)
}

// writeBlocksWhere is the condition on log_blooms that selects the flush blocks of f's
// tenant, time range and streams (service_name matchers on the column, the others
// through log_streams).
func writeBlocksWhere(b *strings.Builder, db string, f *LogFilter) {
	writeBlocksRange(b, db, f)
	if cond := streamMatch(f, whereOpts{db: db}); cond != "" {
		b.WriteString(" AND " + cond)
	}
}

// writeBlocksRange is writeBlocksWhere without the stream matchers other than
// service_name.
func writeBlocksRange(b *strings.Builder, db string, f *LogFilter) {
	o := whereOpts{db: db}
	b.WriteString("tenant = ")
	b.WriteString(Quote(f.Tenant))
	writeDays(b, f.Start, f.End)
	fmt.Fprintf(b, " AND max_ts >= %d AND min_ts < %d", f.Start, f.End)
	for _, m := range f.Matchers {
		if m.Name == "service_name" {
			if cond := matcherSQL(m, o); cond != "" {
				b.WriteString(" AND " + cond)
			}
		}
	}
}

// pruneLines narrows f to the sort-key ranges of the blocks whose blooms may hold its
// line filters' literals (LogFilter.ranges). It leaves f alone when nothing can be
// pruned: no literal long enough, too many candidate blocks, or rows in range that
// predate the blooms (bloomed = 0), which only a full read finds.
func (c *Client) pruneLines(ctx context.Context, f *LogFilter) (LinePruning, error) {
	var lp LinePruning
	grams := literalGrams(f)
	if len(grams) < minPruneGrams || f.End <= f.Start {
		return lp, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT count() FROM (SELECT 1 FROM %s.logs WHERE tenant = %s", c.cfg.Database, Quote(f.Tenant))
	writeDays(&b, f.Start, f.End)
	b.WriteString(" AND bloomed = 0 LIMIT 1)")
	var unbloomed uint64
	if err := c.conn.QueryRow(ctx, b.String()).Scan(&unbloomed); err != nil {
		return lp, fmt.Errorf("check line blooms: %w", err)
	}
	if lp.Unbloomed = unbloomed > 0; lp.Unbloomed {
		return lp, nil
	}
	b.Reset()
	fmt.Fprintf(&b, "SELECT service_name, min_ts, max_ts, %s FROM %s.log_blooms WHERE ", bloomHasSQL(grams), c.cfg.Database)
	writeBlocksWhere(&b, c.cfg.Database, f)
	var ranges []lineRange
	tooMany := false
	// Blooms are kilobytes each: 18.16 reads them far faster in small blocks (10,000
	// blooms of 4 KiB: 0.33 s with the default 65,536 rows per block, 0.02 s with 128).
	qctx := ch.Context(ctx, ch.WithSettings(ch.Settings{"max_block_size": 128}))
	err := c.query(qctx, b.String(), func(rows driver.Rows) error {
		var r lineRange
		var hit uint8
		if err := rows.Scan(&r.service, &r.lo, &r.hi, &hit); err != nil {
			return err
		}
		lp.Blocks++
		if hit != 0 {
			lp.Candidates++
			if !tooMany {
				ranges = append(ranges, r)
				tooMany = len(ranges) > 4*maxLineRanges
			}
		}
		return nil
	})
	if err != nil {
		return lp, fmt.Errorf("read line blooms: %w", err)
	}
	if tooMany {
		return lp, nil
	}
	ranges = mergeRanges(ranges)
	lp.Ranges = len(ranges)
	if len(ranges) > maxLineRanges {
		return lp, nil
	}
	f.ranges, f.pruned, lp.Pruned = ranges, true, true
	return lp, nil
}

// mergeRanges sorts ranges and joins the overlapping ones of each service.
func mergeRanges(rs []lineRange) []lineRange {
	slices.SortFunc(rs, func(a, b lineRange) int {
		if c := strings.Compare(a.service, b.service); c != 0 {
			return c
		}
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].service == r.service && r.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// writeRanges restricts a query to f's pruned ranges.
func writeRanges(b *strings.Builder, f *LogFilter) {
	if !f.pruned {
		return
	}
	if len(f.ranges) == 0 {
		b.WriteString(" AND 0")
		return
	}
	b.WriteString(" AND (")
	for i, r := range f.ranges {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(service_name = ")
		b.WriteString(Quote(r.service))
		b.WriteString(" AND timestamp >= ")
		b.WriteString(strconv.FormatInt(r.lo, 10))
		b.WriteString(" AND timestamp <= ")
		b.WriteString(strconv.FormatInt(r.hi, 10))
		b.WriteString(")")
	}
	b.WriteString(")")
}
