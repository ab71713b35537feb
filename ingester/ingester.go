package ingester

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/wal"
)

// Config is the ingester configuration.
type Config struct {
	WAL               wal.Config    `yaml:"wal"`
	MaxEpochAge       time.Duration `yaml:"max_epoch_age"`
	MaxEpochRecords   int           `yaml:"max_epoch_records"`
	MaxInsertRecords  int           `yaml:"max_insert_records"`
	FlushCheckPeriod  time.Duration `yaml:"flush_check_period"`
	FlushConcurrency  int           `yaml:"flush_concurrency"`
	ReleaseGrace      time.Duration `yaml:"release_grace"`
	FlushedRetention  time.Duration `yaml:"flushed_retention"`
	MaxMemoryBytes    int64         `yaml:"max_memory_bytes"`
	MaxWALBytes       int64         `yaml:"max_wal_bytes"`
	PushWait          time.Duration `yaml:"push_wait"`
	FlushTimeout      time.Duration `yaml:"flush_timeout"`
	MaxFlushBackoff   time.Duration `yaml:"max_flush_backoff"`
	ShutdownFlushWait time.Duration `yaml:"shutdown_flush_timeout"`
}

// RegisterFlags registers the ingester flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.WAL.RegisterFlagsWithPrefix("ingester.wal-", f)
	f.DurationVar(&c.MaxEpochAge, "ingester.max-epoch-age", 5*time.Second, "Longest time records collect in memory before they are flushed to ClickHouse as one batch.")
	f.IntVar(&c.MaxEpochRecords, "ingester.max-epoch-records", 200000, "Records per flush batch; a batch is flushed when it reaches this size even if it is younger than -ingester.max-epoch-age.")
	f.IntVar(&c.MaxInsertRecords, "ingester.max-insert-records", 100000, "Records per ClickHouse INSERT of a flush; a batch above it goes out in several. ClickHouse 18.16 spends 4.1-4.5 CPU µs per row on INSERTs of 100,000 rows against 6.4-7.4 on 25,000; the ingester holds one INSERT's columns (about 650 bytes a record on realistic logs) while it is built and sent, so INSERTs are also kept to -ingester.max-memory-bytes / 4096 records.")
	f.DurationVar(&c.FlushCheckPeriod, "ingester.flush-check-period", 500*time.Millisecond, "How often the flush loop looks for work.")
	f.IntVar(&c.FlushConcurrency, "ingester.flush-concurrency", 1, "INSERTs a flush runs at once; the next batch is always built while one is written. Worth raising when ClickHouse runs on other machines (on a 2-core machine shared with it, 2 measured no faster).")
	f.DurationVar(&c.ReleaseGrace, "ingester.release-grace", 30*time.Second, "How long a rank-k replica waits (k times this) for the owner to flush a record before flushing it itself.")
	f.DurationVar(&c.FlushedRetention, "ingester.flushed-retention", time.Second, "How long flushed records stay in memory after their INSERT. Exact reads do not depend on it with one ClickHouse server (queries ask the ingesters first and leave out of ClickHouse the flush ids they name); with replicated ClickHouse tables set it above the replication lag (docs/scaling.md). The records count against -ingester.max-memory-bytes until then.")
	f.Int64Var(&c.MaxMemoryBytes, "ingester.max-memory-bytes", 512<<20, "Records held in memory above which pushes are refused with a retryable RESOURCE_EXHAUSTED (for example while ClickHouse is down). A process running an ingester also sets the Go runtime's soft memory limit to 1.75 times this, unless GOMEMLIMIT is set.")
	f.Int64Var(&c.MaxWALBytes, "ingester.max-wal-bytes", 8<<30, "WAL size above which pushes are refused with a retryable RESOURCE_EXHAUSTED.")
	f.DurationVar(&c.PushWait, "ingester.push-wait", time.Second, "How long a push that finds the ingester at its memory or WAL limit waits for a flush to free room before it is refused with RESOURCE_EXHAUSTED; at most 16 pushes wait at once, the others are refused at once. 0 refuses at once.")
	f.DurationVar(&c.FlushTimeout, "ingester.flush-timeout", time.Minute, "Timeout of one flush to ClickHouse.")
	f.DurationVar(&c.MaxFlushBackoff, "ingester.max-flush-backoff", 10*time.Second, "Longest wait between retries of a failed flush.")
	f.DurationVar(&c.ShutdownFlushWait, "ingester.shutdown-flush-timeout", 2*time.Minute, "How long a stopping ingester tries to flush before it gives up and leaves the rest in its WAL.")
}

