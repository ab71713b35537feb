package querier

import (
	"testing"

	"github.com/strataobs/strata/logql"
)

func TestLogPageSize(t *testing.T) {
	for q, want := range map[string]int{
		`{a="b"}`:                               100,
		`{a="b"} |= "x" != "y" |~ "z"`:          100,
		`{a="b"} | json | status >= 500`:        filteredPageSize,
		`{a="b"} |= "x" | logfmt`:               100,
		`{a="b"} | json | drop a`:               100,
		`{a="b"} | line_format "{{.a}}"`:        100,
		`{a="b"} |= ip("10.0.0.1")`:             filteredPageSize,
		`{a="b"} |> "<_> GET <_>"`:              filteredPageSize,
		`{a="b"} | line_format "{{.a}}" |= "x"`: filteredPageSize,
		`{a="b"} | logfmt | __error__=""`:       filteredPageSize,
	} {
		e, err := logql.ParseLogQuery(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := logPageSize(e, 100); got != want {
			t.Errorf("%s: page %d, want %d", q, got, want)
		}
	}
	e, _ := logql.ParseLogQuery(`{a="b"} | json | a="x"`)
	if got := logPageSize(e, 8000); got != 8000 {
		t.Errorf("a limit above the filtered page: page %d, want 8000", got)
	}
}
