package logql

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond, // U+00B5
	"μs": time.Microsecond, // U+03BC
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
	"w":  7 * 24 * time.Hour,
	"y":  365 * 24 * time.Hour,
}

var errInvalidDuration = errors.New("not a valid duration string")

// parseDuration parses a query duration literal: one or more <number><unit>
// with units ns us µs ms s m h d w y, e.g. "5m", "1m30s", "1.5s", "2d".
// It accepts both Prometheus durations (what Loki uses for ranges) and Go
// durations (what Loki uses for label filters).
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errInvalidDuration
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && !isDigit(s[j]) && s[j] != '.' {
			j++
		}
		unit, ok := durationUnits[s[i:j]]
		if i == 0 || !ok {
			return 0, errInvalidDuration
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, errInvalidDuration
		}
		total += v * float64(unit)
		s = s[j:]
	}
	if total >= math.MaxInt64 {
		return 0, errors.New("duration out of range")
	}
	return time.Duration(math.Round(total)), nil
}

var durationFormatUnits = []struct {
	name string
	d    time.Duration
}{
	{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour},
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond},
}

// formatDuration prints d the way Prometheus does (largest units first,
// "1h30m", "1d", "0s"), extended with us and ns for sub-millisecond parts.
// parseDuration(formatDuration(d)) == d.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range durationFormatUnits {
		if d >= u.d {
			n := d / u.d
			d -= n * u.d
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
		}
	}
	return b.String()
}

var byteUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "ti": 1 << 40, "tib": 1 << 40,
	"p": 1e15, "pb": 1e15, "pi": 1 << 50, "pib": 1 << 50,
	"e": 1e18, "eb": 1e18, "ei": 1 << 60, "eib": 1 << 60,
}

// parseBytes parses a human byte size such as "1KB" (1000), "1KiB" (1024),
// "1.5 MB" or "42", case-insensitive, like go-humanize's ParseBytes which
// Loki uses.
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ',') {
		i++
	}
	if i == 0 {
		return 0, errors.New("invalid bytes value " + strconv.Quote(s))
	}
	num := strings.ReplaceAll(s[:i], ",", "")
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, errors.New("unhandled size name: " + unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	total := v * float64(mult)
	if total >= math.MaxUint64 {
		return 0, errors.New("too large: " + s)
	}
	return uint64(total), nil
}

var bytesFormatUnits = []struct {
	name string
	mult uint64
}{
	{"EiB", 1 << 60}, {"EB", 1e18}, {"PiB", 1 << 50}, {"PB", 1e15}, {"TiB", 1 << 40}, {"TB", 1e12},
	{"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3},
}

// formatBytes prints n with the largest unit that divides it exactly, else
// as plain bytes: "1KiB", "2GB", "1500B".
func formatBytes(n uint64) string {
	if n != 0 {
		for _, u := range bytesFormatUnits {
			if n%u.mult == 0 {
				return strconv.FormatUint(n/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatUint(n, 10) + "B"
}

// formatFloat prints a number so that the lexer reads it back exactly.
func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
