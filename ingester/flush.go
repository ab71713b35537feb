package ingester

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-kit/log/level"
	dsring "github.com/grafana/dskit/ring"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// flushWork is one epoch's share of a flush pass: either records this ingester owns,
// or records it flushes as a fallback replica.
type flushWork struct {
	ep       *epoch
	fallback bool
	// logView and spanView are the epoch's entries as of collect. Appends never move the
	// entries a view shows, and only their state changes (under i.mu), so the batch can be
	// built from a view without the lock.
	logView  []logEntry
	spanView []spanEntry
	pushView []*heldPush // the epoch's pushes, which the views' entries name
	logIdx   []int32     // positions in ep.logs
	spanIdx  []int32     // positions in ep.spans
	minTS    int64
	maxTS    int64

	*flushBatch // from prepare to the end of write
	buildTime   time.Duration
	ids         []uint64
	// builtLogs and builtSpans are the positions in ep of the records built, in ids' order.
	builtLogs, builtSpans []int32
	// releases lists, per replica address and tenant, the ids that replica may drop.
	releases map[string]map[string]*pb.ReleaseRequest
}

// flushBatch is the columns one flush builds. Flushes reuse them: a fresh batch for
// every flush cost its INSERT's size in new memory, zeroed and faulted in, and handed
// back to the kernel soon after (clickhouse.LogBatch).
type flushBatch struct {
	logs     clickhouse.LogBatch
	spans    clickhouse.SpanBatch
	order    []logOrder // sortLogs' scratch
	orderTmp []logOrder // sortLogOrder's
}

func (i *Ingester) getBatch() *flushBatch {
	select {
	case b := <-i.batches:
		return b
	default:
		return &flushBatch{}
	}
}

func (i *Ingester) putBatch(b *flushBatch) {
	b.logs.Reset()
	b.spans.Reset()
	select {
	case i.batches <- b:
	default:
	}
}

func (w *flushWork) empty() bool { return len(w.logIdx)+len(w.spanIdx) == 0 }

func (w *flushWork) span(ts int64) {
	if w.empty() || ts < w.minTS {
		w.minTS = ts
	}
	if w.empty() || ts > w.maxTS {
		w.maxTS = ts
	}
}

// flushPass rotates the open epoch when due, flushes every record this ingester is
// responsible for now, and retires finished epochs. It returns how many records are
// still pending in closed epochs.
func (i *Ingester) flushPass(ctx context.Context, now time.Time, final bool) int {
	i.flushMu.Lock()
	defer i.flushMu.Unlock()

	healthy := i.refreshHealthy()
	i.mu.Lock()
	i.healthy = healthy
	if c := i.cur; c.records() > 0 && (final || now.Sub(c.opened) >= i.cfg.MaxEpochAge || c.records() >= i.cfg.MaxEpochRecords || i.pressed(c)) {
		i.closeEpoch(c, now)
	}
	var work []*flushWork
	if !now.Before(i.nextFlush) {
		work = i.collect(now, final)
	}
	i.mu.Unlock()

	i.flushAll(ctx, work, now, !final)

	i.mu.Lock()
	defer i.mu.Unlock()
	// Retention counts from each epoch's flush to the end of this pass, not to its start:
	// a pass that flushed for a second would otherwise keep its epochs a pass longer.
	i.retire(time.Now())
	i.expireEarlyReleases(now)
	pending := 0
	for _, e := range i.epochs {
		if e.isClosed() {
			pending += e.pending
		}
	}
	return pending
}

// pressed reports whether the open epoch c should close before its age because memory
// fills up: with half of -ingester.max-memory-bytes in use and a full INSERT's worth of
// records, or with pushes refused at any size, waiting for the age only lets pushes be
// refused while the flusher idles (an epoch's records are also freed together, so
// smaller epochs free memory sooner). Callers hold i.mu.
func (i *Ingester) pressed(c *epoch) bool {
	used := i.memoryInUse()
	return used > i.cfg.MaxMemoryBytes || (c.records() >= i.cfg.insertRecords() && used >= i.cfg.MaxMemoryBytes/2)
}

