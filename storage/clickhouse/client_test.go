package clickhouse

import (
	"flag"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

func TestCompressionMethod(t *testing.T) {
	for _, tc := range []struct {
		setting string
		addrs   string
		want    ch.CompressionMethod
	}{
		{"auto", "127.0.0.1:9000", ch.CompressionNone},
		{"auto", "127.0.0.5:9000,localhost:9000,[::1]:9000", ch.CompressionNone},
		{"auto", "127.0.0.1:9000,10.0.0.7:9000", ch.CompressionLZ4},
		{"auto", "clickhouse.internal:9000", ch.CompressionLZ4},
		{"auto", "[2001:db8::1]:9000", ch.CompressionLZ4},
		{"lz4", "127.0.0.1:9000", ch.CompressionLZ4},
		{"none", "10.0.0.7:9000", ch.CompressionNone},
	} {
		if got := compressionMethod(tc.setting, strings.Split(tc.addrs, ",")); got != tc.want {
			t.Errorf("%s for %s: %v, want %v", tc.setting, tc.addrs, got, tc.want)
		}
	}
}

func TestCompressionSettingIsValidated(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Compression = "zstd"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "clickhouse.compression") {
		t.Fatalf("compression zstd: got %v, want an error naming clickhouse.compression", err)
	}
}
