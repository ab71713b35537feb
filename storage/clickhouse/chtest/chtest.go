// Package chtest gives tests a private database on a real ClickHouse server.
//
// The server address comes from STRATA_TEST_CLICKHOUSE (default 127.0.0.1:9000); `make test`
// and .ci/run start one. A missing server fails the test: storage tests never skip.
package chtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/flagext"

	"github.com/strataobs/strata/storage/clickhouse"
)

// Address is the ClickHouse server tests use.
func Address() string {
	if a := os.Getenv("STRATA_TEST_CLICKHOUSE"); a != "" {
		return a
	}
	return "127.0.0.1:9000"
}

// Config returns a storage config for a fresh database named after the test.
func Config(t testing.TB) clickhouse.Config {
	t.Helper()
	var cfg clickhouse.Config
	flagext.DefaultValues(&cfg)
	cfg.Address = Address()
	cfg.Database = fmt.Sprintf("strata_test_%d_%d", time.Now().Unix(), rand.Uint32())
	return cfg
}

// New opens a client on a fresh, migrated database that is dropped when the test ends.
func New(t testing.TB) *clickhouse.Client {
	t.Helper()
	cfg := Config(t)
	sweepOnce.Do(func() { sweep(t, cfg) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("ClickHouse is required for this test (set STRATA_TEST_CLICKHOUSE or run `scripts/clickhouse start`): %v", err)
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() { Drop(t, c) })
	return c
}

// Drop removes the client's database and closes it.
func Drop(t testing.TB, c *clickhouse.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+c.Database()); err != nil {
		t.Errorf("drop test database %s: %v", c.Database(), err)
	}
	c.Close()
}

var sweepOnce sync.Once

// staleAfter is the age past which a test database is a leftover of an interrupted run:
// no test run lasts that long.
const staleAfter = 6 * time.Hour

// sweep drops test databases that interrupted runs left behind (Config names them
// strata_test_<unix seconds>_<random>). Best effort: a failure is only logged.
func sweep(t testing.TB, cfg clickhouse.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		return // New reports it
	}
	defer c.Close()
	rows, err := c.Conn().Query(ctx, "SELECT name FROM system.databases WHERE startsWith(name, 'strata_test_')")
	if err != nil {
		t.Logf("sweep old test databases: %v", err)
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			break
		}
		if created, ok := createdAt(name); ok && time.Since(created) > staleAfter {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		if err := c.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("drop old test database %s: %v", name, err)
		}
	}
}

// createdAt reads the creation time from a name Config made.
func createdAt(name string) (time.Time, bool) {
	parts := strings.Split(strings.TrimPrefix(name, "strata_test_"), "_")
	if len(parts) != 2 {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
