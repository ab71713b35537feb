package ring

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/kv"
	dsring "github.com/grafana/dskit/ring"
)

// Name and Key identify the ingester ring in the KV store.
const (
	Name = "ingester"
	Key  = "ingester-ring"
)

// Config is the ring configuration operators touch. Distributors, ingesters and queriers
// must share KVStore, ReplicationFactor and HeartbeatTimeout.
type Config struct {
	KVStore           kv.Config     `yaml:"kvstore"`
	ReplicationFactor int           `yaml:"replication_factor"`
	HeartbeatPeriod   time.Duration `yaml:"heartbeat_period"`
	HeartbeatTimeout  time.Duration `yaml:"heartbeat_timeout"`
	NumTokens         int           `yaml:"num_tokens"`
	TokensFilePath    string        `yaml:"tokens_file_path"`

	InstanceID    string        `yaml:"instance_id"`
	InstanceAddr  string        `yaml:"instance_addr"`
	InstancePort  int           `yaml:"instance_port"`
	InstanceZone  string        `yaml:"instance_zone"`
	ObservePeriod time.Duration `yaml:"observe_period"`
}

// RegisterFlags registers the ring flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.KVStore.Store = "memberlist"
	c.KVStore.RegisterFlagsWithPrefix("ring.", "collectors/", f)
	hostname, _ := os.Hostname()
	f.IntVar(&c.ReplicationFactor, "ring.replication-factor", 3, "Number of ingesters each log stream and trace is written to. Writes need a quorum (RF/2+1). Single-process mode (-target=all) forces 1 unless set explicitly.")
	f.DurationVar(&c.HeartbeatPeriod, "ring.heartbeat-period", 5*time.Second, "How often an ingester updates its heartbeat in the ring.")
	f.DurationVar(&c.HeartbeatTimeout, "ring.heartbeat-timeout", time.Minute, "An ingester whose heartbeat is older than this is skipped for writes and reads. Must be the same on every component.")
	f.IntVar(&c.NumTokens, "ring.num-tokens", 128, "Number of tokens each ingester owns in the ring.")
	f.StringVar(&c.TokensFilePath, "ring.tokens-file-path", "", "File where the ingester keeps its tokens, so a restarted ingester takes its old place. Default: tokens in the WAL directory.")
	f.StringVar(&c.InstanceID, "ring.instance-id", hostname, "Instance id in the ring; unique per ingester.")
	f.StringVar(&c.InstanceAddr, "ring.instance-addr", "", "Address other components use to reach this ingester over gRPC. Default: the gRPC listen address, or the first private address when listening on all interfaces.")
	f.IntVar(&c.InstancePort, "ring.instance-port", 0, "Port advertised in the ring. Default: the gRPC listen port.")
	f.StringVar(&c.InstanceZone, "ring.instance-availability-zone", "", "Availability zone of this ingester (for zone-aware replication).")
	f.DurationVar(&c.ObservePeriod, "ring.observe-period", 0, "How long an ingester watches the ring for token conflicts before it becomes ACTIVE.")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.ReplicationFactor < 1 {
		return fmt.Errorf("ring.replication-factor must be at least 1")
	}
	if c.NumTokens < 1 {
		return fmt.Errorf("ring.num-tokens must be at least 1")
	}
	return nil
}

// ToRingConfig converts to dskit's ring client config.
func (c *Config) ToRingConfig() dsring.Config {
	var rc dsring.Config
	flagext.DefaultValues(&rc)
	rc.KVStore = c.KVStore
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ReplicationFactor = c.ReplicationFactor
	rc.SubringCacheDisabled = true
	return rc
}