// insertBytesPerRecord is how much of -ingester.max-memory-bytes each record of one
// INSERT may claim: its columns take about 650 bytes a realistic record, held twice
// while clickhouse-go encodes them, and the batch keeps its buffers for the next flush,
// so an INSERT stays within about a third of the limit. Unbounded, a 64 MiB ingester
// kept columns for 100,000 records and refused every push from then on.
const insertBytesPerRecord = 4096

// insertRecords is the records per INSERT: -ingester.max-insert-records, or fewer when
// -ingester.max-memory-bytes is small.
func (c *Config) insertRecords() int {
	return int(max(1, min(int64(c.MaxInsertRecords), c.MaxMemoryBytes/insertBytesPerRecord)))
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.WAL.Validate(); err != nil {
		return err
	}
	if c.PushWait < 0 {
		return fmt.Errorf("ingester: push-wait must not be negative")
	}
	if c.MaxEpochAge <= 0 || c.MaxEpochRecords <= 0 || c.MaxInsertRecords <= 0 || c.FlushCheckPeriod <= 0 || c.FlushConcurrency <= 0 {
		return fmt.Errorf("ingester: max-epoch-age, max-epoch-records, max-insert-records, flush-check-period and flush-concurrency must be positive")
	}
	return nil
}

// Store is where flushed records go.
type Store interface {
	// PrepareLogs stores ahead of WriteLogs what it derives from a batch's rows, and
	// must store before them.
	PrepareLogs(ctx context.Context, b *clickhouse.LogBatch) error
	WriteLogs(ctx context.Context, b *clickhouse.LogBatch) error
	WriteSpans(ctx context.Context, b *clickhouse.SpanBatch) error
	// StoredIDs returns the ids of the records stored under a flush id.
	StoredIDs(ctx context.Context, flushID uint64) (map[uint64]bool, error)
	// StoredAmong returns which of ids are stored under a flush id other than
	// exceptFlushID, whoever flushed them; records lie within [minTS, maxTS] (unix ns).
	StoredAmong(ctx context.Context, ids []uint64, minTS, maxTS int64, exceptFlushID uint64) (map[uint64]bool, error)
}

// Ingester is the push service, the in-memory store and the flusher.
type Ingester struct {
	services.Service
	pb.UnimplementedIngesterServer

	cfg       Config
	store     Store
	overrides *limits.Overrides
	peers     *client.Pool
	logger    log.Logger
	m         *metrics

	lifecycler *dsring.BasicLifecycler
	ringOpts   LifecyclerFactory
	wal        *wal.WAL

	mu        sync.Mutex
	cur       *epoch
	epochs    []*epoch // oldest first, cur last
	index     idIndex
	bySeq     map[uint32]*epoch // live epochs by seq, for entryRefs
	nextSeq   uint32
	memBytes  int64
	closing   bool
	epochBase uint64
	epochSeq  uint64

	ring    HealthyRing     // nil: fall back on time alone
	healthy map[string]bool // ring members healthy as of the last flush pass

	// earlyReleased remembers releases for records not received yet (a replica that lags
	// behind the owner), so they are not flushed again when they arrive.
	earlyReleased map[uint64]time.Time
	// promoted remembers records whose owner refused them (see Promote), whether they
	// arrived here yet or not.
	promoted map[uint64]time.Time

	stored     atomic.Int64 // records kept since start, for the ingest rate in Stats
	rate       rateMeter
	heapReadAt atomic.Int64
	// heapMu guards the last GC's live heap reading (see heapInUse).
	heapMu     sync.Mutex
	heapLive   int64      // live heap the last GC measured
	heapMem    int64      // memBytes when that reading was first seen
	heapCycle  uint64     // the GC cycle of the reading
	heapPool   int64      // bytes in bufs at the reading: live heap, yet free for pushes
	heapSeenAt int64      // when it was first seen, unix ns
	gcMu       sync.Mutex // one collectIfStale at a time

	flushMu sync.Mutex // one flush pass at a time
	// flushStateMu guards the three fields below against a pass's concurrent flushes;
	// between passes (collect, due) flushMu alone suffices. takeMore collects while the
	// pass's flushes run, so it holds flushStateMu (then mu).
	flushStateMu   sync.Mutex
	storageOKSince time.Time // zero while flushes fail; see package doc
	backoff        time.Duration
	nextFlush      time.Time
	// batches are emptied flush batches kept for the next flushes (flush.go).
	batches chan *flushBatch
	// epochClosed wakes the flush loop when a push closes a full epoch, so its flush need
	// not wait for the next -ingester.flush-check-period.
	epochClosed chan struct{}
	// closedInPass does the same for a flush pass that waits for more work (takeMore):
	// the flush loop is then inside the pass, and a pass run by anyone else must not
	// race it for one signal.
	closedInPass chan struct{}
	// freed is closed, and replaced, when retired epochs free memory: pushes waiting for
	// room (admitWaiting) look again. Guarded by mu.
	freed   chan struct{}
	waiting atomic.Int32 // pushes in admitWaiting
	// waitFailed is set when a push waited all of -ingester.push-wait in vain (ClickHouse
	// down, say), and cleared when a push is admitted: meanwhile Admit refuses at once.
	waitFailed atomic.Bool

	// bufs keeps retired pushes' memory for new ones (PushBuffer). readers counts the
	// queries reading held records outside the lock, which pins every push; guarded by mu.
	bufs    pushBuffers
	readers int
}

