package app

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/go-kit/log"
)

// gcSettings reads the runtime's GOGC and soft memory limit without changing them.
func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestTuneGCOnlyForIngesters(t *testing.T) {
	percent0, limit0 := gcSettings()
	t.Cleanup(func() {
		debug.SetGCPercent(percent0)
		debug.SetMemoryLimit(limit0)
	})
	reset := func() {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
	cfg := &Config{}
	cfg.Ingester.MaxMemoryBytes = 64 << 20
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")

	for _, target := range []string{Distributor, Querier} {
		reset()
		cfg.Target = []string{target}
		tuneGC(cfg, log.NewNopLogger())
		if p, l := gcSettings(); p != 100 || l != math.MaxInt64 {
			t.Errorf("-target=%s: GOGC %d, memory limit %d; want the runtime's defaults", target, p, l)
		}
	}
	for _, target := range []string{Ingester, All} {
		reset()
		cfg.Target = []string{target}
		tuneGC(cfg, log.NewNopLogger())
		if p, l := gcSettings(); p != ingesterGCPercent || l != 112<<20 {
			t.Errorf("-target=%s: GOGC %d, memory limit %d; want %d and %d", target, p, l, ingesterGCPercent, 112<<20)
		}
	}

	// An operator's GOGC and GOMEMLIMIT win (the runtime applied them at start).
	reset()
	t.Setenv("GOGC", "80")
	t.Setenv("GOMEMLIMIT", "1GiB")
	cfg.Target = []string{Ingester}
	tuneGC(cfg, log.NewNopLogger())
	if p, l := gcSettings(); p != 100 || l != math.MaxInt64 {
		t.Errorf("with GOGC and GOMEMLIMIT set: GOGC %d, memory limit %d; tuneGC should leave both", p, l)
	}
}
