package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/grafana/dskit/kv/codec"
	"github.com/grafana/dskit/kv/memberlist"
	"github.com/grafana/dskit/modules"
	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"

	"github.com/strataobs/strata/distributor"
	"github.com/strataobs/strata/ingester"
	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/querier"
	"github.com/strataobs/strata/ring"
	"github.com/strataobs/strata/storage/clickhouse"
)

// Module names. Only the user-visible ones are valid -target values.
const (
	Server       = "server"
	MemberlistKV = "memberlist-kv"
	Overrides    = "overrides"
	Storage      = "storage"
	Ring         = "ring"
	Distributor  = "distributor"
	Ingester     = "ingester"
	Querier      = "querier"
	All          = "all"
)

var validTargets = map[string]bool{All: true, Distributor: true, Ingester: true, Querier: true}

// setupModules registers every module and its dependencies. The table reads top-down
// in start order; dskit starts a module after its dependencies and stops it before them.
func (a *App) setupModules() (*modules.Manager, error) {
	mm := modules.NewManager(a.logger)
	mm.RegisterModule(Server, a.initServer, modules.UserInvisibleModule)
	mm.RegisterModule(MemberlistKV, a.initMemberlistKV, modules.UserInvisibleModule)
	mm.RegisterModule(Overrides, a.initOverrides, modules.UserInvisibleModule)
	mm.RegisterModule(Storage, a.initStorage, modules.UserInvisibleModule)
	mm.RegisterModule(Ring, a.initRing, modules.UserInvisibleModule)
	mm.RegisterModule(Distributor, a.initDistributor)
	mm.RegisterModule(Ingester, a.initIngester)
	mm.RegisterModule(Querier, a.initQuerier)
	mm.RegisterModule(All, nil)

	deps := map[string][]string{
		MemberlistKV: {Server},
		Overrides:    {Server},
		Storage:      {Server},
		Ring:         {Server, MemberlistKV},
		Distributor:  {Ring, Overrides},
		Ingester:     {Server, Ring, Storage, Overrides},
		Querier:      {Ring, Storage, Overrides},
		All:          {Distributor, Ingester, Querier},
	}
	for mod, d := range deps {
		if err := mm.AddDependency(mod, d...); err != nil {
			return nil, err
		}
	}
	return mm, nil
}

func (a *App) initServer() (services.Service, error) {
	svc, err := newServerService(a)
	if err != nil {
		return nil, err
	}
	a.server = svc
	return svc, nil
}

func (a *App) initMemberlistKV() (services.Service, error) {
	a.cfg.Memberlist.Codecs = []codec.Codec{dsring.GetCodec()}
	a.memberlistKV = memberlist.NewKVInitService(&a.cfg.Memberlist, a.logger, newDNSProvider(a.reg, a.logger), a.reg)
	a.cfg.Ring.KVStore.MemberlistKV = a.memberlistKV.GetMemberlistKV
	a.server.srv.HTTP.Handle("/memberlist", a.memberlistKV)
	return a.memberlistKV, nil
}

func (a *App) initOverrides() (services.Service, error) {
	a.overrides = limits.NewOverrides(a.cfg.Limits)
	if a.cfg.RuntimeConfig == "" {
		return nil, nil
	}
	if err := a.overrides.LoadFile(a.cfg.RuntimeConfig); err != nil {
		return nil, err
	}
	return services.NewTimerService(10*time.Second, nil, func(context.Context) error {
		if err := a.overrides.LoadFile(a.cfg.RuntimeConfig); err != nil {
			level.Warn(a.logger).Log("msg", "reloading runtime config failed; keeping the previous one", "err", err)
		}
		return nil
	}, nil).WithName("runtime-config"), nil
}

func (a *App) initStorage() (services.Service, error) {
	a.storage = newStorageService(a.cfg.ClickHouse, a.logger)
	return a.storage, nil
}

func (a *App) initRing() (services.Service, error) {
	r, err := ring.NewReadRing(a.cfg.Ring, a.logger, a.reg)
	if err != nil {
		return nil, err
	}
	a.ring = r
	a.server.srv.HTTP.Handle("/ring", r)
	a.server.srv.HTTP.Handle("/distributor/ring", r)
	return r, nil
}

func (a *App) initDistributor() (services.Service, error) {
	a.distributor = distributor.New(a.cfg.Distributor, a.ring, a.pool, a.overrides, a.reg, a.logger)
	push := a.distributor.LokiPushHandler()
	for _, p := range distributor.LokiPushPaths {
		a.server.srv.HTTP.Handle(p, push)
	}
	return a.distributor, nil
}

