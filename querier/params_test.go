package querier

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		got, err := parseTimestamp("start", in, 42)
		if err != nil || got != want {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("", 42)
	f("1700000000", 1700000000*int64(time.Second))
	f("4000000000", 4000000000*int64(time.Second)) // Grafana's health check: 10 digits are seconds
	f("1700000000123000000", 1700000000123000000)
	f("1700000000.5", 1700000000500000000)
	f("1700000000.123456789123", 1700000000123456789)
	f("2024-01-01T00:00:00.000Z", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	f("2024-01-01T01:00:00+01:00", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	for _, bad := range []string{"now", "1.2.3", "12:00"} {
		if _, err := parseTimestamp("start", bad, 0); err == nil {
			t.Errorf("parseTimestamp(%q) accepted", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	f := func(in string, want time.Duration) {
		t.Helper()
		got, err := parseDuration("step", in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	f("15", 15*time.Second)
	f("0.5", 500*time.Millisecond)
	f("15000ms", 15*time.Second)
	f("1m30s", 90*time.Second)
	f("1d", 24*time.Hour)
	f("1m0s", time.Minute)
	f("1.5s", 1500*time.Millisecond)
	for _, bad := range []string{"", "fast", "1x", "NaN"} {
		if _, err := parseDuration("step", bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

// TestJSONStringMatchesEncodingJSON checks the hand-written string encoder against
// encoding/json on random and tricky strings: both must decode to the same value.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f", "nl\n\r\t", "\u2028\u2029", "bad\xff\xfe utf8", "ünïcödé ✓", "<&>"}
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(20))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		w := &jsonw{}
		w.str(s)
		var got string
		if err := json.Unmarshal(w.b, &got); err != nil {
			t.Fatalf("%q encodes as invalid JSON %s: %v", s, w.b, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS) // encoding/json's own output always decodes
		if got != wantS {
			t.Errorf("%q decodes as %q, encoding/json gives %q", s, got, wantS)
		}
	}
}
