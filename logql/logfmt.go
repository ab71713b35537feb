package logql

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// logfmtScanner reads key=value pairs: bare keys, key=, key=value and
// key="quoted \"value\"". On a syntax error it records the error and skips
// to the next space, so the non-strict parser can carry on.
type logfmtScanner struct {
	s          string
	i          int
	key, value string
	err        error
}

func (d *logfmtScanner) done() bool {
	for d.i < len(d.s) && d.s[d.i] <= ' ' {
		d.i++
	}
	return d.i >= len(d.s)
}

// scan reads the next pair; false means a syntax error (see d.err).
func (d *logfmtScanner) scan() bool {
	d.key, d.value, d.err = "", "", nil
	start := d.i
	for d.i < len(d.s) && d.s[d.i] > ' ' && d.s[d.i] != '=' && d.s[d.i] != '"' {
		d.i++
	}
	if d.i == start {
		return d.fail("unexpected %q", d.s[d.i])
	}
	d.key = d.s[start:d.i]
	if d.i >= len(d.s) || d.s[d.i] <= ' ' {
		return true
	}
	if d.s[d.i] != '=' {
		return d.fail("unexpected %q", d.s[d.i])
	}
	d.i++
	if d.i >= len(d.s) || d.s[d.i] <= ' ' {
		return true
	}
	if d.s[d.i] == '"' {
		return d.scanQuoted()
	}
	start = d.i
	for d.i < len(d.s) && d.s[d.i] > ' ' {
		if c := d.s[d.i]; c == '=' || c == '"' {
			return d.fail("unexpected %q", c)
		}
		d.i++
	}
	d.value = d.s[start:d.i]
	return true
}

func (d *logfmtScanner) scanQuoted() bool {
	start := d.i
	escaped := false
	for j := d.i + 1; j < len(d.s); j++ {
		switch d.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			d.i = j + 1
			raw := d.s[start:d.i]
			if !escaped {
				d.value = raw[1 : len(raw)-1]
				return true
			}
			v, err := strconv.Unquote(raw)
			if err != nil {
				v = unescapeJSON(raw[1 : len(raw)-1])
			}
			d.value = v
			return true
		}
	}
	d.i = len(d.s)
	return d.fail("unterminated quoted value")
}

func (d *logfmtScanner) fail(format string, args ...any) bool {
	d.err = fmt.Errorf("logfmt syntax error at pos %d : "+format, append([]any{d.i + 1}, args...)...)
	for d.i < len(d.s) && d.s[d.i] > ' ' {
		d.i++
	}
	return false
}

// validLogfmtValue mirrors Loki: values holding the UTF-8 replacement rune
// (or invalid UTF-8) become empty.
func validLogfmtValue(v string) string {
	if !utf8.ValidString(v) {
		return ""
	}
	for _, r := range v {
		if r == utf8.RuneError {
			return ""
		}
	}
	return v
}