// flushAll flushes the works in order, building each while the one before it is
// written: ClickHouse runs an INSERT on one thread, and a flush that built its batch
// (decode, sort, blooms) and only then wrote it left that thread idle for the build,
// about a quarter of each flush. -ingester.flush-concurrency INSERTs run at once, and one
// batch more is built ahead. After a failure no further work starts; what failed, or
// was built but not written, stays pending for the next pass.
//
// With more, epochs that close while the last work is written join the pass (see
// takeMore), so their first batch is built during that INSERT: taken up by the next
// pass instead, it was built with ClickHouse's INSERT thread idle, 100-300 ms every few
// INSERTs under steady load.
func (i *Ingester) flushAll(ctx context.Context, work []*flushWork, now time.Time, more bool) {
	var (
		wg       sync.WaitGroup
		failed   atomic.Bool
		built    = make(chan *flushWork)
		inFlight atomic.Int32 // works handed to the writers and not yet done
		idle     = make(chan struct{}, 1)
		until    = now.Add(i.cfg.MaxEpochAge)
	)
	go func() {
		defer close(built)
		for {
			for k, w := range work {
				if failed.Load() || i.prepare(ctx, w) != nil {
					failed.Store(true)
					i.doneFlushing(work[k:])
					return
				}
				inFlight.Add(1)
				built <- w
				// A written batch is garbage: the pass's other works must not keep it alive.
				work[k] = nil
			}
			if !more {
				return
			}
			if work = i.takeMore(ctx, &failed, &inFlight, idle, until); len(work) == 0 {
				return
			}
		}
	}()
	for range max(1, i.cfg.FlushConcurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range built {
				if !failed.Load() && i.write(ctx, w, now) != nil {
					failed.Store(true)
				}
				i.putBatch(w.flushBatch)
				w.flushBatch = nil
				i.doneFlushing([]*flushWork{w})
				if inFlight.Add(-1) == 0 {
					select {
					case idle <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
}

// takeMore waits, while the pass's works are still being written, for an epoch to
// close, and returns the work collected from it. It returns none once the writers are
// idle, after a failure, or at until (-ingester.max-epoch-age into the pass), so the
// flush loop still checks the open epoch's age and does its upkeep.
func (i *Ingester) takeMore(ctx context.Context, failed *atomic.Bool, inFlight *atomic.Int32, idle <-chan struct{}, until time.Time) []*flushWork {
	deadline := time.NewTimer(time.Until(until))
	defer deadline.Stop()
	for {
		if inFlight.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case <-idle:
			continue // checked above; the token may predate the last hand-over
		case <-i.closedInPass:
		}
		if failed.Load() {
			return nil
		}
		now := time.Now()
		// The pass's writes change the flush state that collect reads (due).
		i.flushStateMu.Lock()
		i.mu.Lock()
		var work []*flushWork
		if !now.Before(i.nextFlush) {
			work = i.collect(now, false)
		}
		i.mu.Unlock()
		i.flushStateMu.Unlock()
		if len(work) > 0 {
			return work
		}
	}
}

// doneFlushing counts works no longer in flight (see epoch.flushing).
func (i *Ingester) doneFlushing(works []*flushWork) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, w := range works {
		w.ep.flushing--
	}
}

func (i *Ingester) closeEpoch(c *epoch, now time.Time) {
	c.closed = now
	if c.pending == 0 {
		c.doneAt = now
	}
	i.cur = i.newEpoch(now)
	i.m.epochs.Inc()
}

// collect picks the pending records this ingester should flush now: those it owns, and
// those whose owner has had its time to flush them (fallback). Owned work is built into
// batches at once; fallback work is built after storage was asked what it already holds.
// Callers hold i.mu.
func (i *Ingester) collect(now time.Time, final bool) []*flushWork {
	var out []*flushWork
	for _, e := range i.epochs {
		// An epoch with works in flight is taken up again only after they end (a pass
		// that takes more, takeMore, meets the epochs it is writing).
		if !e.isClosed() || e.pending == 0 || e.flushing > 0 {
			continue
		}
		own, fb := &flushWork{ep: e}, &flushWork{ep: e, fallback: true}
		for k := range e.logs {
			if e.logs[k].state != statePending {
				continue
			}
			le := e.logAt(k)
			pl := le.meta().Placement
			if !i.due(e, pl, le.id, now, final) {
				continue
			}
			w := pick(own, fb, pl)
			w.span(le.ts)
			w.logIdx = append(w.logIdx, int32(k))
		}
		for k := range e.spans {
			if e.spans[k].state != statePending {
				continue
			}
			se := e.spanAt(k)
			pl := se.meta().Placement
			if !i.due(e, pl, se.id, now, final) {
				continue
			}
			w := pick(own, fb, pl)
			w.span(se.ts)
			w.spanIdx = append(w.spanIdx, int32(k))
		}
		for _, w := range []*flushWork{own, fb} {
			if !w.empty() {
				w.logView, w.spanView, w.pushView = e.logs, e.spans, e.pushes
				cs := w.chunks(i.cfg.insertRecords())
				e.flushing += len(cs)
				out = append(out, cs...)
			}
		}
	}
	return out
}

// logAt is the view's log entry k with its push.
func (w *flushWork) logAt(k int32) heldLog { return logIn(w.logView, w.pushView, int(k)) }

func (w *flushWork) spanAt(k int32) heldSpan { return spanIn(w.spanView, w.pushView, int(k)) }

// chunks splits w into works of at most n records each, all of about the same size: cut
// at n, an epoch a little over it left a tail of a few thousand records, a small INSERT
// that cost ClickHouse several times more per row and a part to merge. The views and the
// epoch are shared, so each chunk is built, written, marked and released on its own.
func (w *flushWork) chunks(n int) []*flushWork {
	total := len(w.logIdx) + len(w.spanIdx)
	if total <= n {
		return []*flushWork{w}
	}
	parts := (total + n - 1) / n
	var out []*flushWork
	logs, spans := w.logIdx, w.spanIdx
	for p := range parts {
		size := total / parts
		if p < total%parts {
			size++
		}
		c := &flushWork{ep: w.ep, fallback: w.fallback, logView: w.logView, spanView: w.spanView, pushView: w.pushView}
		k := min(size, len(logs))
		c.logIdx, logs = logs[:k:k], logs[k:]
		k = min(size-len(c.logIdx), len(spans))
		c.spanIdx, spans = spans[:k:k], spans[k:]
		first := true
		widen := func(ts int64) {
			if first || ts < c.minTS {
				c.minTS = ts
			}
			if first || ts > c.maxTS {
				c.maxTS = ts
			}
			first = false
		}
		for _, j := range c.logIdx {
			widen(w.logView[j].ts)
		}
		for _, j := range c.spanIdx {
			widen(w.spanView[j].ts)
		}
		out = append(out, c)
	}
	return out
}

func pick(own, fallback *flushWork, p *pb.Placement) *flushWork {
	if p.GetRank() == 0 {
		return own
	}
	return fallback
}

// build fills w's batches from its picked entries, skipping those in skip. With
// checkState (callers then hold i.mu) it also skips entries no longer pending; without, it
// runs unlocked on the views, and a record released meanwhile is stored anyway: a repeat
// the record id absorbs, never a loss.
func (i *Ingester) build(w *flushWork, skip map[uint64]bool, checkState bool) error {
	self := i.Addr()
	id := w.ep.id
	w.releases = map[string]map[string]*pb.ReleaseRequest{}
	w.logs.Grow(len(w.logIdx))
	w.spans.Grow(len(w.spanIdx))
	w.ids = make([]uint64, 0, len(w.logIdx)+len(w.spanIdx))
	w.builtLogs, w.builtSpans = make([]int32, 0, len(w.logIdx)), make([]int32, 0, len(w.spanIdx))
	var ret retentionCache
	w.sortLogs()
	for n, k := range w.logIdx {
		prefetchHeldAhead(w.logView, w.pushView, w.logIdx, n)
		le := w.logAt(k)
		if (checkState && le.state != statePending) || skip[le.id] {
			continue
		}
		meta := le.meta()
		if err := w.logs.AddEncoded(le.tenant(), ret.days(i, le.tenant()), id, meta, le.resource(), le.bytes()); err != nil {
			return fmt.Errorf("held log record %016x: %w", le.id, err)
		}
		w.ids = append(w.ids, le.id)
		w.builtLogs = append(w.builtLogs, k)
		w.addRelease(self, le.tenant(), meta.Placement, le.id, false)
	}
	for _, k := range w.spanIdx {
		se := w.spanAt(k)
		if (checkState && se.state != statePending) || skip[se.id] {
			continue
		}
		span, err := se.decode()
		if err != nil {
			return err
		}
		w.spans.Add(se.tenant(), ret.days(i, se.tenant()), id, se.resource(), span)
		w.ids = append(w.ids, se.id)
		w.builtSpans = append(w.builtSpans, k)
		w.addRelease(self, se.tenant(), se.meta().Placement, se.id, true)
	}
	return nil
}

// logOrder is a log record's place in the logs table's sort key (tenant, service_name,
// timestamp, id), with (tenant, service_name) as its rank among the batch's few
// distinct pairs: comparing integers, the sort costs a third of comparing the strings.
type logOrder struct {
	group uint32
	idx   int32
	ts    int64
	id    uint64
}

// tenantService is a (tenant, service_name) pair of a batch.
type tenantService struct{ tenant, service string }

// sortLogs puts w's log records in the logs table's sort order. ClickHouse checks
// whether an inserted block is already sorted and then skips sorting it and reordering
// every column: a fifth of the INSERT, which is the flush's critical path (it runs on
// one ClickHouse thread), for a sort here that runs while the previous batch is written.
func (w *flushWork) sortLogs() {
	// A push's records of one resource share its *pb.Resource, and a push has one
	// tenant: the resource pointer finds a record's pair without comparing strings.
	groupOf := map[*pb.Resource]uint32{}
	groups := map[tenantService]uint32{}
	var pairs []tenantService
	keys := slices.Grow(w.order[:0], len(w.logIdx))
	var lastRes *pb.Resource
	var last uint32
	for _, k := range w.logIdx {
		le := w.logAt(k)
		if res := le.resource(); res != lastRes || len(keys) == 0 {
			g, ok := groupOf[res]
			if !ok {
				p := tenantService{le.tenant(), res.GetServiceName()}
				if g, ok = groups[p]; !ok {
					g = uint32(len(pairs))
					groups[p] = g
					pairs = append(pairs, p)
				}
				groupOf[res] = g
			}
			lastRes, last = res, g
		}
		keys = append(keys, logOrder{group: last, ts: le.ts, id: le.id, idx: k})
	}
	// Ranks replace the pairs' numbers of first appearance.
	byName := make([]uint32, len(pairs))
	for g := range byName {
		byName[g] = uint32(g)
	}
	slices.SortFunc(byName, func(a, b uint32) int {
		if c := strings.Compare(pairs[a].tenant, pairs[b].tenant); c != 0 {
			return c
		}
		return strings.Compare(pairs[a].service, pairs[b].service)
	})
	rank := make([]uint32, len(pairs))
	for r, g := range byName {
		rank[g] = uint32(r)
	}
	for n := range keys {
		keys[n].group = rank[keys[n].group]
	}
	w.orderTmp = sortLogOrder(keys, w.orderTmp)
	for n := range keys {
		w.logIdx[n] = keys[n].idx
	}
	w.order = keys[:0]
}

// Radix sorting: keys of up to 64 bits in digits of radixBits; below minRadixSort keys
// a comparison sort is quicker.
const (
	radixBits    = 11
	radixBuckets = 1 << radixBits
	minRadixSort = 4096
)

func compareLogOrder(a, b logOrder) int {
	if a.group != b.group {
		return cmp.Compare(a.group, b.group)
	}
	if a.ts != b.ts {
		return cmp.Compare(a.ts, b.ts)
	}
	return cmp.Compare(a.id, b.id)
}

// sortLogOrder sorts keys by (group, ts, id), with tmp (returned, grown) as scratch.
// A batch's timestamps span seconds and its groups are few, so (group, ts - the
// earliest) packs into one integer of a few dozen bits, sorted by a least-significant-
// digit radix sort in 3-5 passes over the keys, skipping digits every key shares; equal
// (group, ts) runs are then put in id order. pdqsort's comparisons through a function
// cost 2-3 times as much on an epoch of 200,000 records (BenchmarkSortLogOrder). Keys
// spanning too wide a range for one integer, and short batches, take the comparison
// sort.
func sortLogOrder(keys, tmp []logOrder) []logOrder {
	if len(keys) < minRadixSort {
		slices.SortFunc(keys, compareLogOrder)
		return tmp
	}
	minTs, maxTs, maxGroup := keys[0].ts, keys[0].ts, keys[0].group
	for _, k := range keys {
		minTs, maxTs, maxGroup = min(minTs, k.ts), max(maxTs, k.ts), max(maxGroup, k.group)
	}
	tsBits := bits.Len64(uint64(maxTs - minTs))
	if maxTs-minTs < 0 || tsBits+bits.Len32(maxGroup) > 64 {
		slices.SortFunc(keys, compareLogOrder)
		return tmp
	}
	packed := func(k *logOrder) uint64 { return uint64(k.group)<<tsBits | uint64(k.ts-minTs) }
	passes := (tsBits + bits.Len32(maxGroup) + radixBits - 1) / radixBits
	var counts [64/radixBits + 1][radixBuckets]uint32
	for n := range keys {
		p := packed(&keys[n])
		for d := range passes {
			counts[d][(p>>(d*radixBits))&(radixBuckets-1)]++
		}
	}
	tmp = slices.Grow(tmp[:0], len(keys))[:len(keys)]
	src, dst := keys, tmp
	for d := range passes {
		c := &counts[d]
		if c[(packed(&src[0])>>(d*radixBits))&(radixBuckets-1)] == uint32(len(keys)) {
			continue // every key has this digit
		}
		var at uint32
		for b := range c {
			c[b], at = at, at+c[b]
		}
		shift := d * radixBits
		for n := range src {
			b := (packed(&src[n]) >> shift) & (radixBuckets - 1)
			dst[c[b]] = src[n]
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	// Equal (group, ts) runs, rare with nanosecond timestamps, in id order.
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end].group == keys[start].group && keys[end].ts == keys[start].ts {
			end++
		}
		if end-start > 1 {
			slices.SortFunc(keys[start:end], compareLogOrder)
		}
		start = end
	}
	return tmp
}

// retentionCache remembers the last tenant's retention: a batch is mostly one tenant.
type retentionCache struct {
	tenant string
	d      uint16
}

func (c *retentionCache) days(i *Ingester, tenant string) uint16 {
	if tenant != c.tenant || c.d == 0 {
		c.tenant, c.d = tenant, uint16(i.overrides.For(tenant).RetentionDays)
	}
	return c.d
}

// prepareFallback asks storage which of a fallback's records another replica already
// stored (its release never reached us: we were down, or it was lost), marks those
// released and builds the batch from the rest.
func (i *Ingester) prepareFallback(ctx context.Context, w *flushWork) error {
	i.mu.Lock()
	ids := make([]uint64, 0, len(w.logIdx)+len(w.spanIdx))
	for _, k := range w.logIdx {
		ids = append(ids, w.ep.logs[k].id)
	}
	for _, k := range w.spanIdx {
		ids = append(ids, w.ep.spans[k].id)
	}
	i.mu.Unlock()
	qctx, cancel := context.WithTimeout(ctx, i.cfg.FlushTimeout)
	defer cancel()
	stored, err := i.store.StoredAmong(qctx, ids, w.minTS, w.maxTS, w.ep.id)
	if err != nil {
		return fmt.Errorf("check stored records before fallback flush: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	var already []uint64
	for id := range stored {
		already = append(already, id)
	}
	i.m.fallbackAlreadyStored.Add(float64(i.release(already, time.Now())))
	return i.build(w, stored, true)
}

// due reports whether a record of closed epoch e with placement p should be flushed by
// this ingester now. The fallback clock of rank k > 0 starts at the later of the epoch's
// close and the moment this ingester's storage writes last started succeeding.
func (i *Ingester) due(e *epoch, p *pb.Placement, id uint64, now time.Time, final bool) bool {
	rank := p.GetRank()
	if rank == 0 {
		return true
	}
	if i.storageOKSince.IsZero() && !final {
		return false
	}
	from := e.closed
	if i.storageOKSince.After(from) {
		from = i.storageOKSince
	}
	if final && !i.higherRankHealthy(p, rank) {
		// Shutting down with no healthy replica ranked before this one: nobody else will
		// flush it soon, so this ingester does, after asking storage what is there.
		return true
	}
	if _, ok := i.promoted[id]; ok {
		// The owner refused this record: this replica moves up one rank, and no healthy
		// owner is worth waiting for.
		return now.Sub(from) >= time.Duration(rank-1)*i.cfg.ReleaseGrace
	}
	wait := time.Duration(rank) * i.cfg.ReleaseGrace
	if i.higherRankHealthy(p, rank) {
		// A healthy owner is most likely just slow to flush (a busy machine, a slow
		// ClickHouse): give it longer before repeating its work. Records it never got
		// are still flushed, later.
		wait *= healthyOwnerGraceFactor
	}
	return now.Sub(from) >= wait
}

// mustFlushBeforeStop counts the pending records a stopping ingester should not leave
// behind: its own, promoted ones, and those with no healthy replica ranked before it.
// The rest wait for a healthy owner's flush; they stay in the WAL, and after a restart
// the fallback finds them stored (prepareFallback) or flushes them. Callers hold i.mu.
func (i *Ingester) mustFlushBeforeStop() int {
	n := 0
	for _, e := range i.epochs {
		for k := range e.logs {
			if e.logs[k].state != statePending {
				continue
			}
			if le := e.logAt(k); i.responsibleAtStop(le.meta().Placement, le.id) {
				n++
			}
		}
		for k := range e.spans {
			if e.spans[k].state != statePending {
				continue
			}
			if se := e.spanAt(k); i.responsibleAtStop(se.meta().Placement, se.id) {
				n++
			}
		}
	}
	return n
}

func (i *Ingester) responsibleAtStop(p *pb.Placement, id uint64) bool {
	rank := p.GetRank()
	if rank == 0 {
		return true
	}
	if _, ok := i.promoted[id]; ok {
		return true
	}
	return !i.higherRankHealthy(p, rank)
}

// healthyOwnerGraceFactor stretches a replica's fallback wait while a replica ranked
// before it is healthy in the ring.
const healthyOwnerGraceFactor = 4

// higherRankHealthy reports whether a replica ranked before rank is healthy in the ring,
// as of the current flush pass. Callers hold i.mu.
func (i *Ingester) higherRankHealthy(p *pb.Placement, rank uint32) bool {
	for k, addr := range p.GetReplicas() {
		if uint32(k) >= rank {
			break
		}
		if i.healthy[addr] {
			return true
		}
	}
	return false
}

// refreshHealthy snapshots which ingesters are healthy in the ring, once per flush pass.
func (i *Ingester) refreshHealthy() map[string]bool {
	if i.ring == nil {
		return nil
	}
	rs, err := i.ring.GetAllHealthy(dsring.Write)
	if err != nil {
		return nil
	}
	out := make(map[string]bool, len(rs.Instances))
	for _, in := range rs.Instances {
		out[in.Addr] = true
	}
	return out
}

func (w *flushWork) addRelease(self, tenant string, p *pb.Placement, id uint64, span bool) {
	for _, addr := range p.GetReplicas() {
		if addr == self || addr == "" {
			continue
		}
		byTenant := w.releases[addr]
		if byTenant == nil {
			byTenant = map[string]*pb.ReleaseRequest{}
			w.releases[addr] = byTenant
		}
		req := byTenant[tenant]
		if req == nil {
			req = &pb.ReleaseRequest{Tenant: tenant, FlushId: w.ep.id}
			byTenant[tenant] = req
		}
		if span {
			req.SpanIds = append(req.SpanIds, id)
		} else {
			req.LogIds = append(req.LogIds, id)
		}
	}
}

// prepare builds w's batch: the records it still has to write, sorted as storage keeps
// them, with what storage derives from them, and stores what must precede them (the
// batch's index rows, Store.PrepareLogs) while the batch before is written. A failure
// backs off, and w holds no batch.
func (i *Ingester) prepare(ctx context.Context, w *flushWork) error {
	start := time.Now()
	w.flushBatch = i.getBatch()
	var err error
	if w.fallback {
		err = i.prepareFallback(ctx, w)
	} else {
		err = i.build(w, nil, false)
	}
	if err == nil {
		fctx, cancel := context.WithTimeout(ctx, i.cfg.FlushTimeout)
		err = i.store.PrepareLogs(fctx, &w.logs)
		cancel()
	}
	if err != nil {
		i.putBatch(w.flushBatch)
		w.flushBatch = nil
		i.flushFailed(ctx, err)
		return err
	}
	w.buildTime = time.Since(start)
	return nil
}

// write inserts w's built batch, logs the flush in the WAL, marks the records and tells
// the other replicas. A failure backs off; the records stay pending.
func (i *Ingester) write(ctx context.Context, w *flushWork, now time.Time) error {
	if len(w.ids) == 0 {
		return nil
	}
	start := time.Now()
	// The intent lets a restart after a crash mid-flush ask storage which of these ids
	// landed, instead of flushing them all again (recovery.go).
	if _, err := i.wal.Append(withHeader(recFlushIntent, w.ep.id, encodeIDs(w.ids))); err != nil {
		i.flushFailed(ctx, fmt.Errorf("WAL append of flush intent: %w", err))
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, i.cfg.FlushTimeout)
	defer cancel()
	err := i.store.WriteLogs(fctx, &w.logs)
	if err == nil {
		err = i.store.WriteSpans(fctx, &w.spans)
	}
	if err != nil {
		i.flushFailed(ctx, err)
		return err
	}
	wrote := time.Since(start)
	i.m.flushDur.Observe((w.buildTime + wrote).Seconds())
	i.m.flushed.WithLabelValues("logs").Add(float64(w.logs.Len()))
	i.m.flushed.WithLabelValues("spans").Add(float64(w.spans.Len()))
	i.m.batchSize.Observe(float64(len(w.ids)))
	i.flushStateMu.Lock()
	if i.storageOKSince.IsZero() {
		i.storageOKSince = time.Now()
	}
	i.backoff = 0
	i.flushStateMu.Unlock()
	// The WAL learns of the flush so a restart does not flush these records again. If
	// this append fails the records are flushed again after a restart: a repeat, not a loss.
	if _, err := i.wal.Append(withHeader(recFlushed, w.ep.id, encodeIDs(w.ids))); err != nil {
		level.Warn(i.logger).Log("msg", "WAL append of flush marker failed", "err", err)
	}
	i.mu.Lock()
	i.markWritten(w, time.Now())
	// Epochs whose retention ended while this INSERT ran leave memory now, not at the end
	// of the pass: a pass of two INSERTs kept them up to a second longer.
	i.retire(time.Now())
	i.mu.Unlock()
	i.sendReleases(w.releases)
	level.Debug(i.logger).Log("msg", "flushed", "epoch", w.ep.id, "logs", w.logs.Len(), "spans", w.spans.Len(), "build", w.buildTime, "write", wrote)
	return nil
}

// markWritten marks w's written records flushed. They are found by their place in the
// epoch, which appends keep, not by id: an index lookup per record, a cache miss each with
// i.mu held, was a fifth of a write's CPU. Callers hold i.mu.
func (i *Ingester) markWritten(w *flushWork, now time.Time) {
	e := w.ep
	for _, k := range w.builtLogs {
		i.markOne(e, &e.logs[k].state, now)
	}
	for _, k := range w.builtSpans {
		i.markOne(e, &e.spans[k].state, now)
	}
}

func (i *Ingester) flushFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		// Cut short because the ingester is stopping, not a storage failure: a backoff
		// would only hold up the flush before it stops.
		level.Debug(i.logger).Log("msg", "flush interrupted by shutdown; it is done again before the ingester stops", "err", err)
		return
	}
	i.m.flushErrors.Inc()
	i.flushStateMu.Lock()
	defer i.flushStateMu.Unlock()
	i.storageOKSince = time.Time{}
	if i.backoff == 0 {
		i.backoff = 100 * time.Millisecond
	} else {
		i.backoff = min(2*i.backoff, i.cfg.MaxFlushBackoff)
	}
	i.nextFlush = time.Now().Add(i.backoff)
	level.Warn(i.logger).Log("msg", "flush failed; will retry", "backoff", i.backoff, "err", err)
}

// sendReleases tells replicas what was flushed, in parallel, best effort: a replica that
// misses a release flushes its copy after its grace, which is a repeat, not a loss.
func (i *Ingester) sendReleases(releases map[string]map[string]*pb.ReleaseRequest) {
	if i.peers == nil {
		return
	}
	var wg sync.WaitGroup
	for addr, byTenant := range releases {
		for tenant, req := range byTenant {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				cl, err := i.peers.Get(addr)
				if err == nil {
					_, err = cl.Release(client.WithTenant(ctx, tenant), req)
				}
				if err != nil {
					i.m.releaseErrors.Inc()
					level.Debug(i.logger).Log("msg", "release failed", "peer", addr, "err", err)
				}
			}()
		}
	}
	wg.Wait()
}

// retire frees epochs whose records are all flushed or released and whose retention has
// passed, then truncates the WAL below the oldest live epoch. Callers hold i.mu.
func (i *Ingester) retire(now time.Time) {
	keep := i.epochs[:0]
	for _, e := range i.epochs {
		if e == i.cur || !e.isClosed() || e.pending > 0 || e.reserved > 0 || e.flushing > 0 || e.doneAt.IsZero() || now.Sub(e.doneAt) < i.cfg.FlushedRetention {
			keep = append(keep, e)
			continue
		}
		for k := range e.logs {
			if k+prefetchAhead < len(e.logs) {
				i.index.prefetch(e.logs[k+prefetchAhead].id)
			}
			i.index.delete(e.logs[k].id)
		}
		for k := range e.spans {
			if k+prefetchAhead < len(e.spans) {
				i.index.prefetch(e.spans[k+prefetchAhead].id)
			}
			i.index.delete(e.spans[k].id)
		}
		delete(i.bySeq, e.seq)
		i.memBytes -= e.bytes
		if i.readers == 0 {
			for _, p := range e.pushes {
				if p.own {
					i.bufs.put(p.raw)
					p.raw = nil
				}
			}
		}
		e.logs, e.spans, e.pushes = nil, nil, nil
	}
	if len(keep) < len(i.epochs) {
		close(i.freed)
		i.freed = make(chan struct{})
	}
	for k := len(keep); k < len(i.epochs); k++ {
		i.epochs[k] = nil
	}
	i.epochs = keep
	oldest := i.cur.firstSeg
	for _, e := range i.epochs {
		oldest = min(oldest, e.firstSeg)
	}
	if err := i.wal.Truncate(oldest); err != nil {
		level.Warn(i.logger).Log("msg", "WAL truncate failed", "err", err)
	}
}

// heldPrefetchBytes is how much of a held record prefetchHeldAhead asks for: a realistic
// record's 5 lines (BenchmarkFlushRows: 355-360 ns a record against 395-407 with 3 lines
// and 434-446 without prefetch).
const heldPrefetchBytes = 320

// prefetchHeldAhead is build's prefetch at step n of a loop over idx (positions in logs):
// the entry 2*prefetchAhead steps on, and the first bytes of the record prefetchAhead
// steps on, whose entry the step before asked for. In the logs table's order the
// records of concurrent pushes interleave, so each record's bytes lie away from the
// last one's, and out of cache in an ingester holding hundreds of MB.
func prefetchHeldAhead(logs []logEntry, pushes []*heldPush, idx []int32, n int) {
	if m := n + 2*prefetchAhead; m < len(idx) {
		prefetchLine(unsafe.Pointer(&logs[idx[m]]))
	}
	if m := n + prefetchAhead; m < len(idx) {
		le := &logs[idx[m]]
		raw := pushes[le.push].raw
		for o, end := le.off, le.off+min(le.n, heldPrefetchBytes); o < end; o += 64 {
			prefetchLine(unsafe.Pointer(&raw[o]))
		}
	}
}
