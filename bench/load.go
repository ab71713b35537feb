package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const exportLogsMethod = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// rawCodec sends pre-encoded protobuf bytes as they are, so the sender spends no CPU
// encoding; the server sees an ordinary OTLP request.
type rawCodec struct{}

type rawMsg struct{ b []byte }

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*rawMsg).b, nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*rawMsg).b = append(v.(*rawMsg).b[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// LoadConfig bounds one load run in time and in records.
type LoadConfig struct {
	Targets    []string // OTLP gRPC addresses; clients are spread over them
	Clients    int      // concurrent exporters, each with its own connection
	Duration   time.Duration
	MaxRecords int64
	Tenant     string
	Templates  []*Template
	Base       int64 // unix ns of the first record; record k is stamped Base+k
	Gzip       bool
	// RetryFor bounds how long a request is retried after the load duration ended.
	RetryFor time.Duration
}

// LoadResult is what the sender saw.
type LoadResult struct {
	Sent, Acked, Rejected    int64 // records
	AckedInWindow            int64 // records acknowledged before the load duration ended
	Requests                 int64
	Retries                  int64 // retryable failures (UNAVAILABLE, RESOURCE_EXHAUSTED, deadline)
	GaveUp                   int64 // requests still failing with retryable errors after RetryFor
	Failed                   int64 // requests that failed with a non-retryable error
	FirstErr, FirstRetryable string
	// Elapsed runs from the first send to the last acknowledgement or the end of sending,
	// whichever is later, so time spent retrying against push-back counts.
	Elapsed   time.Duration
	LastAck   time.Duration // from the first send to the last acknowledgement
	FillTime  time.Duration // CPU spent stamping templates (summed over clients)
	Latencies []time.Duration
	// PerSecond[k] counts the records acknowledged in second k from the first send.
	PerSecond []int64
}

// RateBetween is the mean acknowledged rate over seconds [from, to) of the load, or 0
// when the load did not last that long.
func (r *LoadResult) RateBetween(from, to int) float64 {
	if from < 0 || to <= from || to > len(r.PerSecond) {
		return 0
	}
	var n int64
	for _, c := range r.PerSecond[from:to] {
		n += c
	}
	return float64(n) / float64(to-from)
}

// AckedPerSec is the acknowledged-record rate.
func (r *LoadResult) AckedPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Acked) / r.Elapsed.Seconds()
}

// RunLoad sends until Duration passed or MaxRecords were claimed, whichever comes first.
func RunLoad(ctx context.Context, cfg LoadConfig) (*LoadResult, error) {
	if len(cfg.Templates) == 0 || len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("bench: load needs templates and targets")
	}
	conns := make([]*grpc.ClientConn, cfg.Clients)
	for w := range conns {
		cc, err := grpc.NewClient(cfg.Targets[w%len(cfg.Targets)],
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return nil, err
		}
		defer cc.Close()
		conns[w] = cc
	}
	var (
		res       LoadResult
		mu        sync.Mutex
		nextBatch atomic.Int64
		nextSeq   atomic.Int64
		sent      atomic.Int64
		acked     atomic.Int64
		inWindow  atomic.Int64
		rejected  atomic.Int64
		requests  atomic.Int64
		retries   atomic.Int64
		gaveUp    atomic.Int64
		failed    atomic.Int64
		fill      atomic.Int64
		lastAck   atomic.Int64
		stopSeen  atomic.Int64
	)
	perSecond := make([]atomic.Int64, int((cfg.Duration+cfg.RetryFor)/time.Second)+2)
	start := time.Now()
	stopAt := start.Add(cfg.Duration)
	giveUpAt := stopAt.Add(cfg.RetryFor)
	octx := metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", cfg.Tenant)
	opts := []grpc.CallOption{grpc.ForceCodec(rawCodec{})}
	if cfg.Gzip {
		opts = append(opts, grpc.UseCompressor(gzip.Name))
	}
	var wg sync.WaitGroup
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var lat []time.Duration
			defer func() {
				mu.Lock()
				res.Latencies = append(res.Latencies, lat...)
				mu.Unlock()
			}()
			out := &rawMsg{}
			defer func() { stopSeen.CompareAndSwap(0, int64(time.Since(start))) }()
			for ctx.Err() == nil && time.Now().Before(stopAt) {
				b := nextBatch.Add(1) - 1
				t := cfg.Templates[b%int64(len(cfg.Templates))]
				n := int64(t.Records())
				first := nextSeq.Add(n) - n
				if first+n > cfg.MaxRecords {
					return
				}
				f0 := time.Now()
				buf = t.Fill(buf, cfg.Base, first)
				fill.Add(int64(time.Since(f0)))
				sent.Add(n)
				for attempt := 0; ; attempt++ {
					requests.Add(1)
					rctx, cancel := context.WithTimeout(octx, 30*time.Second)
					t0 := time.Now()
					err := conns[w].Invoke(rctx, exportLogsMethod, &rawMsg{b: buf}, out, opts...)
					cancel()
					if err == nil {
						lat = append(lat, time.Since(t0))
						resp := plogotlp.NewExportResponse()
						if uerr := resp.UnmarshalProto(out.b); uerr != nil {
							recordErr(&mu, &res.FirstErr, uerr)
						}
						rej := resp.PartialSuccess().RejectedLogRecords()
						if rej > 0 {
							recordErr(&mu, &res.FirstErr, fmt.Errorf("partial success: %s", resp.PartialSuccess().ErrorMessage()))
						}
						rejected.Add(rej)
						acked.Add(n - rej)
						if time.Now().Before(stopAt) {
							inWindow.Add(n - rej)
						}
						since := time.Since(start)
						lastAck.Store(int64(since))
						perSecond[min(int(since/time.Second), len(perSecond)-1)].Add(n - rej)
						break
					}
					switch status.Code(err) {
					case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
						recordErr(&mu, &res.FirstRetryable, err)
						if time.Now().Before(giveUpAt) && ctx.Err() == nil {
							retries.Add(1)
							time.Sleep(time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond)
							continue
						}
						gaveUp.Add(1)
					default:
						failed.Add(1)
						recordErr(&mu, &res.FirstErr, err)
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	res.Sent, res.Acked, res.Rejected, res.AckedInWindow = sent.Load(), acked.Load(), rejected.Load(), inWindow.Load()
	res.Requests, res.Retries, res.GaveUp, res.Failed = requests.Load(), retries.Load(), gaveUp.Load(), failed.Load()
	res.LastAck = time.Duration(lastAck.Load())
	res.Elapsed = max(res.LastAck, time.Duration(stopSeen.Load()))
	res.FillTime = time.Duration(fill.Load())
	res.PerSecond = make([]int64, int((res.Elapsed+time.Second-1)/time.Second))
	for k := range min(len(res.PerSecond), len(perSecond)) {
		res.PerSecond[k] = perSecond[k].Load()
	}
	return &res, nil
}

func recordErr(mu *sync.Mutex, dst *string, err error) {
	mu.Lock()
	defer mu.Unlock()
	if *dst == "" {
		*dst = err.Error()
	}
}
