package distributor

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/ring"
)

// Config is the distributor configuration.
type Config struct {
	OTLPGRPCAddr   string        `yaml:"otlp_grpc_listen_address"`
	OTLPHTTPAddr   string        `yaml:"otlp_http_listen_address"`
	MaxRecvMsgSize int           `yaml:"max_recv_msg_size"`
	RemoteTimeout  time.Duration `yaml:"remote_timeout"`
	AuthEnabled    bool          `yaml:"auth_enabled"`
	DefaultTenant  string        `yaml:"default_tenant"`
}

// RegisterFlags registers the distributor flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.OTLPGRPCAddr, "distributor.otlp-grpc-address", "0.0.0.0:4317", "Listen address of the OTLP gRPC receiver. Empty disables it.")
	f.StringVar(&c.OTLPHTTPAddr, "distributor.otlp-http-address", "0.0.0.0:4318", "Listen address of the OTLP HTTP receiver (/v1/logs, /v1/traces). Empty disables it.")
	f.IntVar(&c.MaxRecvMsgSize, "distributor.max-recv-msg-size", 16<<20, "Largest accepted OTLP or Loki push request in bytes (after decompression for HTTP). Larger requests get 413 / INVALID_ARGUMENT.")
	f.DurationVar(&c.RemoteTimeout, "distributor.remote-timeout", 5*time.Second, "Timeout for each write to an ingester.")
	f.BoolVar(&c.AuthEnabled, "auth.enabled", false, "Require the X-Scope-OrgID header (gRPC metadata x-scope-orgid) on every request. When false, requests without it belong to -auth.default-tenant.")
	f.StringVar(&c.DefaultTenant, "auth.default-tenant", "anonymous", "Tenant of requests without X-Scope-OrgID when auth is disabled.")
}

// Distributor validates, limits and replicates writes.
type Distributor struct {
	services.Service
	cfg       Config
	ring      dsring.DoBatchRing
	pool      *client.Pool
	overrides *limits.Overrides
	logger    log.Logger
	now       func() time.Time

	limMu    sync.Mutex
	limiters map[string]*rate.Limiter
	streams  *streamTracker

	m          metrics
	recv       receivers
	reqBufs    requestBuffers
	validators chan *validator // free, with the memory of earlier requests' records
}

