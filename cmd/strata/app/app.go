// Package app is Strata's composition root: configuration, module wiring, the run loop
// and readiness. It is the only package that imports every component.
package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/grafana/dskit/kv/memberlist"
	dslog "github.com/grafana/dskit/log"
	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/strataobs/strata/distributor"
	"github.com/strataobs/strata/ingester"
	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	"github.com/strataobs/strata/querier"
	"github.com/strataobs/strata/web"
)

// App is one Strata process.
type App struct {
	cfg    *Config
	logger log.Logger
	reg    *prometheus.Registry

	server       *serverService
	memberlistKV *memberlist.KVInitService
	overrides    *limits.Overrides
	storage      *storageService
	ring         *dsring.Ring
	pool         *client.Pool
	distributor  *distributor.Distributor
	ingester     *ingester.Ingester
	querier      *querier.Querier

	svcs map[string]services.Service
}

// New prepares an app from its configuration.
func New(cfg *Config) (*App, error) {
	applySingleProcessDefaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Server.Registerer, cfg.Server.Gatherer = reg, reg
	// Failed gRPC calls are logged; their requests are tenants' telemetry (megabytes, and
	// not ours to copy into logs), so only the method, status and duration are.
	cfg.Server.ExcludeRequestInLog = true
	logger := dslog.NewGoKitWithLevel(cfg.Server.LogLevel, cfg.Server.LogFormat)
	cfg.Server.Log = logger
	tuneGC(cfg, logger)
	return &App{cfg: cfg, logger: logger, reg: reg, pool: newPool()}, nil
}

// ingesterGCPercent is the garbage collector's GOGC in a process that runs an ingester.
// Most of its heap is held records, which outlive many collections and hold no
// pointers, so a collection costs little and the default 100 mostly buys heap the
// process must fault in. With 50 (`bin/loadbench`, alternating runs): RF=3 ingesters
// faulted in 14% less memory and peaked 10% lower (651-733 MiB against 729-788), the
// all-in-one process 8% lower (814-835 MiB against 883-906); CPU per record 38.5 µs
// against 41.0 (RF=3), 13.5 against 12.6 (all-in-one), both within the runs' noise.
// With 25, collections cost more than the memory saved (43-49 µs).
const ingesterGCPercent = 50

// tuneGC gives a process that runs an ingester a soft memory limit of 1.75 times the
// records it may hold (the garbage collector then works harder before the heap, with a
// flush's transient column buffers on top of the records, grows past it) and
// ingesterGCPercent. GOMEMLIMIT and GOGC, when set, win. With -heap-huge-pages the
// heap up to the limit is backed by huge pages (adviseHeapHugePages).
func tuneGC(cfg *Config, logger log.Logger) {
	if !slices.ContainsFunc(cfg.Target, func(t string) bool { return t == All || t == Ingester }) {
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ingesterGCPercent)
	}
	limit := debug.SetMemoryLimit(-1)
	if os.Getenv("GOMEMLIMIT") == "" {
		limit = cfg.Ingester.MaxMemoryBytes * 7 / 4
		debug.SetMemoryLimit(limit)
		level.Debug(logger).Log("msg", "soft memory limit set", "bytes", limit)
	}
	if !cfg.HeapHugePages {
		return
	}
	if limit == math.MaxInt64 { // GOMEMLIMIT=off
		limit = cfg.Ingester.MaxMemoryBytes * 7 / 4
	}
	if start, end, why := adviseHeapHugePages(limit); why != "" {
		level.Info(logger).Log("msg", "heap not backed by huge pages", "reason", why)
	} else {
		level.Info(logger).Log("msg", "heap backed by transparent huge pages", "bytes", end-start)
	}
}

// applySingleProcessDefaults makes -target=all a self-contained single node: RF=1 and an
// in-memory ring, unless the operator chose otherwise.
func applySingleProcessDefaults(cfg *Config) {
	single := len(cfg.Target) == 1 && cfg.Target[0] == All
	if !single || cfg.fromFile {
		return
	}
	if !cfg.explicit["ring.replication-factor"] {
		cfg.Ring.ReplicationFactor = 1
	}
	if !cfg.explicit["ring.store"] {
		cfg.Ring.KVStore.Store = "inmemory"
	}
}

// Run starts the targets and blocks until a signal or a failure stops them.
func (a *App) Run() error {
	// Self-tracing is off unless OTEL_* variables name an exporter (tracing.go).
	stopTracing, err := startSelfTracing("strata-"+strings.Join(a.cfg.Target, "-"), a.logger)
	if err != nil {
		return fmt.Errorf("self-tracing: %w", err)
	}
	defer stopTracing()
	mm, err := a.setupModules()
	if err != nil {
		return err
	}
	a.svcs, err = mm.InitModuleServices(a.cfg.Target...)
	if err != nil {
		return err
	}
	var list []services.Service
	for _, s := range a.svcs {
		list = append(list, s)
	}
	sm, err := services.NewManager(list...)
	if err != nil {
		return err
	}
	a.server.srv.HTTP.Handle("/ready", a.readyHandler(sm))
	if a.querier != nil {
		// Prefix routes go last so that they never shadow a module's exact paths; the UI
		// catches every path no API claimed.
		h := a.querier.Handler()
		for _, prefix := range []string{"/loki/api/", "/api/", "/ui/api/"} {
			a.server.srv.HTTP.PathPrefix(prefix).Handler(h)
		}
		a.server.srv.HTTP.PathPrefix("/").Handler(web.Handler())
	}
	sm.AddListener(services.NewManagerListener(nil, nil, func(s services.Service) {
		level.Error(a.logger).Log("msg", "service failed; stopping", "service", s, "err", s.FailureCase())
		sm.StopAsync()
	}))

	start := time.Now()
	go a.handleSignals(sm)
	if err := sm.StartAsync(context.Background()); err != nil {
		return err
	}
	if err := sm.AwaitHealthy(context.Background()); err == nil {
		level.Info(a.logger).Log("msg", "strata started", "targets", fmt.Sprint(a.cfg.Target), "http", a.server.srv.HTTPListenAddr(), "grpc", a.server.srv.GRPCListenAddr(), "duration", time.Since(start))
	}
	sm.AwaitStopped(context.Background())
	for name, s := range a.svcs {
		if s.FailureCase() != nil {
			return fmt.Errorf("%s failed: %w", name, s.FailureCase())
		}
	}
	level.Info(a.logger).Log("msg", "strata stopped")
	return nil
}

func (a *App) handleSignals(sm *services.Manager) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	sig := <-ch
	level.Info(a.logger).Log("msg", "stopping", "signal", sig)
	sm.StopAsync()
}

// others lists every service but the server (which stops last).
func (a *App) others() []services.Service {
	var out []services.Service
	for name, s := range a.svcs {
		if name != Server {
			out = append(out, s)
		}
	}
	return out
}

// readyHandler is 503 until every service runs, then asks the ingester whether it is
// ACTIVE in the ring.
func (a *App) readyHandler(sm *services.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sm.IsHealthy() {
			http.Error(w, "not ready: some services are not running", http.StatusServiceUnavailable)
			return
		}
		if a.distributor != nil && a.ring != nil {
			// A distributor that sees no ingester yet would answer every push with 503.
			if _, err := a.ring.GetAllHealthy(dsring.Write); err != nil {
				http.Error(w, "not ready: the distributor sees no ACTIVE ingester in the ring yet", http.StatusServiceUnavailable)
				return
			}
		}
		if a.ingester != nil {
			if err := a.ingester.CheckReady(r.Context()); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ready\n"))
	})
}
