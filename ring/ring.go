package ring

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/kv"
	dsring "github.com/grafana/dskit/ring"
	"github.com/prometheus/client_golang/prometheus"
)

// NewReadRing returns the ring client distributors and queriers use.
func NewReadRing(cfg Config, logger log.Logger, reg prometheus.Registerer) (*dsring.Ring, error) {
	r, err := dsring.New(cfg.ToRingConfig(), Name, Key, logger, prometheus.WrapRegistererWithPrefix("strata_", reg))
	if err != nil {
		return nil, fmt.Errorf("create ingester ring client: %w", err)
	}
	return r, nil
}

// LifecyclerOptions are what an ingester adds to the ring config.
type LifecyclerOptions struct {
	// GRPCListenAddr is the ingester's gRPC listen address (host:port).
	GRPCListenAddr string
	// DataDir holds the tokens file unless the config names one.
	DataDir string
}

// NewLifecycler builds the ingester's lifecycler: it registers the instance, keeps its
// tokens in a file so a restarted ingester takes its old place, leaves the ring when it
// stops, and forgets peers that stopped heartbeating long ago.

func NewLifecycler(cfg Config, opts LifecyclerOptions, logger log.Logger, reg prometheus.Registerer) (*dsring.BasicLifecycler, error) {
	addr, err := instanceAddr(cfg, opts.GRPCListenAddr, logger)
	if err != nil {
		return nil, err
	}
	tokensPath := cfg.TokensFilePath
	if tokensPath == "" && opts.DataDir != "" {
		tokensPath = filepath.Join(opts.DataDir, "tokens")
	}
	lcCfg := dsring.BasicLifecyclerConfig{
		ID:                  cfg.InstanceID,
		Addr:                addr,
		Zone:                cfg.InstanceZone,
		HeartbeatPeriod:     cfg.HeartbeatPeriod,
		HeartbeatTimeout:    cfg.HeartbeatTimeout,
		TokensObservePeriod: cfg.ObservePeriod,
		NumTokens:           cfg.NumTokens,
	}
	d := dsring.BasicLifecyclerDelegate(dsring.NewInstanceRegisterDelegate(dsring.ACTIVE, cfg.NumTokens))
	d = dsring.NewLeaveOnStoppingDelegate(d, logger)
	if tokensPath != "" {
		d = dsring.NewTokensPersistencyDelegate(tokensPath, dsring.ACTIVE, d, logger)
	}
	d = dsring.NewAutoForgetDelegate(10*cfg.HeartbeatTimeout, d, logger)

	store, err := kv.NewClient(cfg.KVStore, dsring.GetCodec(), kv.RegistererWithKVName(reg, Name+"-lifecycler"), logger)
	if err != nil {
		return nil, fmt.Errorf("create ring KV client: %w", err)
	}
	lc, err := dsring.NewBasicLifecycler(lcCfg, Name, Key, store, d, logger, prometheus.WrapRegistererWithPrefix("strata_", reg))
	if err != nil {
		return nil, fmt.Errorf("create ingester lifecycler: %w", err)
	}
	return lc, nil
}

func instanceAddr(cfg Config, listen string, logger log.Logger) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("grpc listen address %q: %w", listen, err)
	}
	if cfg.InstancePort != 0 {
		port = strconv.Itoa(cfg.InstancePort)
	}
	if cfg.InstanceAddr != "" {
		host = cfg.InstanceAddr
	} else if host == "" || host == "0.0.0.0" || host == "::" {
		h, err := dsring.GetInstanceAddr("", []string{"eth0", "en0"}, logger, false)
		if err != nil {
			return "", fmt.Errorf("find an address to advertise in the ring (set -ring.instance-addr): %w", err)
		}
		host = h
	}
	return net.JoinHostPort(host, port), nil
}