type metrics struct {
	received *prometheus.CounterVec
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	pushDur  *prometheus.HistogramVec
	// pushedBack counts requests refused before they were read (pushback.go).
	pushedBack prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	f := promauto.With(reg)
	return metrics{
		received: f.NewCounterVec(prometheus.CounterOpts{Name: "strata_distributor_received_records_total", Help: "Records (log records or spans) received, before validation."}, []string{"tenant", "signal"}),
		accepted: f.NewCounterVec(prometheus.CounterOpts{Name: "strata_distributor_accepted_records_total", Help: "Records acknowledged after a quorum of ingesters stored them."}, []string{"tenant", "signal"}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{Name: "strata_distributor_rejected_records_total", Help: "Records refused, by reason."}, []string{"tenant", "signal", "reason"}),
		pushDur: f.NewHistogramVec(prometheus.HistogramOpts{Name: "strata_distributor_push_duration_seconds", Help: "Time to replicate one request to a quorum of ingesters.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"signal"}),
		pushedBack: f.NewCounter(prometheus.CounterOpts{Name: "strata_distributor_pushed_back_requests_total", Help: "Requests refused before they were read because the only ingester, in this process, refuses writes (at its memory or WAL limit)."}),
	}
}

// New returns a distributor writing through r to the ingesters in pool.
func New(cfg Config, r dsring.DoBatchRing, pool *client.Pool, overrides *limits.Overrides, reg prometheus.Registerer, logger log.Logger) *Distributor {
	d := &Distributor{
		cfg: cfg, ring: r, pool: pool, overrides: overrides,
		logger: log.With(logger, "component", "distributor"), now: time.Now,
		limiters: map[string]*rate.Limiter{}, streams: newStreamTracker(), m: newMetrics(reg),
		reqBufs: make(requestBuffers, 64), validators: make(chan *validator, keptValidators),
	}
	d.Service = services.NewIdleService(d.startReceivers, d.stopReceivers).WithName("distributor")
	return d
}

// Result is the outcome of a push that was at least partly accepted.
type Result struct {
	Accepted int
	Rejected int
	// Message explains the first rejection, for OTLP partial success.
	Message string
}

// PushLogs validates and replicates logs for a tenant.
func (d *Distributor) PushLogs(ctx context.Context, tenant string, ld plog.Logs) (Result, error) {
	lim, err := d.admit(tenant, "logs", ld.LogRecordCount())
	if err != nil {
		return Result{}, err
	}
	c := convertLogs(tenant, d.validator(lim), ld)
	d.streams.admit(tenant, lim.MaxStreams, d.now(), c)
	return d.push(ctx, tenant, "logs", c)
}

// PushTraces validates and replicates spans for a tenant.
func (d *Distributor) PushTraces(ctx context.Context, tenant string, td ptrace.Traces) (Result, error) {
	lim, err := d.admit(tenant, "traces", td.SpanCount())
	if err != nil {
		return Result{}, err
	}
	c := convertTraces(tenant, d.validator(lim), td)
	return d.push(ctx, tenant, "traces", c)
}

// admit counts n received records of a signal and applies the tenant's rate limit; it
// returns the tenant's limits for validation.
func (d *Distributor) admit(tenant, signal string, n int) (*limits.Limits, error) {
	d.m.received.WithLabelValues(tenant, signal).Add(float64(n))
	lim := d.overrides.For(tenant)
	if err := d.rateLimit(tenant, lim, n); err != nil {
		d.m.rejected.WithLabelValues(tenant, signal, "rate_limited").Add(float64(n))
		return nil, err
	}
	return lim, nil
}

func (d *Distributor) rateLimit(tenant string, lim *limits.Limits, n int) error {
	d.limMu.Lock()
	l := d.limiters[tenant]
	if l == nil || l.Limit() != rate.Limit(lim.IngestionRateRecords) || l.Burst() != lim.IngestionBurstRecords {
		l = rate.NewLimiter(rate.Limit(lim.IngestionRateRecords), lim.IngestionBurstRecords)
		d.limiters[tenant] = l
	}
	d.limMu.Unlock()
	if !l.AllowN(d.now(), n) {
		return newRateLimitedError(fmt.Sprintf("tenant %s: ingestion rate limit exceeded (limit ingestion_rate_records=%g/s, burst ingestion_burst_records=%d); %d records were not accepted, retry later",
			tenant, lim.IngestionRateRecords, lim.IngestionBurstRecords, n))
	}
	return nil
}

func (d *Distributor) push(ctx context.Context, tenant, signal string, c *converted) (Result, error) {
	for _, r := range c.rejected {
		d.m.rejected.WithLabelValues(tenant, signal, r.reason).Inc()
	}
	res := Result{Accepted: c.accepted, Rejected: len(c.rejected)}
	if len(c.rejected) > 0 {
		res.Message = fmt.Sprintf("%d of %d records rejected; first: %s", len(c.rejected), len(c.rejected)+c.accepted, c.rejected[0].msg)
	}
	if c.accepted == 0 {
		d.recycle(c)
		if len(c.rejected) > 0 {
			return res, newInvalidError(res.Message)
		}
		return res, nil
	}
	start := d.now()
	if err := d.replicate(ctx, tenant, c); err != nil {
		d.m.rejected.WithLabelValues(tenant, signal, "ingester_error").Add(float64(c.accepted))
		return Result{}, err
	}
	d.m.pushDur.WithLabelValues(signal).Observe(d.now().Sub(start).Seconds())
	d.m.accepted.WithLabelValues(tenant, signal).Add(float64(c.accepted))
	return res, nil
}

// replicate writes each stream / trace to its replication set and waits for quorum.
func (d *Distributor) replicate(ctx context.Context, tenant string, c *converted) error {
	keys := make([]uint32, 0, len(c.streams)+len(c.traces))
	for _, s := range c.streams {
		keys = append(keys, uint32(s.StreamId)^uint32(s.StreamId>>32))
	}
	for _, t := range c.traces {
		keys = append(keys, traceKey(tenant, t.TraceId))
	}
	pr := &ring.PlacementRing{DoBatchRing: d.ring}
	// Replica writes get their own deadline, detached from the caller: every replica should
	// get the write even after quorum is reached or the client hangs up.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.RemoteTimeout)
	enc, err := newPushEncoder(tenant, c)
	if err != nil {
		cancel()
		d.recycle(c)
		return status.Errorf(codes.Internal, "encode push: %v", err)
	}
	// Replicas may still be written after quorum returns: c's memory is reused only once
	// every write is done.
	cleanup := func() {
		cancel()
		d.recycle(c)
	}
	pro := &promotionGate{send: func(ids map[string][]uint64) { d.promote(tenant, ids) }}
	err = dsring.DoBatchWithOptions(ctx, dsring.Write, pr, keys, func(inst dsring.InstanceDesc, idx []int) error {
		err := d.pushTo(client.WithTenant(wctx, tenant), inst.Addr, enc, pr.Sets, idx)
		if err != nil {
			level.Debug(d.logger).Log("msg", "push to ingester failed", "addr", inst.Addr, "err", err)
			if refused(err) {
				// The ids are taken now: c's memory is reused once every write is done.
				pro.add(promotions(c, pr.Sets, inst.Addr, idx))
			}
		}
		return err
	}, dsring.DoBatchOptions{Cleanup: cleanup, IsClientError: isClientError})
	pro.decide(err == nil)
	if err != nil {
		return wrapIngesterError(err)
	}
	return nil
}

// promotionGate holds back the promotions of a push until its quorum is known, and
// drops them if the push failed. The client retries a failed push, and the owner, no
// longer full, may take it then and flush it: promoted, the next replica would flush the
// same records at about the same time, and ClickHouse could store them twice (same ids,
// so counts stay exact). A record of a failed push that no retry brings to its owner is
// still flushed by the next replica's fallback, later; it was never acknowledged.
type promotionGate struct {
	mu      sync.Mutex
	decided bool
	ok      bool
	held    []map[string][]uint64
	send    func(map[string][]uint64) // does not block
}

// add sends ids once the push is known to have reached quorum.
func (g *promotionGate) add(ids map[string][]uint64) {
	if len(ids) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !g.decided:
		g.held = append(g.held, ids)
	case g.ok:
		g.send(ids)
	}
}

// decide settles the push: ok sends what was held back, else it is dropped.
func (g *promotionGate) decide(ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.decided, g.ok = true, ok
	if ok {
		for _, ids := range g.held {
			g.send(ids)
		}
	}
	g.held = nil
}

// pushTo sends the ingester at addr its share of a push (idx), as the bytes it writes to
// its WAL unchanged: handed over if it runs in this process, else over gRPC.
func (d *Distributor) pushTo(ctx context.Context, addr string, enc *pushEncoder, sets [][]string, idx []int) error {
	if in := d.pool.Local(addr); in != nil {
		// The ingester keeps the bytes: they come from its own retired pushes, not from a
		// buffer kept here.
		lp, ok, err := enc.located(sets, addr, idx, in.PushBuffer)
		if err != nil {
			return err
		}
		if ok {
			_, err = in.PushLocated(ctx, lp)
			return err
		}
		raw, err := enc.direct(sets, addr, idx)
		if err != nil {
			return err
		}
		_, err = in.PushRaw(ctx, &pb.RawPushRequest{Request: raw})
		return err
	}
	cl, err := d.pool.Get(addr)
	if err != nil {
		return err
	}
	raw, err := enc.request(d.reqBufs.get(), sets, addr, idx)
	if err != nil {
		return err
	}
	_, err = cl.PushRaw(ctx, &pb.RawPushRequest{Request: raw})
	d.reqBufs.put(raw)
	return err
}

// keptValidators bounds the free validators kept: about the requests converted at once
// (a validator of a request of 2,000 realistic records keeps about 2 MB).
const keptValidators = 8

// validator returns a validator for a request under lim, one an earlier request is done
// with if there is one.
func (d *Distributor) validator(lim *limits.Limits) *validator {
	select {
	case v := <-d.validators:
		v.reset(lim, d.now().UnixNano())
		return v
	default:
		return newValidator(lim, d.now().UnixNano())
	}
}

// recycle hands c's validator, and with it the memory of c's records, to the next
// request. Nothing may use c's records afterwards.
func (d *Distributor) recycle(c *converted) {
	if v := c.validator; v != nil {
		c.validator = nil
		select {
		case d.validators <- v:
		default:
		}
	}
}

func traceKey(tenant string, traceID []byte) uint32 {
	h := xxhash.New()
	h.WriteString(tenant)
	h.Write(traceID)
	s := h.Sum64()
	return uint32(s) ^ uint32(s>>32)
}

// refused reports whether an ingester turned a push away before storing any of it: at
// its memory or WAL limit, shutting down, or unreachable. (A timeout is not a refusal:
// the ingester may have stored the records after all.)
func refused(err error) bool {
	c := status.Code(err)
	return c == codes.ResourceExhausted || c == codes.Unavailable
}

// promote tells each replica in byAddr that the owner of the records ids refused them
// (promotions), so the next-ranked replica flushes them when their epoch closes instead
// of waiting for a release that will not come. Best effort: a replica that misses it
// flushes later, as it would anyway.
func (d *Distributor) promote(tenant string, byAddr map[string][]uint64) {
	for other, ids := range byAddr {
		go func() {
			cl, err := d.pool.Get(other)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := cl.Promote(client.WithTenant(ctx, tenant), &pb.PromoteRequest{Ids: ids}); err != nil {
				level.Debug(d.logger).Log("msg", "promote failed", "addr", other, "err", err)
			}
		}()
	}
}

// promotions lists, per other replica, the ids of the records at idx that addr owns.
func promotions(c *converted, sets [][]string, addr string, idx []int) map[string][]uint64 {
	byAddr := map[string][]uint64{}
	for _, i := range idx {
		if ring.Rank(sets[i], addr) != 0 {
			continue
		}
		var ids []uint64
		if i < len(c.streams) {
			for _, r := range c.streams[i].Records {
				ids = append(ids, r.Id)
			}
		} else {
			for _, sp := range c.traces[i-len(c.streams)].Spans {
				ids = append(ids, sp.Id)
			}
		}
		for _, other := range sets[i] {
			if other != addr {
				byAddr[other] = append(byAddr[other], ids...)
			}
		}
	}
	return byAddr
}

func isClientError(err error) bool {
	return status.Code(err) == codes.InvalidArgument
}
