package querier

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// form returns the request's parameters: the query string and, for POST, a urlencoded
// body, as Loki reads them (r.Form).
func form(c *gin.Context) (url.Values, error) {
	if err := c.Request.ParseForm(); err != nil {
		return nil, badRequest("cannot parse the request parameters: %v", err)
	}
	return c.Request.Form, nil
}

// parseTimestamp reads Loki's timestamp formats: float Unix seconds ("1700000000.5"),
// integer Unix seconds (up to 10 digits), integer Unix nanoseconds (longer), or
// RFC3339. An empty value gives def. The result is Unix nanoseconds.
func parseTimestamp(name, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	if strings.Contains(s, ".") {
		if ns, ok := floatSecondsToNanos(s); ok {
			return ns, nil
		}
	} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		digits := len(strings.TrimPrefix(s, "-"))
		if digits <= 10 {
			return n * int64(time.Second), nil
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, badRequest("invalid %s %q: want Unix seconds, Unix nanoseconds or RFC3339", name, s)
	}
	return t.UnixNano(), nil
}

// floatSecondsToNanos parses "seconds.fraction" without float rounding of the
// nanoseconds.
func floatSecondsToNanos(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if intPart == "" {
		intPart = "0"
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec > math.MaxInt64/int64(time.Second) {
		return 0, false
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	total := sec*int64(time.Second) + ns
	if neg {
		total = -total
	}
	return total, true
}

// parseDuration reads float seconds ("15", "0.5"), a Prometheus duration ("15000ms",
// "1m30s", "1d") or a Go duration ("1.5s", what logcli sends for some endpoints).
func parseDuration(name, s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
			return 0, badRequest("invalid %s %q: out of range", name, s)
		}
		return time.Duration(math.Round(f * float64(time.Second))), nil
	}
	if d, ok := parsePromDuration(s); ok {
		return d, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, badRequest("invalid %s %q: want seconds or a duration such as 15s, 1m30s, 2h, 1d", name, s)
}

var promUnits = []struct {
	name string
	d    time.Duration
}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}

// parsePromDuration reads [0-9]+(ms|s|m|h|d|w|y), repeated.
func parsePromDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		s = s[i:]
		unit := time.Duration(0)
		for _, u := range promUnits {
			if strings.HasPrefix(s, u.name) {
				unit = u.d
				s = s[len(u.name):]
				break
			}
		}
		if unit == 0 || n > int64(math.MaxInt64/unit) {
			return 0, false
		}
		total += time.Duration(n) * unit
	}
	return total, true
}

// timeRange reads start and end (or since) with Loki's defaults: end now, start
// end - since, since 1h.
func timeRange(v url.Values, now time.Time) (start, end int64, err error) {
	end, err = parseTimestamp("end", v.Get("end"), now.UnixNano())
	if err != nil {
		return 0, 0, err
	}
	since := time.Hour
	if s := v.Get("since"); s != "" {
		if since, err = parseDuration("since", s); err != nil {
			return 0, 0, err
		}
	}
	start, err = parseTimestamp("start", v.Get("start"), min(end, now.UnixNano())-int64(since))
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, badRequest("end timestamp must not be before or equal to start time")
	}
	return start, end, nil
}

// parseLimit reads a positive limit with a default.
func parseLimit(v url.Values, name string, def int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, badRequest("invalid %s %q: must be a positive integer", name, s)
	}
	return n, nil
}

// parseDirection reads forward or backward, in any case; backward by default.
func parseDirection(v url.Values) (forward bool, err error) {
	switch strings.ToLower(v.Get("direction")) {
	case "", "backward":
		return false, nil
	case "forward":
		return true, nil
	}
	return false, badRequest("invalid direction %q: want forward or backward", v.Get("direction"))
}

// parseStep reads step, defaulting like Loki to max((end-start)/250, 1s).
func parseStep(v url.Values, start, end int64) (time.Duration, error) {
	s := v.Get("step")
	if s == "" {
		return max(time.Duration((end-start)/250/int64(time.Second))*time.Second, time.Second), nil
	}
	d, err := parseDuration("step", s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	return d, nil
}
