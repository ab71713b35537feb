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
