package logql

import (
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	f := func(s string, want time.Duration, canonical string) {
		t.Helper()
		d, err := parseDuration(s)
		if err != nil || d != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, d, err, want)
			return
		}
		if got := formatDuration(d); got != canonical {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, canonical)
		}
	}
	f("5m", 5*time.Minute, "5m")
	f("1m30s", 90*time.Second, "1m30s")
	f("1h0m0s", time.Hour, "1h")
	f("1.5s", 1500*time.Millisecond, "1s500ms")
	f("2d", 48*time.Hour, "2d")
	f("8d", 8*24*time.Hour, "1w1d")
	f("1y", 365*24*time.Hour, "1y")
	f("250us", 250*time.Microsecond, "250us")
	f("3ns", 3, "3ns")
	f("0s", 0, "0s")
	for _, bad := range []string{"", "5", "m", "5x", "1..5s", "5m3"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) succeeded", bad)
		}
	}
}

func TestBytes(t *testing.T) {
	f := func(s string, want uint64, canonical string) {
		t.Helper()
		n, err := parseBytes(s)
		if err != nil || n != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", s, n, err, want)
			return
		}
		if got := formatBytes(n); got != canonical {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, canonical)
		}
	}
	f("1KB", 1000, "1KB")
	f("1kb", 1000, "1KB")
	f("1KiB", 1024, "1KiB")
	f("1.5 MB", 1500000, "1500KB")
	f("1,024", 1024, "1KiB")
	f("42", 42, "42B")
	f("2gb", 2e9, "2GB")
	f("3MiB", 3<<20, "3MiB")
	f("0B", 0, "0B")
	for _, bad := range []string{"", "KB", "1XB", "-1KB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) succeeded", bad)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 0.5, 0.99, 1e21, 1e-7, 123456.789, 1e15, 3.0000000000000004} {
		s := formatFloat(v)
		toks, err := lex(s)
		if err != nil || toks[0].kind != tokNumber || toks[0].num != v {
			if v < 0 && len(toks) > 1 && toks[0].kind == tokSub && -toks[1].num == v {
				continue
			}
			t.Errorf("formatFloat(%v) = %q does not lex back (%v)", v, s, err)
		}
	}
}
