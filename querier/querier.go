package querier

import (
	"flag"
	"net/http"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/grafana/dskit/services"
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
	QueryTimeout time.Duration `yaml:"query_timeout"`
}

// RegisterFlags registers the querier flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.DurationVar(&c.QueryTimeout, "querier.query-timeout", time.Minute, "Longest time a query may run; it then fails with 504.")
}

// Querier answers read requests.
type Querier struct {
	services.Service
	cfg    Config
	engine *gin.Engine
}

// New builds the querier and its HTTP API.
func New(cfg Config) *Querier {
	gin.SetMode(gin.ReleaseMode)
	q := &Querier{cfg: cfg, engine: gin.New()}
	q.engine.Use(gin.Recovery())
	q.registerRoutes()
	q.Service = services.NewIdleService(nil, nil).WithName("querier")
	return q
}

// Handler is the querier's HTTP API.
func (q *Querier) Handler() http.Handler { return q.engine }

func (q *Querier) registerRoutes() {
	bi := func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"version": Version, "revision": Revision, "branch": Branch, "buildDate": BuildDate, "buildUser": "", "goVersion": runtime.Version()})
	}
	q.engine.GET("/loki/api/v1/status/buildinfo", bi)
	q.engine.GET("/api/status/buildinfo", bi)
	q.engine.GET("/api/echo", func(c *gin.Context) { c.String(http.StatusOK, "echo") })
}