// HealthyRing is the part of the ring the flush-ownership protocol reads.
type HealthyRing interface {
	GetAllHealthy(op dsring.Operation) (dsring.ReplicationSet, error)
}

// SetRing lets replicas see whether the owner of a record is healthy (see flush.go).
// Flush passes read the ring under flushMu, so it may be set while the ingester runs.
func (i *Ingester) SetRing(r HealthyRing) {
	i.flushMu.Lock()
	defer i.flushMu.Unlock()
	i.ring = r
}

// LifecyclerFactory builds the ring lifecycler; nil runs the ingester outside any ring.
type LifecyclerFactory func() (*dsring.BasicLifecycler, error)

// indexedRecords is how many held records the id index is sized for at start: five
// epochs, what an RF=3 ingester holds under steady load (its own and its replicas'
// records, the epoch filling, those flushing and those kept for
// -ingester.flushed-retention), since growing later rehashes every id while pushes
// wait. The table is live heap from the start, which -ingester.max-memory-bytes counts,
// so it stays within about 6% of that (32 MiB of the default 512).
func indexedRecords(cfg Config) int {
	return int(min(5*int64(cfg.MaxEpochRecords), cfg.MaxMemoryBytes/512))
}

// New builds an ingester. The WAL is opened and replayed when the service starts.
func New(cfg Config, store Store, overrides *limits.Overrides, peers *client.Pool, newLifecycler LifecyclerFactory, reg prometheus.Registerer, logger log.Logger) *Ingester {
	i := &Ingester{
		cfg: cfg, store: store, overrides: overrides, peers: peers,
		logger: log.With(logger, "component", "ingester"), m: newMetrics(reg),
		ringOpts: newLifecycler, index: newIDIndex(indexedRecords(cfg)), bySeq: map[uint32]*epoch{}, earlyReleased: map[uint64]time.Time{}, promoted: map[uint64]time.Time{},
		epochBase:    rand.Uint64() &^ 0xffffffff, // flush ids: random high half, counter low half
		batches:      make(chan *flushBatch, max(1, cfg.FlushConcurrency)+1),
		epochClosed:  make(chan struct{}, 1),
		closedInPass: make(chan struct{}, 1),
		freed:        make(chan struct{}),
		bufs:         pushBuffers{max: cfg.MaxMemoryBytes / 8},
	}
	i.Service = services.NewBasicService(i.starting, i.running, i.stopping).WithName("ingester")
	return i
}

