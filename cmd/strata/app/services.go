package app

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/grafana/dskit/dns"
	"github.com/grafana/dskit/server"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strataobs/strata/storage/clickhouse"
)

// serverService runs dskit's HTTP and gRPC server. It stops last: it waits for every
// module built on it to terminate before closing its listeners, so in-flight pushes and
// an ingester's final flush complete.
type serverService struct {
	services.Service
	srv *server.Server
}

func newServerService(a *App) (*serverService, error) {
	srv, err := server.New(a.cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &serverService{srv: srv}
	running := func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Run() }()
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		}
	}
	stopping := func(error) error {
		// Wait for every other service to stop first.
		for _, svc := range a.others() {
			svc.AwaitTerminated(context.Background())
		}
		srv.Shutdown()
		return nil
	}
	s.Service = services.NewBasicService(nil, running, stopping).WithName("server")
	return s, nil
}

func newDNSProvider(reg prometheus.Registerer, logger log.Logger) *dns.Provider {
	return dns.NewProvider(dns.GolangResolverType, 0, logger, prometheus.WrapRegistererWithPrefix("strata_", reg))
}

// storageService connects to ClickHouse and migrates the schema, retrying until the
// server answers, so Strata can start before its database.
type storageService struct {
	services.Service
	cfg    clickhouse.Config
	logger log.Logger
	client *clickhouse.Client
}

func newStorageService(cfg clickhouse.Config, logger log.Logger) *storageService {
	s := &storageService{cfg: cfg, logger: log.With(logger, "component", "storage")}
	s.Service = services.NewIdleService(s.starting, s.stopping).WithName("storage")
	return s
}

func (s *storageService) starting(ctx context.Context) error {
	wait := 500 * time.Millisecond
	for {
		err := s.connect(ctx)
		if err == nil {
			level.Info(s.logger).Log("msg", "connected to ClickHouse", "address", s.cfg.Address, "version", s.client.Version(), "database", s.cfg.Database)
			return nil
		}
		level.Warn(s.logger).Log("msg", "ClickHouse not ready; retrying", "address", s.cfg.Address, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to ClickHouse at %s: %w", s.cfg.Address, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func (s *storageService) connect(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := clickhouse.Open(cctx, s.cfg)
	if err != nil {
		return err
	}
	if err := c.Migrate(cctx); err != nil {
		c.Close()
		return err
	}
	s.client = c
	return nil
}

func (s *storageService) stopping(error) error {
	if s.client != nil {
		return s.client.Close()
	}
	return nil
}

// PrepareLogs, WriteLogs and WriteSpans make the service the ingester's Store.
func (s *storageService) PrepareLogs(ctx context.Context, b *clickhouse.LogBatch) error {
	return s.client.PrepareLogs(ctx, b)
}

func (s *storageService) WriteLogs(ctx context.Context, b *clickhouse.LogBatch) error {
	return s.client.WriteLogs(ctx, b)
}

func (s *storageService) WriteSpans(ctx context.Context, b *clickhouse.SpanBatch) error {
	return s.client.WriteSpans(ctx, b)
}

func (s *storageService) StoredIDs(ctx context.Context, flushID uint64) (map[uint64]bool, error) {
	return s.client.StoredIDs(ctx, flushID)
}

func (s *storageService) StoredAmong(ctx context.Context, ids []uint64, minTS, maxTS int64, exceptFlushID uint64) (map[uint64]bool, error) {
	return s.client.StoredAmong(ctx, ids, minTS, maxTS, exceptFlushID)
}
