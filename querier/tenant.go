package querier

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

const tenantKey = "strata.tenant"

// maxTenantLength is the longest tenant id accepted, as in the distributor, Loki and Mimir.
const maxTenantLength = 150

// tenantMiddleware resolves the tenant of a request: X-Scope-OrgID, else (for the tail
// websocket, which browsers cannot give headers) the tenant query parameter, else the
// default tenant when auth is off. The rules and the character set match the
// distributor's, so every tenant that can write can read.
func (q *Querier) tenantMiddleware(allowParam bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		t := c.GetHeader("X-Scope-OrgID")
		if t == "" && allowParam {
			t = c.Query("tenant")
		}
		if t == "" {
			if q.cfg.AuthEnabled {
				q.writeError(c, &httpError{status: http.StatusUnauthorized, msg: "no org id: set the X-Scope-OrgID header (auth is enabled)"})
				return
			}
			t = q.cfg.DefaultTenant
		}
		if err := validateTenant(t); err != nil {
			q.writeError(c, &httpError{status: http.StatusBadRequest, msg: err.Error()})
			return
		}
		c.Set(tenantKey, t)
		c.Next()
	}
}

func tenantOf(c *gin.Context) string { return c.GetString(tenantKey) }

// validateTenant checks 1-150 characters from [a-zA-Z0-9!-_.*'()], not "." or "..".
// Loki's multi-tenant "a|b" reads are not supported: "|" is rejected here.
func validateTenant(t string) error {
	if len(t) > maxTenantLength {
		return fmt.Errorf("tenant id is %d characters long, more than the maximum of %d", len(t), maxTenantLength)
	}
	if t == "." || t == ".." {
		return fmt.Errorf("tenant id %q is not allowed", t)
	}
	for i, r := range t {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		switch r {
		case '!', '-', '_', '.', '*', '\'', '(', ')':
			ok = true
		}
		if !ok {
			return fmt.Errorf("tenant id contains unsupported character %q at position %d: allowed are letters, digits and !-_.*'()", r, i)
		}
	}
	return nil
}

// tenantLimiter caps the queries each tenant runs at once on this querier.
type tenantLimiter struct {
	max     int
	mu      sync.Mutex
	running map[string]int
}

func newTenantLimiter(max int) *tenantLimiter {
	return &tenantLimiter{max: max, running: map[string]int{}}
}

// acquire takes a slot or fails with 429; release gives it back.
func (l *tenantLimiter) acquire(tenant string) (release func(), err error) {
	if l.max <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[tenant] >= l.max {
		return nil, &httpError{status: http.StatusTooManyRequests, msg: fmt.Sprintf(msgTooMany, l.max)}
	}
	l.running[tenant]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.running[tenant]--; l.running[tenant] <= 0 {
			delete(l.running, tenant)
		}
	}, nil
}

// limitMiddleware applies the per-tenant concurrency limit.
func (q *Querier) limitMiddleware(c *gin.Context) {
	release, err := q.limiter.acquire(tenantOf(c))
	if err != nil {
		q.writeError(c, err)
		return
	}
	defer release()
	c.Next()
}
