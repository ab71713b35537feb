package clickhouse

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/dskit/flagext"
)

// Config is the ClickHouse connection and schema configuration.
type Config struct {
	Address      string         `yaml:"address"`
	Database     string         `yaml:"database"`
	Username     string         `yaml:"username"`
	Password     flagext.Secret `yaml:"password"`
	Cluster      string         `yaml:"cluster"`
	Replicated   bool           `yaml:"replicated"`
	OnClusterDDL bool           `yaml:"on_cluster_ddl"`
	LineBlooms   bool           `yaml:"line_blooms"`
	DialTimeout  time.Duration  `yaml:"dial_timeout"`
	MaxOpenConns int            `yaml:"max_open_conns"`
	InsertConns  int            `yaml:"insert_conns"`
	CountSlices  int            `yaml:"count_slices"`
	Compression  string         `yaml:"compression"`
}

// RegisterFlags registers the ClickHouse flags with their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Address, "clickhouse.address", "127.0.0.1:9000", "ClickHouse native-protocol address (host:port). Several addresses may be given, separated by commas.")
	f.StringVar(&c.Database, "clickhouse.database", "strata", "ClickHouse database that holds Strata's tables; created when missing.")
	f.StringVar(&c.Username, "clickhouse.username", "default", "ClickHouse user.")
	f.Var(&c.Password, "clickhouse.password", "ClickHouse password.")
	f.StringVar(&c.Cluster, "clickhouse.cluster", "", "ClickHouse cluster name from the servers' remote_servers configuration, for scale-out. When set, every server of the cluster gets <table>_local tables, and Distributed tables under the usual names spread rows over the shards (logs by stream, spans and the trace index by trace id). Inserts wait until every shard has its rows (insert_distributed_sync=1). Strata runs its DDL itself on each host listed in system.clusters, so no ZooKeeper is needed unless -clickhouse.replicated or -clickhouse.on-cluster-ddl is set.")
	f.BoolVar(&c.Replicated, "clickhouse.replicated", false, "With -clickhouse.cluster: create the local tables with Replicated engines (ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/<database>/<table>_local', '{replica}')), for shards with several replicas. Needs the {shard} and {replica} macros on every server and ZooKeeper or ClickHouse Keeper.")
	f.BoolVar(&c.OnClusterDDL, "clickhouse.on-cluster-ddl", false, "With -clickhouse.cluster: run each DDL statement once, ON CLUSTER, through ClickHouse's distributed DDL queue instead of host by host. Needs ZooKeeper or ClickHouse Keeper.")
	f.BoolVar(&c.LineBlooms, "clickhouse.line-blooms", true, "Store n-gram bloom filters of flushed log lines (log_blooms), so |= searches read only the blocks that may match. Costs the ingest path (ClickHouse stores about 4 bytes of filter per line); without it, rows are stored unmarked, line filters read every row, and exact counts fold copies with FINAL.")
	f.DurationVar(&c.DialTimeout, "clickhouse.dial-timeout", 5*time.Second, "Timeout for connecting to ClickHouse.")
	f.IntVar(&c.MaxOpenConns, "clickhouse.max-open-conns", 16, "Maximum open connections to ClickHouse per process for queries.")
	f.IntVar(&c.CountSlices, "clickhouse.count-slices", 2, "Concurrent queries an exact log count (count_over_time, rate, bytes_over_time and their sums) that reads the logs table FINAL is split into, by time, when it spans more than 10 minutes and some 2M rows, with about as many rows in each (log_blooms counts them); the slices' counts are added up. Counts read FINAL only where they cannot count plain rows or FINAL is cheaper: rows stored without line blooms, byte sums over stored copies, copies among over a third of the rows, over 200,000 flush blocks in range, or blocks of fewer than 50 rows each. ClickHouse before 22.x folds FINAL in one thread per partition (one query over a day uses one core). 1 turns splitting off.")
	f.StringVar(&c.Compression, "clickhouse.compression", "auto", "Compression of the blocks sent to and read from ClickHouse: lz4, none, or auto (none when every -clickhouse.address is a loopback address, where compressing costs both sides CPU and saves nothing; lz4 otherwise).")
	f.IntVar(&c.InsertConns, "clickhouse.insert-conns", 2, "Connections per process for INSERTs (flushes), apart from the query connections. Each keeps the send buffer of its largest INSERT for the next one; an ingester runs -ingester.flush-concurrency flushes at once.")
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Address == "" {
		return errors.New("clickhouse.address must not be empty")
	}
	if !identRE.MatchString(c.Database) {
		return fmt.Errorf("clickhouse.database %q: must match %s", c.Database, identRE)
	}
	if c.Cluster != "" && !identRE.MatchString(c.Cluster) {
		return fmt.Errorf("clickhouse.cluster %q: must match %s", c.Cluster, identRE)
	}
	if c.CountSlices < 1 {
		return errors.New("clickhouse.count-slices must be at least 1")
	}
	if c.InsertConns < 1 {
		return errors.New("clickhouse.insert-conns must be at least 1")
	}
	switch c.Compression {
	case "auto", "lz4", "none":
	default:
		return fmt.Errorf("clickhouse.compression %q: must be lz4, none or auto", c.Compression)
	}
	if c.Cluster == "" && (c.Replicated || c.OnClusterDDL) {
		return errors.New("clickhouse.replicated and clickhouse.on-cluster-ddl need clickhouse.cluster")
	}
	return nil
}

