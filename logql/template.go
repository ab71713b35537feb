package logql

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// templateState is what __line__ and __timestamp__ read while a
// line_format or label_format template runs.
type templateState struct {
	line string
	ts   int64
}

// templateFuncs returns the functions of line_format and label_format: Loki's
// own (ToUpper, regexReplaceAll, __line__, ...) and the subset of sprig that
// Loki exposes (lower, trunc, default, add, date, ...).
func templateFuncs(st *templateState) template.FuncMap {
	return template.FuncMap{
		"__line__":      func() string { return st.line },
		"__timestamp__": func() time.Time { return time.Unix(0, st.ts).UTC() },

		"ToLower": strings.ToLower, "ToUpper": strings.ToUpper, "Replace": strings.Replace,
		"Trim": strings.Trim, "TrimLeft": strings.TrimLeft, "TrimRight": strings.TrimRight,
		"TrimPrefix": strings.TrimPrefix, "TrimSuffix": strings.TrimSuffix, "TrimSpace": strings.TrimSpace,
		"regexReplaceAll":        regexReplaceAll,
		"regexReplaceAllLiteral": regexReplaceAllLiteral,
		"count":                  regexCount,
		"urldecode":              url.QueryUnescape,
		"urlencode":              url.QueryEscape,
		"bytes":                  func(s string) (float64, error) { n, err := parseBytes(s); return float64(n), err },
		"duration":               durationSeconds,
		"duration_seconds":       durationSeconds,
		"unixEpochMillis":        func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
		"unixEpochNanos":         func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
		"unixEpoch":              func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
		"unixToTime":             unixToTime,
		"toDateInZone":           toDateInZone,
		"alignLeft":              func(n int, s string) string { return fmt.Sprintf("%-*s", n, truncRunes(n, s)) },
		"alignRight":             func(n int, s string) string { return fmt.Sprintf("%*s", n, truncRunes(n, s)) },

		"b64enc":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec":     b64dec,
		"lower":      strings.ToLower,
		"upper":      strings.ToUpper,
		"title":      titleCase,
		"trunc":      truncRunes,
		"substr":     substr,
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
		"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
		"indent":     indent,
		"nindent":    func(n int, s string) (string, error) { s, err := indent(n, s); return "\n" + s, err },
		"replace":    func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) },
		"repeat":     repeat,
		"trim":       strings.TrimSpace,
		"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
		"int":        toInt64,
		"float64":    toFloat64,
		"add":        func(a ...any) int64 { return foldInt(a, func(x, y int64) int64 { return x + y }) },
		"sub":        func(a, b any) int64 { return toInt64(a) - toInt64(b) },
		"mul":        func(a ...any) int64 { return foldInt(a, func(x, y int64) int64 { return x * y }) },
		"div":        intDiv,
		"mod":        intMod,
		"addf":       func(a ...any) float64 { return foldFloat(a, func(x, y float64) float64 { return x + y }) },
		"subf":       func(a ...any) float64 { return foldFloat(a, func(x, y float64) float64 { return x - y }) },
		"mulf":       func(a ...any) float64 { return foldFloat(a, func(x, y float64) float64 { return x * y }) },
		"divf":       func(a ...any) float64 { return foldFloat(a, func(x, y float64) float64 { return x / y }) },
		"max":        func(a ...any) int64 { return foldInt(a, func(x, y int64) int64 { return max(x, y) }) },
		"min":        func(a ...any) int64 { return foldInt(a, func(x, y int64) int64 { return min(x, y) }) },
		"maxf":       func(a ...any) float64 { return foldFloat(a, math.Max) },
		"minf":       func(a ...any) float64 { return foldFloat(a, math.Min) },
		"ceil":       func(a any) float64 { return math.Ceil(toFloat64(a)) },
		"floor":      func(a any) float64 { return math.Floor(toFloat64(a)) },
		"round":      round,
		"fromJson":   fromJSON,
		"date":       formatDate,
		"toDate":     func(layout, s string) time.Time { t, _ := time.Parse(layout, s); return t },
		"now":        time.Now,
		"default":    defaultValue,
	}
}

func regexReplaceAll(re, s, repl string) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", err
	}
	return r.ReplaceAllString(s, repl), nil
}

func regexReplaceAllLiteral(re, s, repl string) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", err
	}
	return r.ReplaceAllLiteralString(s, repl), nil
}

func regexCount(re, s string) (int, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return 0, err
	}
	return len(r.FindAllStringIndex(s, -1)), nil
}