// replicatedRetention is the -ingester.flushed-retention below which a process writing
// to replicated ClickHouse tables warns at start.
const replicatedRetention = 5 * time.Second

// warnShortRetention logs, with replicated ClickHouse tables, that flushed records leave
// the ingester before a replica may have them (replicatedRetention), and reports whether
// it did.
func warnShortRetention(cfg *Config, logger log.Logger) bool {
	if !cfg.ClickHouse.Replicated || cfg.Ingester.FlushedRetention >= replicatedRetention {
		return false
	}
	level.Warn(logger).Log("msg", "ClickHouse tables are replicated: a read that reaches a replica before a flush does misses it once the ingester drops the flushed records; set -ingester.flushed-retention above the replication lag (docs/scaling.md)",
		"flushed_retention", cfg.Ingester.FlushedRetention)
	return true
}

func (a *App) initIngester() (services.Service, error) {
	listen := fmt.Sprintf("%s:%d", a.cfg.Server.GRPCListenAddress, a.cfg.Server.GRPCListenPort)
	newLC := func() (*dsring.BasicLifecycler, error) {
		lc, err := ring.NewLifecycler(a.cfg.Ring, ring.LifecyclerOptions{GRPCListenAddr: listen, DataDir: a.cfg.Ingester.WAL.Dir}, a.logger, a.reg)
		if err == nil {
			a.server.srv.HTTP.Handle("/ingester/ring", lc)
		}
		return lc, err
	}
	warnShortRetention(a.cfg, a.logger)
	a.ingester = ingester.New(a.cfg.Ingester, a.storage, a.overrides, a.pool, newLC, a.reg, a.logger)
	a.ingester.SetRing(a.ring)
	pb.RegisterIngesterServer(a.server.srv.GRPC, a.ingester)
	return a.ingester, nil
}

func (a *App) initQuerier() (services.Service, error) {
	cfg := a.cfg.Querier
	// Reads resolve tenants exactly as writes do.
	cfg.AuthEnabled, cfg.DefaultTenant = a.cfg.Distributor.AuthEnabled, a.cfg.Distributor.DefaultTenant
	storage := a.storage
	a.querier = querier.New(cfg, querier.Deps{
		// The client is set while the storage service starts; reading it only once the
		// service runs orders the two.
		Store: func() *clickhouse.Client {
			if storage.State() != services.Running {
				return nil
			}
			return storage.client
		},
		Cluster:    ringStatus(a.ring, a.pool),
		Registerer: a.reg,
		Logger:     a.logger,
		Recent:     &querier.IngesterReader{Ring: a.ring, Pool: a.pool},
	})
	// Its routes are mounted in Run, after every module registered its exact paths: dskit
	// initialises independent modules in no fixed order, and these prefixes would shadow
	// routes registered after them (the distributor's Loki push).
	return a.querier, nil
}

// ringStatus reports the ring members for the UI's cluster page, with each ingester's
// load asked of it directly (an ingester that does not answer in time shows zeros).
func ringStatus(r *dsring.Ring, pool *client.Pool) querier.ClusterStatus {
	return func(ctx context.Context) (querier.Cluster, error) {
		cl := querier.Cluster{ReplicationFactor: r.ReplicationFactor()}
		set, err := r.GetAllHealthy(dsring.Reporting)
		if err != nil && !errors.Is(err, dsring.ErrEmptyRing) {
			return cl, err
		}
		now := time.Now()
		cl.Members = make([]querier.Member, len(set.Instances))
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for k, in := range set.Instances {
			hb := time.Unix(in.Timestamp, 0)
			m := &cl.Members[k]
			*m = querier.Member{ID: in.Id, Addr: in.Addr, State: in.State.String(), Zone: in.Zone,
				Tokens: len(in.Tokens), Heartbeat: hb.UTC().Format(time.RFC3339), HeartbeatAgeSeconds: now.Sub(hb).Seconds()}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := pool.Get(in.Addr)
				if err != nil {
					return
				}
				st, err := c.Stats(ctx, &pb.StatsRequest{})
				if err != nil {
					return
				}
				m.IngestRate, m.FlushLagSeconds, m.MemoryRecords, m.MemoryBytes, m.WALBytes =
					st.IngestRate, st.FlushLagSeconds, st.MemoryRecords, st.MemoryBytes, st.WalBytes
			}()
		}
		wg.Wait()
		return cl, nil
	}
}

// newPool is shared by the distributor (writes) and ingesters (releases).
func newPool() *client.Pool { return client.NewPool(64 << 20) }

var _ http.Handler = (*memberlist.KVInitService)(nil)
