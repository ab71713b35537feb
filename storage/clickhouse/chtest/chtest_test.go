package chtest

import (
	"testing"
	"time"
)

func TestCreatedAt(t *testing.T) {
	cfg := Config(t)
	if at, ok := createdAt(cfg.Database); !ok || time.Since(at) > time.Minute || time.Since(at) < -time.Minute {
		t.Errorf("createdAt(%q) = %v, %v; want about now", cfg.Database, at, ok)
	}
	for _, name := range []string{"strata_test_colappend_42", "strata_bench_query", "strata_test_x_1", "strata_test_1_2_3"} {
		if _, ok := createdAt(name); ok {
			t.Errorf("createdAt(%q) claims a creation time", name)
		}
	}
}