func durationSeconds(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

func unixToTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	switch len(s) {
	case 10:
		return time.Unix(n, 0).UTC(), nil
	case 13:
		return time.UnixMilli(n).UTC(), nil
	case 16:
		return time.UnixMicro(n).UTC(), nil
	case 19:
		return time.Unix(0, n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unable to convert %s to a time: expecting 10, 13, 16 or 19 digits", s)
}

func toDateInZone(layout, zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	t, _ := time.ParseInLocation(layout, s, loc)
	return t
}

func b64dec(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// truncRunes keeps the first n runes of s, or the last -n when n < 0.
func truncRunes(n int, s string) string {
	r := []rune(s)
	switch {
	case n < 0 && len(r)+n > 0:
		return string(r[len(r)+n:])
	case n >= 0 && len(r) > n:
		return string(r[:n])
	}
	return s
}

func substr(start, end int, s string) string {
	r := []rune(s)
	end = min(end, len(r))
	start = min(start, len(r))
	switch {
	case start < 0 && end < 0:
		return ""
	case start < 0:
		return string(r[:end])
	case end < 0:
		return string(r[start:])
	case start > end:
		return ""
	}
	return string(r[start:end])
}

// maxRepeat bounds what repeat and indent may build: a query must not be
// able to make one line allocate gigabytes.
const maxRepeat = 1 << 20

func repeat(n int, s string) (string, error) {
	if n > 0 && len(s) > 0 && n > maxRepeat/len(s) {
		return "", fmt.Errorf("repeat: result longer than %d bytes", maxRepeat)
	}
	return strings.Repeat(s, max(n, 0)), nil
}

func indent(n int, s string) (string, error) {
	lines := strings.Count(s, "\n") + 1
	if n > maxRepeat/lines {
		return "", fmt.Errorf("indent: result longer than %d bytes", maxRepeat)
	}
	pad := strings.Repeat(" ", max(n, 0))
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

// toInt64 converts template values (label values are strings) like sprig's
// cast does; what does not convert is 0.
func toInt64(v any) int64 {
	switch v := v.(type) {
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int64(f)
	case int:
		return int64(v)
	case int64:
		return v
	case int32:
		return int64(v)
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	case float32:
		return int64(v)
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

func toFloat64(v any) float64 {
	switch v := v.(type) {
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f
	case float64:
		return v
	case float32:
		return float64(v)
	}
	return float64(toInt64(v))
}

func foldInt(a []any, fn func(x, y int64) int64) int64 {
	if len(a) == 0 {
		return 0
	}
	acc := toInt64(a[0])
	for _, v := range a[1:] {
		acc = fn(acc, toInt64(v))
	}
	return acc
}

func foldFloat(a []any, fn func(x, y float64) float64) float64 {
	if len(a) == 0 {
		return 0
	}
	acc := toFloat64(a[0])
	for _, v := range a[1:] {
		acc = fn(acc, toFloat64(v))
	}
	return acc
}

func intDiv(a, b any) (int64, error) {
	d := toInt64(b)
	if d == 0 {
		return 0, fmt.Errorf("division by zero")
	}
	return toInt64(a) / d, nil
}

func intMod(a, b any) (int64, error) {
	d := toInt64(b)
	if d == 0 {
		return 0, fmt.Errorf("division by zero")
	}
	return toInt64(a) % d, nil
}

func round(a any, places int, roundOn ...float64) float64 {
	on := 0.5
	if len(roundOn) > 0 {
		on = roundOn[0]
	}
	pow := math.Pow(10, float64(places))
	v := toFloat64(a) * pow
	_, frac := math.Modf(v)
	if frac >= on {
		return math.Ceil(v) / pow
	}
	return math.Floor(v) / pow
}

func fromJSON(s string) (any, error) {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// formatDate formats a time.Time, or unix seconds, with a Go layout.
func formatDate(layout string, date any) string {
	var t time.Time
	switch d := date.(type) {
	case time.Time:
		t = d
	case *time.Time:
		t = *d
	default:
		t = time.Unix(toInt64(d), 0)
	}
	return t.UTC().Format(layout)
}

// defaultValue returns given unless it is empty, else def (sprig's default).
func defaultValue(def any, given ...any) any {
	if len(given) == 0 || isEmptyValue(given[0]) {
		return def
	}
	return given[0]
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case int:
		return v == 0
	case int64:
		return v == 0
	case float64:
		return v == 0
	}
	return false
}
