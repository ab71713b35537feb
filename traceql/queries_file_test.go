package traceql

import (
	"flag"
	"strings"
	"testing"

	"github.com/strataobs/strata/internal/testqueries"
)

var updateQueries = flag.Bool("update-queries", false, "rewrite testdata/queries.txt from the parse table")

// TestQueriesFile keeps testdata/queries.txt equal to the valid queries of the parse
// table: the querier runs each of them through search and in memory.
func TestQueriesFile(t *testing.T) {
	var valid []string
	forEachParseCase(func(q, want string) {
		if !strings.HasPrefix(want, "parse error") {
			valid = append(valid, q)
		}
	})
	testqueries.Check(t, "traceql", valid, *updateQueries)
}
