package ring

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/flagext"
	"github.com/grafana/dskit/kv"
	dsring "github.com/grafana/dskit/ring"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
)

func testConfig(t *testing.T) Config {
	var cfg Config
	flagext.DefaultValues(&cfg)
	cfg.KVStore = kv.Config{Store: "inmemory"}
	cfg.InstanceID = "ingester-1"
	cfg.TokensFilePath = filepath.Join(t.TempDir(), "tokens")
	return cfg
}

func startLifecycler(t *testing.T, cfg Config) *dsring.BasicLifecycler {
	t.Helper()
	lc, err := NewLifecycler(cfg, LifecyclerOptions{GRPCListenAddr: "127.0.0.1:9095"}, log.NewNopLogger(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := services.StartAndAwaitRunning(context.Background(), lc); err != nil {
		t.Fatal(err)
	}
	return lc
}

// TestTokensFileKeepsPlace: a restarted ingester comes back with the tokens it had.
func TestTokensFileKeepsPlace(t *testing.T) {
	cfg := testConfig(t)
	lc := startLifecycler(t, cfg)
	first := slices.Clone(lc.GetTokens())
	if len(first) != cfg.NumTokens || lc.GetState() != dsring.ACTIVE || lc.GetInstanceAddr() != "127.0.0.1:9095" {
		t.Fatalf("tokens=%d state=%s addr=%s", len(first), lc.GetState(), lc.GetInstanceAddr())
	}
	if err := services.StopAndAwaitTerminated(context.Background(), lc); err != nil {
		t.Fatal(err)
	}
	lc = startLifecycler(t, cfg)
	defer services.StopAndAwaitTerminated(context.Background(), lc)
	if !slices.Equal(first, lc.GetTokens()) {
		t.Fatalf("tokens changed across restart: %d tokens, first %v vs %v", len(lc.GetTokens()), first[:3], lc.GetTokens()[:3])
	}
}

// TestTokensWithoutFileChange is the control: without a tokens file a restart draws new tokens,
// so the test above really measures the file.
func TestTokensWithoutFileChange(t *testing.T) {
	cfg := testConfig(t)
	cfg.TokensFilePath = ""
	lc := startLifecycler(t, cfg)
	first := slices.Clone(lc.GetTokens())
	services.StopAndAwaitTerminated(context.Background(), lc)
	lc = startLifecycler(t, cfg)
	defer services.StopAndAwaitTerminated(context.Background(), lc)
	if slices.Equal(first, lc.GetTokens()) {
		t.Fatal("tokens survived a restart without a tokens file")
	}
}

func TestRank(t *testing.T) {
	set := []string{"a:1", "b:1", "c:1"}
	for addr, want := range map[string]int{"a:1": 0, "c:1": 2, "z:1": -1} {
		if got := Rank(set, addr); got != want {
			t.Errorf("Rank(%s) = %d, want %d", addr, got, want)
		}
	}
}
