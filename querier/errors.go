package querier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"
	"github.com/go-kit/log/level"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/traceql"
)

// httpError is an error with the status and text the client gets.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// badRequest is a 400 for a bad parameter or query; the text names the field.
func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// queryError marks an error the query evaluator raised about the query itself (not
// about reading data): the client's fault, so a 400.
type queryError struct{ err error }

func (e *queryError) Error() string { return e.err.Error() }
func (e *queryError) Unwrap() error { return e.err }

// Messages Loki and Grafana users know; the flag tells how to change the limit.
const (
	msgTimeout = "request timed out, decrease the duration of the request or add more label matchers (prefix your labels with a \"{\" and add more matchers to narrow the range), or raise -querier.query-timeout"
	msgTooMany = "too many outstanding requests: more than -querier.max-concurrent-queries-per-tenant=%d queries of this tenant are running; retry later"
)

// ClickHouse error codes the mapping treats specially.
const (
	chTimeoutExceeded     = 159
	chMemoryLimitExceeded = 241
	chTooManySimultaneous = 202
)

// classify is the one mapping from errors to HTTP statuses and client text. Details of
// internal errors stay in the log.
func classify(err error) (int, string) {
	var he *httpError
	var qe *queryError
	var lpe *logql.ParseError
	var tpe *traceql.ParseError
	var lle *logql.LimitError
	var lpipe *logql.PipelineError
	var ex *ch.Exception
	var ne net.Error
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &lpe), errors.As(err, &tpe), errors.As(err, &lle), errors.As(err, &lpipe), errors.As(err, &qe):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, msgTimeout
	case errors.Is(err, context.Canceled):
		return 499, "the request was cancelled by the client"
	case errors.As(err, &ex) && ex.Code == chTimeoutExceeded:
		return http.StatusGatewayTimeout, msgTimeout
	case errors.As(err, &ex) && ex.Code == chMemoryLimitExceeded:
		return http.StatusBadRequest, "the query needs more memory than ClickHouse allows: narrow the time range or add label matchers"
	case errors.As(err, &ex) && ex.Code == chTooManySimultaneous:
		return http.StatusTooManyRequests, "ClickHouse is running too many queries; retry later"
	case errors.As(err, &ne):
		return http.StatusServiceUnavailable, "storage is unavailable; retry later"
	}
	return http.StatusInternalServerError, "internal error; see the querier log for details"
}

// writeError answers with Loki's error format: the status and plain text.
func (q *Querier) writeError(c *gin.Context, err error) {
	status, msg := classify(err)
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
		q.logError(c, err)
	}
	if status == http.StatusTooManyRequests {
		c.Header("Retry-After", "1")
	}
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(status)
	c.Writer.WriteString(msg + "\n")
	c.Abort()
}

func (q *Querier) logError(c *gin.Context, err error) {
	level.Error(q.logger).Log("msg", "read request failed", "path", c.Request.URL.Path, "err", err)
}