// Client is a connection pool to ClickHouse plus the server facts the SQL depends on.
type Client struct {
	cfg  Config
	conn driver.Conn
	// ins is the pool INSERT batches go through. A connection keeps the send buffer of
	// its largest INSERT (tens of MB for a flush) unless told to drop it, and dropping it
	// made every flush grow a new one (a third more CPU per record). So inserts keep
	// theirs on a few connections of their own, and the query pool drops its buffers:
	// taking turns on the query pool, every connection would end up holding one.
	ins     driver.Conn
	addr    string
	version Version
	known   *knownStreams
	labels  *labelCache

	// copyCounts is how many counts countBetweenCopies answered, for tests.
	copyCounts atomic.Int64
	// beforeCopyCount, set by tests, runs before each count countBetweenCopies makes.
	beforeCopyCount func()
}

// compressionMethod is the block compression setting for these addresses (see the
// -clickhouse.compression flag). On loopback LZ4 was 13% of an all-in-one process's CPU,
// spent to save copying bytes between two processes on one machine.
func compressionMethod(setting string, addrs []string) ch.CompressionMethod {
	switch setting {
	case "none":
		return ch.CompressionNone
	case "lz4":
		return ch.CompressionLZ4
	}
	for _, a := range addrs {
		if !isLoopback(a) {
			return ch.CompressionLZ4
		}
	}
	return ch.CompressionNone
}

// isLoopback reports whether host:port names this machine's loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(strings.TrimSpace(addr))
	if err != nil {
		host = strings.TrimSpace(addr)
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open connects to ClickHouse (without selecting the database, which may not exist yet).
func Open(ctx context.Context, cfg Config) (*Client, error) {
	return open(ctx, cfg, strings.Split(cfg.Address, ","), cfg.MaxOpenConns)
}

func open(ctx context.Context, cfg Config, addrs []string, maxConns int) (*Client, error) {
	opts := func(conns int, keepBuffers bool) *ch.Options {
		return &ch.Options{
			Addr: addrs,
			Auth: ch.Auth{Username: cfg.Username, Password: cfg.Password.String()},
			Compression: &ch.Compression{
				Method: compressionMethod(cfg.Compression, addrs),
			},
			DialTimeout:          cfg.DialTimeout,
			MaxOpenConns:         conns,
			MaxIdleConns:         conns,
			ConnMaxLifetime:      time.Hour,
			FreeBufOnConnRelease: !keepBuffers,
		}
	}
	conn, err := ch.Open(opts(maxConns, false))
	if err != nil {
		return nil, fmt.Errorf("clickhouse open %s: %w", strings.Join(addrs, ","), err)
	}
	ins, err := ch.Open(opts(max(cfg.InsertConns, 1), true))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse open %s: %w", strings.Join(addrs, ","), err)
	}
	c := &Client{cfg: cfg, conn: conn, ins: ins, addr: strings.Join(addrs, ","), known: &knownStreams{}, labels: &labelCache{}}
	if err := c.loadVersion(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) loadVersion(ctx context.Context) error {
	var v string
	if err := c.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return fmt.Errorf("clickhouse %s: query version: %w", c.addr, err)
	}
	ver, err := ParseVersion(v)
	if err != nil {
		return err
	}
	c.version = ver
	return nil
}

// Version is the server version the client is connected to.
func (c *Client) Version() Version { return c.version }

// Conn exposes the driver connection for readers in this package and for tests.
func (c *Client) Conn() driver.Conn { return c.conn }

// Database is the configured database name.
func (c *Client) Database() string { return c.cfg.Database }

// Ping checks that the server answers.
func (c *Client) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

// Close closes the pool.
func (c *Client) Close() error { return errors.Join(c.conn.Close(), c.ins.Close()) }

// Version is a parsed ClickHouse server version.
type Version struct{ Major, Minor, Patch int }

// ParseVersion parses "18.16.1" or "24.8.4.13".
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return v, fmt.Errorf("clickhouse version %q: want major.minor", s)
	}
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i := 0; i < len(nums) && i < len(parts); i++ {
		if _, err := fmt.Sscanf(parts[i], "%d", nums[i]); err != nil {
			return v, fmt.Errorf("clickhouse version %q: %w", s, err)
		}
	}
	return v, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }
