package clickhouse

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Quote returns s as a ClickHouse string literal. It is the one way user values reach
// SQL in this package (no query here passes driver arguments, so the driver's own
// placeholder binding never rewrites a literal that contains '?').
//
// The rules are those every ClickHouse version since 18.16 parses the same way: inside
// single quotes a backslash escapes the next character, and \xHH is one byte. Quote
// escapes the backslash and the quote, writes control bytes and bytes that are not
// UTF-8 as \xHH (a NUL or a stray byte in query text is something no server version
// should have to think about), and keeps printable UTF-8 as it is.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	appendEscaped(&b, s)
	b.WriteByte('\'')
	return b.String()
}

func appendEscaped(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
		i++
	}
}

// quoteList renders strings as a parenthesised list of literals for IN.
func quoteList(vals []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Quote(v))
	}
	b.WriteByte(')')
	return b.String()
}

// uintList renders numbers as a parenthesised list for IN; numbers need no escaping.
func uintList(vals []uint64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatUint(v, 10))
	}
	b.WriteByte(')')
	return b.String()
}
