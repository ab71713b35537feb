package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// With replicated tables a short -ingester.flushed-retention is warned about at start,
// naming the flag; without replication, or with a retention above the lag it guards
// against, nothing is logged.
func TestShortRetentionWarnsOnlyWithReplicatedTables(t *testing.T) {
	for _, c := range []struct {
		replicated bool
		retention  time.Duration
		warn       bool
	}{
		{true, time.Second, true},
		{true, 0, true},
		{true, replicatedRetention, false},
		{false, 0, false},
	} {
		var buf bytes.Buffer
		cfg := &Config{}
		cfg.ClickHouse.Replicated = c.replicated
		cfg.Ingester.FlushedRetention = c.retention
		got := warnShortRetention(cfg, log.NewLogfmtLogger(&buf))
		if got != c.warn || (buf.Len() > 0) != c.warn {
			t.Errorf("replicated %v, retention %s: warned %v, logged %q; want a warning: %v", c.replicated, c.retention, got, buf.String(), c.warn)
		}
		if c.warn && !strings.Contains(buf.String(), "-ingester.flushed-retention") {
			t.Errorf("the warning does not name the flag: %q", buf.String())
		}
	}
}
