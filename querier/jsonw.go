package querier

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/strataobs/strata/logql"
)

// jsonw appends JSON to a byte slice. Loki responses are written by hand because
// Grafana depends on key order (encodingFlags before result) and results can hold
// many thousands of lines, which reflection-based encoding makes slow.
type jsonw struct{ b []byte }

func (w *jsonw) raw(s string) { w.b = append(w.b, s...) }
func (w *jsonw) byte(c byte)  { w.b = append(w.b, c) }

// str writes a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, and U+2028/U+2029 escaped as encoding/json does.
func (w *jsonw) str(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			w.b = append(w.b, s[start:i]...)
			switch c {
			case '"', '\\':
				w.b = append(w.b, '\\', c)
			case '\n':
				w.b = append(w.b, '\\', 'n')
			case '\r':
				w.b = append(w.b, '\\', 'r')
			case '\t':
				w.b = append(w.b, '\\', 't')
			default:
				w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || r == '\u2028' || r == '\u2029' {
			w.b = append(w.b, s[start:i]...)
			switch r {
			case '\u2028':
				w.b = append(w.b, `\u2028`...)
			case '\u2029':
				w.b = append(w.b, `\u2029`...)
			default:
				w.b = append(w.b, `\ufffd`...)
			}
			i += n
			start = i
			continue
		}
		i += n
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// labels writes {"name":"value",...}.
func (w *jsonw) labels(ls logql.Labels) {
	w.byte('{')
	for i, l := range ls {
		if i > 0 {
			w.byte(',')
		}
		w.str(l.Name)
		w.byte(':')
		w.str(l.Value)
	}
	w.byte('}')
}

func (w *jsonw) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

// promTime writes a step time (ns) as Prometheus does: Unix seconds with up to three
// decimals, as a number.
func (w *jsonw) promTime(ns int64) {
	ms := ns / 1e6
	w.b = strconv.AppendFloat(w.b, float64(ms)/1000, 'f', -1, 64)
}

// promValue writes a sample value as a string, with Prometheus' spelling of the
// special values.
func (w *jsonw) promValue(v float64) {
	switch {
	case math.IsNaN(v):
		w.raw(`"NaN"`)
	case math.IsInf(v, 1):
		w.raw(`"+Inf"`)
	case math.IsInf(v, -1):
		w.raw(`"-Inf"`)
	default:
		w.byte('"')
		w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
		w.byte('"')
	}
}
