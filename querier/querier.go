package querier

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-kit/log"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/strataobs/strata/storage/clickhouse"
)

// Build information, set by the linker (-ldflags "-X ...").
var (
	Version   = "0.1.0-dev"
	Revision  = "unknown"
	Branch    = "main"
	BuildDate = ""
)

// Config is the querier configuration.
type Config struct {
	QueryTimeout       time.Duration `yaml:"query_timeout"`
	MaxQueryRange      time.Duration `yaml:"max_query_range"`
	MaxEntriesLimit    int           `yaml:"max_entries_limit_per_query"`
	MaxSeries          int           `yaml:"max_query_series"`
	MaxConcurrent      int           `yaml:"max_concurrent_queries_per_tenant"`
	MaxSearchTraces    int           `yaml:"max_search_traces"`
	DefaultSearchRange time.Duration `yaml:"default_search_range"`

	// AuthEnabled and DefaultTenant are the server-wide -auth.enabled and
	// -auth.default-tenant (registered by the distributor); the app copies them here so
	// reads and writes resolve tenants the same way.
	AuthEnabled   bool   `yaml:"-"`
	DefaultTenant string `yaml:"-"`
}

// RegisterFlags registers the querier flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.QueryTimeout, "querier.query-timeout", time.Minute, "Longest time a query may run; it then fails with 504.")
	f.DurationVar(&c.MaxQueryRange, "querier.max-query-range", 721*time.Hour, "Longest time range (end - start) a query may cover; longer ones fail with 400.")
	f.IntVar(&c.MaxEntriesLimit, "querier.max-entries-limit-per-query", 5000, "Largest `limit` a log query may ask for; larger ones fail with 400.")
	f.IntVar(&c.MaxSeries, "querier.max-query-series", 500, "Most series a metric query, or series and label-values request, may return; more fail with 400.")
	f.IntVar(&c.MaxConcurrent, "querier.max-concurrent-queries-per-tenant", 16, "Queries one tenant may run at once on this querier; more get 429. 0 means no limit.")
	f.IntVar(&c.MaxSearchTraces, "querier.max-search-traces", 1000, "Largest `limit` a trace search may ask for; larger ones fail with 400.")
	f.DurationVar(&c.DefaultSearchRange, "querier.default-search-range", time.Hour, "Time range of a trace search or tag request without start and end: the last this long.")
}

// Deps are what the querier reads from.
type Deps struct {
	// Store returns the ClickHouse client, or nil until the storage module runs.
	Store func() *clickhouse.Client
	// Recent is the ingesters' in-memory data; nil reads ClickHouse only.
	Recent Recent
	// Cluster reports ring members for /ui/api/cluster; nil answers 501.
	Cluster ClusterStatus
	// Registerer takes the querier's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     log.Logger
}

// Querier answers read requests.
type Querier struct {
	services.Service
	cfg     Config
	deps    Deps
	engine  *gin.Engine
	limiter *tenantLimiter
	logger  log.Logger
	now     func() time.Time

	queryDuration *prometheus.HistogramVec
}

// New builds the querier and its HTTP API.
func New(cfg Config, deps Deps) *Querier {
	gin.SetMode(gin.ReleaseMode)
	if deps.Logger == nil {
		deps.Logger = log.NewNopLogger()
	}
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = "anonymous"
	}
	q := &Querier{cfg: cfg, deps: deps, engine: gin.New(), limiter: newTenantLimiter(cfg.MaxConcurrent),
		logger: log.With(deps.Logger, "component", "querier"), now: time.Now}
	q.queryDuration = promauto.With(deps.Registerer).NewHistogramVec(prometheus.HistogramOpts{
		Name: "strata_querier_request_duration_seconds", Help: "Time to answer a read request, by route and status class.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	}, []string{"route", "status"})
	// Raw paths keep an escaped "/" inside a label or tag name from splitting the path.
	q.engine.UseRawPath = true
	q.engine.UnescapePathValues = true
	q.engine.Use(q.recovery, q.instrument)
	q.registerLoki()
	q.registerTempo()
	q.registerUI()
	q.Service = services.NewIdleService(nil, nil).WithName("querier")
	return q
}

// Handler is the querier's HTTP API.
func (q *Querier) Handler() http.Handler { return q.engine }

// store returns the ClickHouse client or an error that maps to 503.
func (q *Querier) store() (*clickhouse.Client, error) {
	if q.deps.Store != nil {
		if c := q.deps.Store(); c != nil {
			return c, nil
		}
	}
	return nil, errStorageNotReady
}

var errStorageNotReady = &httpError{status: http.StatusServiceUnavailable, msg: "storage is not ready yet: ClickHouse is still connecting"}

func (q *Querier) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			q.logError(c, fmt.Errorf("panic: %v", r))
			c.AbortWithStatus(http.StatusInternalServerError)
		}
	}()
	c.Next()
}

func (q *Querier) instrument(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "other"
	}
	q.queryDuration.WithLabelValues(route, fmt.Sprintf("%dxx", c.Writer.Status()/100)).Observe(time.Since(start).Seconds())
}

// queryContext bounds a request by the query timeout.
func (q *Querier) queryContext(c *gin.Context) (context.Context, context.CancelFunc) {
	if q.cfg.QueryTimeout <= 0 {
		return context.WithCancel(c.Request.Context())
	}
	return context.WithTimeout(c.Request.Context(), q.cfg.QueryTimeout)
}

// isTimeout reports a deadline hit, however wrapped.
func isTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
