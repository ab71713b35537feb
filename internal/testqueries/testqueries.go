// Package testqueries reads the query tables that tests share: the valid queries of
// the LogQL and TraceQL parser tests, which the querier's tests also run against
// ClickHouse and memory. A file holds one Go string literal per line (backquoted
// where possible, so most lines read as the query itself); blank lines and lines
// starting with # are ignored. Queries with newlines or backquotes are double-quoted.
package testqueries

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Path is the query file of a package directory of the module ("logql", "traceql").
func Path(pkg string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", pkg, "testdata", "queries.txt")
}

// Load reads a query file.
func Load(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, err := strconv.Unquote(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a Go string literal: %s", path, n, line)
		}
		out = append(out, q)
	}
	return out, sc.Err()
}

// Format renders queries in Load's format, after a header comment.
func Format(header string, queries []string) []byte {
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString("# " + l + "\n")
	}
	for _, q := range queries {
		if strconv.CanBackquote(q) {
			b.WriteString("`" + q + "`\n")
		} else {
			b.WriteString(strconv.Quote(q) + "\n")
		}
	}
	return b.Bytes()
}

// Check keeps pkg's query file equal to valid, the valid queries of its parse table:
// with update it rewrites the file first; either way it fails t when they differ.
func Check(t testing.TB, pkg string, valid []string, update bool) {
	t.Helper()
	path := Path(pkg)
	if update {
		header := fmt.Sprintf("The valid queries of %[1]s's parse table (parser_test.go), one Go string literal a line.\n"+
			"Regenerate with: go test ./%[1]s -run TestQueriesFile -update-queries", pkg)
		if err := os.WriteFile(path, Format(header, valid), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, valid) {
		t.Errorf("%s differs from the parse table's %d valid queries; regenerate with -update-queries", path, len(valid))
	}
}
