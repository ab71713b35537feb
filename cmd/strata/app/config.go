package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/kv/memberlist"
	"github.com/grafana/dskit/server"
	"go.yaml.in/yaml/v3"

	"github.com/strataobs/strata/distributor"
	"github.com/strataobs/strata/ingester"
	"github.com/strataobs/strata/limits"
	"github.com/strataobs/strata/querier"
	"github.com/strataobs/strata/ring"
	"github.com/strataobs/strata/storage/clickhouse"
)

// Config is the root configuration: one YAML file whose every field also has a flag.
type Config struct {
	Target        flagext.StringSliceCSV `yaml:"target"`
	RuntimeConfig string                 `yaml:"runtime_config_file"`
	HeapHugePages bool                   `yaml:"heap_huge_pages"`

	Server      server.Config       `yaml:"server"`
	Memberlist  memberlist.KVConfig `yaml:"memberlist"`
	Ring        ring.Config         `yaml:"ring"`
	Distributor distributor.Config  `yaml:"distributor"`
	Ingester    ingester.Config     `yaml:"ingester"`
	Querier     querier.Config      `yaml:"querier"`
	ClickHouse  clickhouse.Config   `yaml:"clickhouse"`
	Limits      limits.Limits       `yaml:"limits"`

	// explicit holds the flags given on the command line, so single-process defaults
	// (RF=1, in-memory ring) never override a choice the operator made.
	explicit map[string]bool
	fromFile bool
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Target = []string{All}
	f.Var(&c.Target, "target", "Comma-separated components to run: all, distributor, ingester, querier.")
	f.StringVar(&c.RuntimeConfig, "runtime-config.file", "", "YAML file with per-tenant limit overrides (`overrides: {tenant: {...}}`), reloaded every 10s.")
	f.BoolVar(&c.HeapHugePages, "heap-huge-pages", true, "In a process that runs an ingester, map the heap up to its soft memory limit at start and ask Linux to back it with transparent huge pages (when /sys/kernel/mm/transparent_hugepage/enabled is madvise; with always the heap has them anyway). Memory is faulted in 2 MiB at a time instead of 4 KiB: on virtual machines where a page fault costs 14-19 µs, an all-in-one process spent 11-16% of its CPU faulting in its heap, and about 1% with huge pages. RSS is counted as the memory is used, not at start.")
	c.Server.MetricsNamespace = "strata"
	c.Server.RegisterFlags(f)
	c.Memberlist.RegisterFlags(f)
	c.Ring.RegisterFlags(f)
	c.Distributor.RegisterFlags(f)
	c.Ingester.RegisterFlags(f)
	c.Querier.RegisterFlags(f)
	c.ClickHouse.RegisterFlags(f)
	c.Limits.RegisterFlags(f)
	// Strata's defaults for dskit's server flags.
	f.Lookup("server.http-listen-port").DefValue = "3100"
	c.Server.HTTPListenPort = 3100
	f.Lookup("server.grpc-listen-port").DefValue = "9095"
	c.Server.GRPCListenPort = 9095
	c.Server.GRPCServerMaxRecvMsgSize = 64 << 20
	c.Server.GRPCServerMaxSendMsgSize = 64 << 20
	f.Lookup("server.grpc-max-recv-msg-size-bytes").DefValue = "67108864"
	f.Lookup("server.grpc-max-send-msg-size-bytes").DefValue = "67108864"
	// Internal clients ping every 20s (ingester/client); allow it, as Mimir does.
	c.Server.GRPCServerMinTimeBetweenPings = 10 * time.Second
	f.Lookup("server.grpc.keepalive.min-time-between-pings").DefValue = "10s"
	c.Server.GRPCServerPingWithoutStreamAllowed = true
	f.Lookup("server.grpc.keepalive.ping-without-stream-allowed").DefValue = "true"
}

// Validate checks every section, naming it on failure.
func (c *Config) Validate() error {
	for _, t := range c.Target {
		if !validTargets[t] {
			return fmt.Errorf("target %q: want one of all, distributor, ingester, querier", t)
		}
	}
	checks := []struct {
		name string
		fn   func() error
	}{
		{"ring", c.Ring.Validate}, {"ingester", c.Ingester.Validate}, {"clickhouse", c.ClickHouse.Validate}, {"limits", c.Limits.Validate},
	}
	for _, ch := range checks {
		if err := ch.fn(); err != nil {
			return fmt.Errorf("invalid %s config: %w", ch.name, err)
		}
	}
	return nil
}

// Load builds the configuration: flag defaults, then the YAML file, then command-line flags.
func Load(args []string) (*Config, error) {
	var cfg Config
	var file string
	var expand bool
	fs := newFlagSet(&cfg, &file, &expand)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if expand {
			data = []byte(os.ExpandEnv(string(data)))
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("parse config file %s: %w", file, err)
		}
		if err := fs.Parse(args); err != nil { // flags win over the file
			return nil, err
		}
	}
	cfg.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { cfg.explicit[f.Name] = true })
	cfg.fromFile = file != ""
	return &cfg, nil
}

func newFlagSet(cfg *Config, file *string, expand *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("strata", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.StringVar(file, "config.file", "", "YAML configuration file. Flags given on the command line override it.")
	fs.BoolVar(expand, "config.expand-env", false, "Expand ${VAR} references in the configuration file.")
	return fs
}

// Flags returns every command-line flag strata accepts, for documentation and for tests
// that check deployment files only use real flags.
func Flags() *flag.FlagSet {
	var cfg Config
	var file string
	var expand bool
	return newFlagSet(&cfg, &file, &expand)
}
