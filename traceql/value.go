package traceql

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// ValueType is the type of a Value.
type ValueType uint8

// Value types. The zero Value is nil: a missing attribute evaluates to nil.
const (
	TypeNil ValueType = iota
	TypeString
	TypeInt
	TypeFloat
	TypeBool
	TypeDuration // Int holds nanoseconds
	TypeStatus   // Int holds a StatusCode
	TypeKind     // Int holds a SpanKind
)

var typeNames = [...]string{"nil", "string", "int", "float", "bool", "duration", "status", "kind"}

func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

func (t ValueType) numeric() bool {
	return t == TypeInt || t == TypeFloat || t == TypeDuration
}

// Value is a typed TraceQL value: a static in a query, an attribute or
// intrinsic of a span, or an aggregate. Only the field matching Type is
// meaningful. Value is comparable, so it can key a map.
type Value struct {
	Type  ValueType
	Str   string
	Int   int64 // TypeInt, TypeDuration (ns), TypeStatus, TypeKind
	Float float64
	Bool  bool
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Type: TypeString, Str: s} }

// IntValue returns an int Value.
func IntValue(i int64) Value { return Value{Type: TypeInt, Int: i} }

// FloatValue returns a float Value.
func FloatValue(f float64) Value { return Value{Type: TypeFloat, Float: f} }

// BoolValue returns a bool Value.
func BoolValue(b bool) Value { return Value{Type: TypeBool, Bool: b} }

// DurationValue returns a duration Value.
func DurationValue(d time.Duration) Value { return Value{Type: TypeDuration, Int: int64(d)} }

// StatusValue returns a status Value (the static `error`, `ok`, `unset`).
func StatusValue(c StatusCode) Value { return Value{Type: TypeStatus, Int: int64(c)} }

// KindValue returns a kind Value (the static `server`, `client`, ...).
func KindValue(k SpanKind) Value { return Value{Type: TypeKind, Int: int64(k)} }

// IsNil reports whether v is nil (for example a missing attribute).
func (v Value) IsNil() bool { return v.Type == TypeNil }

// AsFloat returns a numeric value as float64 (durations in nanoseconds) and
// false for other types.
func (v Value) AsFloat() (float64, bool) {
	switch v.Type {
	case TypeInt, TypeDuration:
		return float64(v.Int), true
	case TypeFloat:
		return v.Float, true
	}
	return 0, false
}

// String returns v as TraceQL source: parsing the result gives v back.
func (v Value) String() string {
	switch v.Type {
	case TypeString:
		return strconv.Quote(v.Str)
	case TypeInt:
		return strconv.FormatInt(v.Int, 10)
	case TypeFloat:
		return formatFloat(v.Float)
	case TypeBool:
		return strconv.FormatBool(v.Bool)
	case TypeDuration:
		return formatDuration(time.Duration(v.Int))
	case TypeStatus:
		return StatusCode(v.Int).String()
	case TypeKind:
		return SpanKind(v.Int).String()
	}
	return "nil"
}

// negative reports whether v is a number printed with a leading minus.
func (v Value) negative() bool {
	switch v.Type {
	case TypeInt, TypeDuration:
		return v.Int < 0
	case TypeFloat:
		return math.Signbit(v.Float)
	}
	return false
}

// formatFloat prints f so that the lexer reads it back as a float, never as
// an int: there is always a '.' or an exponent.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// Only computed values (an aggregate, x / 0.0) get here; the lexer
		// rejects float literals out of range.
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// formatDuration prints d with the largest unit that divides it, or with
// time.Duration's own compound form (1h0m0.5s), always with ASCII "us".
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		if d == math.MinInt64 {
			return d.String()
		}
		sign, d = "-", -d
	}
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return sign + strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return sign + strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return sign + strings.Replace(d.String(), "µs", "us", 1)
}

// parseDuration parses Go's compound durations (1h30m, 1.5s, 100ms, 10us,
// 10µs) plus Prometheus' d, w and y, as Tempo's lexer does. It avoids
// float rounding for integral parts so formatDuration round-trips exactly.
func parseDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		intPart := s[:i]
		frac := ""
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			frac = s[i+1 : j]
			i = j
		}
		if intPart == "" && frac == "" {
			return 0, false
		}
		unit, n := durationUnit(s[i:])
		if n == 0 {
			return 0, false
		}
		s = s[i+n:]
		seg, ok := durationSegment(intPart, frac, unit)
		if !ok || total > math.MaxInt64-seg {
			return 0, false
		}
		total += seg
	}
	return total, true
}

func durationSegment(intPart, frac string, unit time.Duration) (time.Duration, bool) {
	var whole int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || v > math.MaxInt64/int64(unit) {
			return 0, false
		}
		whole = v * int64(unit)
	}
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return 0, false
		}
		part := int64(math.Round(f * float64(unit)))
		if whole > math.MaxInt64-part {
			return 0, false
		}
		whole += part
	}
	return time.Duration(whole), true
}

var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"µs", time.Microsecond}, {"μs", time.Microsecond},
	{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
	{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour},
}

// durationUnit returns the unit s starts with, longest match first
// ("ms" before "m").
func durationUnit(s string) (time.Duration, int) {
	best, n := time.Duration(0), 0
	for _, u := range durationUnits {
		if strings.HasPrefix(s, u.name) && len(u.name) > n {
			best, n = u.d, len(u.name)
		}
	}
	return best, n
}