func (i *Ingester) starting(ctx context.Context) error {
	if err := os.MkdirAll(i.cfg.WAL.Dir, 0o755); err != nil {
		return fmt.Errorf("create WAL dir: %w", err)
	}
	w, err := wal.Open(i.cfg.WAL)
	if err != nil {
		return fmt.Errorf("open WAL: %w", err)
	}
	i.wal = w
	i.cur = i.newEpoch(time.Now())
	// Storage counts as working until a flush fails; otherwise a replica that owns nothing
	// would never start its fallback clock.
	i.storageOKSince = time.Now()
	if err := i.replay(); err != nil {
		return err
	}
	// The lifecycler joins the ring only after replay, so no write reaches an ingester
	// that has not recovered its state yet.
	if i.ringOpts != nil {
		lc, err := i.ringOpts()
		if err != nil {
			return err
		}
		i.lifecycler = lc
		if i.peers != nil {
			// A distributor in this process pushes to this ingester without gRPC.
			i.peers.SetLocal(lc.GetInstanceAddr(), i)
		}
		// Its own context: the ingester, not the caller, decides when it leaves the ring.
		if err := services.StartAndAwaitRunning(context.Background(), lc); err != nil {
			return fmt.Errorf("start lifecycler: %w", err)
		}
	}
	return nil
}

func (i *Ingester) running(ctx context.Context) error {
	t := time.NewTicker(i.cfg.FlushCheckPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-i.epochClosed:
			i.flushPass(ctx, time.Now(), false)
		case now := <-t.C:
			i.flushPass(ctx, now, false)
			i.rate.observe(now, i.stored.Load())
			i.m.memBytes.Set(float64(i.memoryBytes()))
			i.m.walBytes.Set(float64(i.wal.Size()))
		}
	}
}

// stopping refuses new writes, flushes what this ingester is responsible for (see
// mustFlushBeforeStop), and leaves the ring last.
func (i *Ingester) stopping(_ error) error {
	i.mu.Lock()
	i.closing = true
	i.mu.Unlock()
	if i.lifecycler != nil {
		i.lifecycler.ChangeState(context.Background(), dsring.LEAVING)
	}
	ctx, cancel := context.WithTimeout(context.Background(), i.cfg.ShutdownFlushWait)
	defer cancel()
	for ctx.Err() == nil {
		if n := i.flushPass(ctx, time.Now(), true); n == 0 {
			break
		}
		i.mu.Lock()
		left := i.mustFlushBeforeStop()
		i.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(i.cfg.FlushCheckPeriod):
		}
	}
	if i.lifecycler != nil {
		if err := services.StopAndAwaitTerminated(context.Background(), i.lifecycler); err != nil {
			level.Warn(i.logger).Log("msg", "lifecycler stop failed", "err", err)
		}
	}
	return i.wal.Close()
}

// Addr is this ingester's address in the ring ("" without a ring).
func (i *Ingester) Addr() string {
	if i.lifecycler == nil {
		return ""
	}
	return i.lifecycler.GetInstanceAddr()
}

// addEpoch gives e its seq and makes entryRefs to it resolvable. Callers hold i.mu
// (or own i alone, while it starts).
func (i *Ingester) addEpoch(e *epoch) *epoch {
	i.nextSeq++
	e.seq = i.nextSeq
	i.bySeq[e.seq] = e
	return e
}

func (i *Ingester) newEpoch(now time.Time) *epoch {
	i.epochSeq++
	_, last := i.wal.Segments()
	e := i.addEpoch(&epoch{id: i.epochBase | (i.epochSeq & 0xffffffff), opened: now, firstSeg: last})
	if prev := i.cur; prev != nil {
		// Sized like the epoch before it (under steady load epochs are alike): grown by
		// append, a 200,000-entry epoch was copied over and over, 12% of an RF=3 ingester's CPU.
		e.logs = make([]logEntry, 0, min(len(prev.logs)+len(prev.logs)/8, 2*i.cfg.MaxEpochRecords))
		e.spans = make([]spanEntry, 0, min(len(prev.spans)+len(prev.spans)/8, 2*i.cfg.MaxEpochRecords))
	}
	i.epochs = append(i.epochs, e)
	return e
}

// epochLimit is the size at which the open epoch closes: -ingester.max-epoch-records, or
// one INSERT's worth of records while memory is half full (see pressed). Callers hold i.mu.
func (i *Ingester) epochLimit() int {
	if i.memoryInUse() >= i.cfg.MaxMemoryBytes/2 {
		return min(i.cfg.MaxEpochRecords, i.cfg.insertRecords())
	}
	return i.cfg.MaxEpochRecords
}

