package logql

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/strataobs/strata/internal/testqueries"
)

var updateQueries = flag.Bool("update-queries", false, "rewrite testdata/queries.txt from the parse table")

// TestQueriesFile keeps testdata/queries.txt equal to the valid queries of the parse
// table: the querier runs each of them against ClickHouse and memory.
func TestQueriesFile(t *testing.T) {
	var valid []string
	forEachParseCase(func(q, want string) {
		if !strings.HasPrefix(want, "parse error") {
			valid = append(valid, q)
		}
	})
	path := testqueries.Path("logql")
	if *updateQueries {
		header := "The valid queries of logql's parse table (parser_test.go), one Go string literal a line.\n" +
			"Regenerate with: go test ./logql -run TestQueriesFile -update-queries"
		if err := os.WriteFile(path, testqueries.Format(header, valid), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := testqueries.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, valid) {
		t.Errorf("%s differs from the parse table's %d valid queries; regenerate with -update-queries", path, len(valid))
	}
}
