package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/grafana/dskit/flagext"
)

// Queries test blooms in SQL (bloomHasSQL); the server must answer exactly as the Go
// reference bloomHas does, for blooms of every size a flush writes and for literals
// both present and absent.
func TestBloomHasSQLMatchesGo(t *testing.T) {
	var cfg Config
	flagext.DefaultValues(&cfg)
	if a := os.Getenv("STRATA_TEST_CLICKHOUSE"); a != "" {
		cfg.Address = a
	}
	ctx := context.Background()
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("ClickHouse is required for this test (set STRATA_TEST_CLICKHOUSE or run `scripts/clickhouse start`): %v", err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(9, 10))
	hits := 0
	for k := 0; k < 60; k++ {
		lines := randomLines(rng, 1+rng.IntN(800))
		bloom, _ := bloomOf(lineList(lines), allRows(len(lines)), nil)
		lit := fmt.Sprintf("k%013x", rng.Uint64()) // absent, most of the time
		if k%2 == 0 {
			l := lines[rng.IntN(len(lines))]
			i := rng.IntN(len(l) - 8)
			lit = l[i : i+6+rng.IntN(3)] // present
		}
		grams := gramsOf(lit)
		var got uint8
		q := fmt.Sprintf("SELECT toUInt8(%s) FROM (SELECT unhex('%s') AS bloom)", bloomHasSQL(grams), hex.EncodeToString(bloom))
		if err := c.conn.QueryRow(ctx, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := bloomHas(string(bloom), grams)
		if (got != 0) != want {
			t.Fatalf("bloom of %d bytes, literal %q: SQL says %v, Go says %v", len(bloom), lit, got != 0, want)
		}
		if want {
			hits++
		}
	}
	if hits < 30 {
		t.Errorf("only %d of 60 cases were hits; the present literals must all be", hits)
	}
}