// memoryInUse is the memory -ingester.max-memory-bytes limits: the records' size, or the
// Go heap when that is larger. Callers hold i.mu.
func (i *Ingester) memoryInUse() int64 {
	return max(i.memBytes, i.heapInUse(i.memBytes))
}

func (i *Ingester) memoryBytes() int64 {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.memBytes
}

// Push stores a batch: WAL first, then memory, then the acknowledgement.
func (i *Ingester) Push(ctx context.Context, req *pb.PushRequest) (*pb.PushResponse, error) {
	if err := i.admitWaiting(ctx); err != nil {
		return nil, err
	}
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "encode push: %v", err)
	}
	return i.keep(body)
}

// PushRaw is Push for a request the distributor marshalled: its bytes go to the WAL and
// stay in memory as they came, decoded only where a flush or a query needs them.
func (i *Ingester) PushRaw(ctx context.Context, raw *pb.RawPushRequest) (*pb.PushResponse, error) {
	if err := i.admitWaiting(ctx); err != nil {
		return nil, err
	}
	return i.keep(raw.Request)
}

// PushLocated is PushRaw for a request a distributor in this process wrote, with its
// records located as it wrote them.
func (i *Ingester) PushLocated(ctx context.Context, lp *client.LocatedPush) (*pb.PushResponse, error) {
	if err := i.admitWaiting(ctx); err != nil {
		return nil, err
	}
	sp, err := locatedPush(lp)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode push: %v", err)
	}
	return i.keepScanned(sp)
}

// PushBuffer returns memory for a push of size bytes a distributor in this process is
// about to write and hand over (PushLocated): a retired push's, else new memory
// 1/pushHeadroom larger than the push, so that pushes of about the same size fit in it
// once it retires in turn.
func (i *Ingester) PushBuffer(size int) []byte {
	if b := i.bufs.get(size); b != nil {
		return b
	}
	return make([]byte, 0, size+size/pushHeadroom)
}

// keep writes body (a marshalled PushRequest) to the WAL and adds its records to
// memory, which holds body from then on.
func (i *Ingester) keep(body []byte) (*pb.PushResponse, error) {
	sp, err := scanPush(body)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "decode push: %v", err)
	}
	return i.keepScanned(sp)
}

// keepScanned is keep for a request already scanned.
func (i *Ingester) keepScanned(sp *scannedPush) (*pb.PushResponse, error) {
	body := sp.push.raw
	n := len(sp.logs) + len(sp.spans)
	i.mu.Lock()
	if c := i.cur; c.records()+c.reserved > 0 && c.records()+c.reserved+n > i.epochLimit() {
		// Full: the next epoch starts here rather than at the next flush pass, which
		// waits for the flushes before it. Epochs grew past their allocation while
		// flushes ran (to 290,000 records for a limit of 200,000), and growing them by
		// append showed as up to an eighth of an RF=3 ingester's CPU in a profile.
		// Counting the pushes still on their way to the WAL keeps an epoch at its limit:
		// a few thousand records over it went to ClickHouse as an INSERT of their own.
		// Only between pushes: the WAL names each push's epoch.
		i.closeEpoch(c, time.Now())
		for _, wake := range []chan struct{}{i.epochClosed, i.closedInPass} {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
	e := i.cur
	e.reserved += n
	i.mu.Unlock()
	if _, err := i.wal.AppendJoined(withHeader(recPush, e.id, make([]byte, recHeader)), body); err != nil {
		i.mu.Lock()
		e.reserved -= n
		i.mu.Unlock()
		i.m.walErrors.Inc()
		return nil, status.Errorf(codes.Unavailable, "ingester WAL append failed: %v", err)
	}
	i.mu.Lock()
	e.reserved -= n
	added := i.insert(e, sp, time.Now())
	i.mu.Unlock()
	i.m.records.Add(float64(added))
	i.stored.Add(int64(added))
	return &pb.PushResponse{}, nil
}

// Admit returns the error a push arriving now would get for the ingester's state, or nil:
// nil too while the ingester refuses for memory but a push may still wait for room, as
// long as the last wait did not end in vain.
func (i *Ingester) Admit() error {
	reason, err := i.check()
	if err == nil {
		i.waitFailed.Store(false)
		return nil
	}
	if i.mayWait(err) && i.waiting.Load() < maxWaitingPushes && !i.waitFailed.Load() {
		return nil
	}
	if reason != "" {
		i.m.refused.WithLabelValues(reason).Inc()
	}
	return err
}

// maxWaitingPushes bounds the pushes waiting for room: each holds its request, decoded.
const maxWaitingPushes = 16

// mayWait reports whether a push refused with err may wait for room.
func (i *Ingester) mayWait(err error) bool {
	return i.cfg.PushWait > 0 && status.Code(err) == codes.ResourceExhausted
}

// admitWaiting admits a push, or counts and returns its refusal; at the memory or WAL
// limit it first waits up to -ingester.push-wait for a flush to make room. Refused, a
// push goes back to its client, who backs off before sending it again (an OpenTelemetry
// Collector for 5 s at first), while the flush under way frees room in a fraction of
// that: an all-in-one benchmark run refused 610-630 requests without the wait and 8 with
// it (at the same throughput).
func (i *Ingester) admitWaiting(ctx context.Context) error {
	reason, err := i.check()
	if err != nil && i.mayWait(err) {
		if i.waiting.Add(1) <= maxWaitingPushes {
			reason, err = i.waitForRoom(ctx, reason, err)
			i.waitFailed.Store(err != nil)
		}
		i.waiting.Add(-1)
	} else if err == nil {
		i.waitFailed.Store(false)
	}
	if reason != "" {
		i.m.refused.WithLabelValues(reason).Inc()
	}
	return err
}

// waitForRoom asks check again whenever memory may have been freed, until it admits,
// refuses for another reason, or -ingester.push-wait ends; it returns check's answer.
func (i *Ingester) waitForRoom(ctx context.Context, reason string, err error) (string, error) {
	start := time.Now()
	defer func() { i.m.pushWait.Observe(time.Since(start).Seconds()) }()
	giveUp := time.NewTimer(i.cfg.PushWait)
	defer giveUp.Stop()
	// Memory also frees between retirements, as the garbage collector finds less live
	// heap: check is asked again at this interval too.
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		i.mu.Lock()
		freed := i.freed
		i.mu.Unlock()
		select {
		case <-freed:
		case <-poll.C:
		case <-giveUp.C:
			return reason, err
		case <-ctx.Done():
			return reason, err
		}
		if reason, err = i.check(); err == nil || !i.mayWait(err) {
			return reason, err
		}
	}
}

// check returns the error a push would get now for the ingester's state, and the reason
// (the limit reached) its refusal is counted under; callers count it.
func (i *Ingester) check() (reason string, err error) {
	if i.State() != services.Running {
		return "", status.Error(codes.Unavailable, "ingester is not running")
	}
	i.refreshHeap()
	if mem := i.memoryBytes(); mem <= i.cfg.MaxMemoryBytes && i.heapInUse(mem) > i.cfg.MaxMemoryBytes {
		i.collectIfStale()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closing {
		return "", status.Error(codes.Unavailable, "ingester is shutting down")
	}
	if used := i.memoryInUse(); used > i.cfg.MaxMemoryBytes {
		return "memory", status.Errorf(codes.ResourceExhausted, "ingester uses %d bytes of memory, over its limit of %d (-ingester.max-memory-bytes): flushing is behind", used, i.cfg.MaxMemoryBytes)
	}
	if i.wal != nil && i.wal.Size() > i.cfg.MaxWALBytes {
		return "wal", status.Errorf(codes.ResourceExhausted, "ingester WAL is %d bytes, over its limit of %d (-ingester.max-wal-bytes): flushing is behind", i.wal.Size(), i.cfg.MaxWALBytes)
	}
	return "", nil
}

// insert adds a push's records to epoch e, skipping ids already held. e is not retired:
// an epoch waits for the pushes that reserved it, and replay retires nothing. Callers
// hold i.mu.
func (i *Ingester) insert(e *epoch, sp *scannedPush, now time.Time) int {
	added := 0
	push := uint32(len(e.pushes))
	for k, le := range sp.logs {
		if k+prefetchAhead < len(sp.logs) {
			i.index.prefetch(sp.logs[k+prefetchAhead].id)
		}
		if ref, ok := i.admitNew(le.id); ok {
			le.push = push
			le.state = i.arrivalState(le.id)
			i.account(e, heldSize(le.n), le.state)
			*ref = logRef(e, len(e.logs))
			e.logs = append(e.logs, le)
			added++
		}
	}
	for k, se := range sp.spans {
		if k+prefetchAhead < len(sp.spans) {
			i.index.prefetch(sp.spans[k+prefetchAhead].id)
		}
		if ref, ok := i.admitNew(se.id); ok {
			se.push = push
			se.state = i.arrivalState(se.id)
			i.account(e, heldSize(se.n), se.state)
			*ref = spanRef(e, len(e.spans))
			e.spans = append(e.spans, se)
			added++
		}
	}
	if added > 0 {
		e.pushes = append(e.pushes, sp.push) // at push, where the entries look for it
	}
	if e.pending > 0 {
		e.doneAt = time.Time{}
	} else if e.isClosed() && e.doneAt.IsZero() {
		e.doneAt = now
	}
	return added
}

// admitNew claims record id's place in the index unless the id is held already (a
// repeat, counted). Callers hold i.mu, then set the ref and add the record to its epoch.
func (i *Ingester) admitNew(id uint64) (*entryRef, bool) {
	ref, fresh := i.index.claim(id)
	if !fresh {
		i.m.duplicates.Inc()
	}
	return ref, fresh
}

// held finds record id in memory: its epoch and its state. Callers hold i.mu.
func (i *Ingester) held(id uint64) (*epoch, *entryState, bool) {
	ref, ok := i.index.get(id)
	if !ok {
		return nil, nil, false
	}
	e := i.bySeq[ref.seq]
	if ref.isSpan() {
		return e, &e.spans[ref.index()].state, true
	}
	return e, &e.logs[ref.index()].state, true
}

// arrivalState is pending, or released when another replica flushed the record first.
func (i *Ingester) arrivalState(id uint64) entryState {
	if i.takeEarlyRelease(id) {
		return stateReleased
	}
	return statePending
}

// account adds a new entry's size to e and the ingester, and counts it pending unless it
// arrived released. Callers hold i.mu.
func (i *Ingester) account(e *epoch, size int64, st entryState) {
	e.bytes += size
	i.memBytes += size
	if st == statePending {
		e.pending++
	}
}

// heldSize is the memory a held record of n encoded bytes costs: the bytes, its entry
// and its index slot. What its push shares (labels, resources) is left out.
func heldSize(n uint32) int64 { return int64(n) + 96 }

// Release drops this ingester's copies of records another replica has flushed. A
// restarting ingester serves gRPC before its WAL is open and replayed, so until it runs
// it refuses: the releaser gives up, and this replica's fallback flush stores a repeat
// the record id absorbs.
func (i *Ingester) Release(ctx context.Context, req *pb.ReleaseRequest) (*pb.ReleaseResponse, error) {
	if i.State() != services.Running {
		return nil, status.Error(codes.Unavailable, "ingester is not running")
	}
	ids := append(append([]uint64(nil), req.LogIds...), req.SpanIds...)
	if _, err := i.wal.Append(withHeader(recReleased, req.FlushId, encodeIDs(ids))); err != nil {
		return nil, status.Errorf(codes.Unavailable, "ingester WAL append failed: %v", err)
	}
	i.mu.Lock()
	n := i.release(ids, time.Now())
	i.mu.Unlock()
	i.m.released.Add(float64(n))
	return &pb.ReleaseResponse{}, nil
}

// release marks pending records released. Callers hold i.mu.
func (i *Ingester) release(ids []uint64, now time.Time) int {
	n := 0
	for _, id := range ids {
		e, st, ok := i.held(id)
		if !ok {
			if len(i.earlyReleased) < maxEarlyReleased {
				i.earlyReleased[id] = now
			}
			continue
		}
		if *st != statePending {
			continue
		}
		*st = stateReleased
		i.settle(e, now)
		n++
	}
	return n
}

// maxEarlyReleased bounds the memory of releases that arrived before their records.
const maxEarlyReleased = 1 << 20

// takeEarlyRelease reports whether id was released before it arrived. Callers hold i.mu.
func (i *Ingester) takeEarlyRelease(id uint64) bool {
	if len(i.earlyReleased) == 0 {
		return false
	}
	if _, ok := i.earlyReleased[id]; ok {
		delete(i.earlyReleased, id)
		return true
	}
	return false
}

// Promote learns from a distributor that the owner of these records refused them, so
// the records' next-ranked replica should flush them as soon as their epoch closes.
func (i *Ingester) Promote(ctx context.Context, req *pb.PromoteRequest) (*pb.PromoteResponse, error) {
	now := time.Now()
	i.mu.Lock()
	for _, id := range req.Ids {
		if len(i.promoted) >= maxEarlyReleased {
			break
		}
		i.promoted[id] = now
	}
	i.mu.Unlock()
	i.m.promoted.Add(float64(len(req.Ids)))
	return &pb.PromoteResponse{}, nil
}

// expireEarlyReleases forgets early releases and promotions older than the longest
// fallback wait: by then the record either arrived or never will. Callers hold i.mu.
func (i *Ingester) expireEarlyReleases(now time.Time) {
	ttl := time.Duration(healthyOwnerGraceFactor*4) * i.cfg.ReleaseGrace
	for id, at := range i.earlyReleased {
		if now.Sub(at) > ttl {
			delete(i.earlyReleased, id)
		}
	}
	for id, at := range i.promoted {
		if now.Sub(at) > ttl {
			delete(i.promoted, id)
		}
	}
}

// settle records that one pending record of e was flushed or released.
func (i *Ingester) settle(e *epoch, now time.Time) {
	e.pending--
	if e.pending == 0 {
		e.doneAt = now
	}
}

// CheckReady reports whether the ingester is ACTIVE in the ring.
func (i *Ingester) CheckReady(ctx context.Context) error {
	if i.State() != services.Running {
		return fmt.Errorf("ingester is %s", i.State())
	}
	if i.lifecycler != nil && i.lifecycler.GetState() != dsring.ACTIVE {
		return fmt.Errorf("ingester is %s in the ring", i.lifecycler.GetState())
	}
	return nil
}

// heapInUse estimates the Go heap in use, given the records' size mem (memBytes): the
// live heap the last GC measured, moved by how much the records grew or shrank since.
// The records' estimated size misses the copies decoding, the WAL and flush batches
// make; the GC's reading alone went stale as soon as a flush retired its records, and
// pushes were refused for seconds with the memory free and the flusher idle, until the
// next GC (or collectIfStale's).
func (i *Ingester) heapInUse(mem int64) int64 {
	i.heapMu.Lock()
	defer i.heapMu.Unlock()
	return i.heapLive - i.heapPool + mem - i.heapMem
}

// refreshHeap reads the GC's live heap measure, at most every 100ms.
func (i *Ingester) refreshHeap() {
	now := time.Now().UnixNano()
	if last := i.heapReadAt.Load(); now-last < int64(100*time.Millisecond) || !i.heapReadAt.CompareAndSwap(last, now) {
		return
	}
	i.readHeap()
}

// readHeap takes the live heap reading of a GC not seen before, with the records' size
// at that moment.
func (i *Ingester) readHeap() {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 || s[1].Value.Kind() != rtmetrics.KindUint64 {
		return
	}
	live, cycle := int64(s[0].Value.Uint64()), s[1].Value.Uint64()
	i.heapMu.Lock()
	seen := cycle == i.heapCycle && i.heapSeenAt != 0
	i.heapMu.Unlock()
	if seen {
		return
	}
	mem := i.memoryBytes()
	pool := i.bufs.size()
	i.heapMu.Lock()
	defer i.heapMu.Unlock()
	i.heapLive, i.heapMem, i.heapPool, i.heapCycle, i.heapSeenAt = live, mem, pool, cycle, time.Now().UnixNano()
}

// collectIfStale collects garbage when no GC has run for two seconds, so heapInUse starts
// from a fresh reading. Memory other than records (a flush's batch) is freed without a
// trace in memBytes, and a process that refuses every push allocates little, so no GC
// comes to lower a reading taken while such memory was alive: with its records all
// flushed the ingester went on refusing pushes until the runtime's two-minute forced
// GC. Under load GCs come every second or so and the reading is fresh. Called only
// when the records alone are under the limit.
func (i *Ingester) collectIfStale() {
	i.gcMu.Lock()
	defer i.gcMu.Unlock()
	i.readHeap()
	i.heapMu.Lock()
	seenAt := i.heapSeenAt
	i.heapMu.Unlock()
	if time.Now().UnixNano()-seenAt < int64(2*time.Second) {
		return
	}
	runtime.GC()
	i.readHeap()
}
