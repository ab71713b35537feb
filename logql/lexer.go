package logql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokDuration
	tokBytes
	tokFlag // --strict, --keep-empty
	tokLBrace
	tokRBrace
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
	tokEq          // =
	tokNeq         // !=
	tokRe          // =~
	tokNre         // !~
	tokPipe        // |
	tokPipeExact   // |=
	tokPipeRe      // |~
	tokPipePattern // |>
	tokNotPattern  // !>
	tokCmpEq       // ==
	tokGt          // >
	tokGte         // >=
	tokLt          // <
	tokLte         // <=
	tokAdd         // +
	tokSub         // -
	tokMul         // *
	tokDiv         // /
	tokMod         // %
	tokPow         // ^
)

type token struct {
	kind tokenKind
	text string // source text; the unquoted value for strings
	num  float64
	dur  time.Duration
	size uint64
	pos  int // byte offset in the query
}

// keywords are identifiers that error messages name by their text, as
// Loki's grammar has a token for each.
var keywords = map[string]bool{
	"by": true, "without": true, "bool": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "offset": true, "or": true,
	"and": true, "unless": true, "unwrap": true,
}

// describe names a token in a syntax error the way Loki's grammar does.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "$end"
	case tokIdent:
		if keywords[t.text] || rangeOps[t.text] || vectorOps[t.text] {
			return t.text
		}
		return "IDENTIFIER"
	case tokString:
		return "STRING"
	case tokNumber:
		return "NUMBER"
	case tokDuration:
		return "DURATION"
	case tokBytes:
		return "BYTES"
	}
	return t.text
}

type lexer struct {
	src  string
	pos  int
	toks []token
}

// lex splits a query into tokens.
func lex(src string) ([]token, error) {
	l := &lexer{src: src, toks: make([]token, 0, len(src)/4+1)}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tokEOF {
			return l.toks, nil
		}
	}
}

// position converts a byte offset into a 1-based line and column (in
// runes), computed only when an error needs it.
func position(src string, pos int) (line, col int) {
	pos = min(pos, len(src))
	lineStart := strings.LastIndexByte(src[:pos], '\n') + 1
	return strings.Count(src[:pos], "\n") + 1, utf8.RuneCountInString(src[lineStart:pos]) + 1
}

func (l *lexer) errAt(pos int, format string, args ...any) error {
	line, col := position(l.src, pos)
	return newParseError(fmt.Sprintf(format, args...), line, col)
}

func (l *lexer) skipSpaceAndComments() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; c {
		case ' ', '\t', '\r', '\n':
			l.pos++
		case '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			return
		}
	}
}

// operators lists multi-character operators before their prefixes.
var operators = []struct {
	text string
	kind tokenKind
}{
	{"|=", tokPipeExact}, {"|~", tokPipeRe}, {"|>", tokPipePattern}, {"|", tokPipe},
	{"!=", tokNeq}, {"!~", tokNre}, {"!>", tokNotPattern},
	{"=~", tokRe}, {"==", tokCmpEq}, {"=", tokEq},
	{">=", tokGte}, {">", tokGt}, {"<=", tokLte}, {"<", tokLt},
	{"{", tokLBrace}, {"}", tokRBrace}, {"(", tokLParen}, {")", tokRParen},
	{"[", tokLBracket}, {"]", tokRBracket}, {",", tokComma},
	{"+", tokAdd}, {"-", tokSub}, {"*", tokMul}, {"/", tokDiv}, {"%", tokMod}, {"^", tokPow},
}

func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	start := l.pos
	t := token{pos: start}
	if l.pos >= len(l.src) {
		t.kind = tokEOF
		return t, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '"' || c == '`':
		return l.lexString(t)
	case isDigit(c) || (c == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1])):
		return l.lexNumber(t)
	case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		t.kind, t.text = tokIdent, l.src[start:l.pos]
		return t, nil
	case c == '-' && strings.HasPrefix(l.src[l.pos:], "--") && l.pos+2 < len(l.src) && isLetter(l.src[l.pos+2]):
		l.pos += 2
		for l.pos < len(l.src) && (isLetter(l.src[l.pos]) || l.src[l.pos] == '-') {
			l.pos++
		}
		t.kind, t.text = tokFlag, l.src[start:l.pos]
		return t, nil
	}
	for _, op := range operators {
		if strings.HasPrefix(l.src[l.pos:], op.text) {
			l.pos += len(op.text)
			t.kind, t.text = op.kind, op.text
			return t, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return t, l.errAt(start, "syntax error: unexpected character %q", r)
}

func (l *lexer) lexString(t token) (token, error) {
	start := l.pos
	quote := l.src[l.pos]
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == quote:
			l.pos++
			raw := l.src[start:l.pos]
			if quote == '`' {
				t.kind, t.text = tokString, raw[1:len(raw)-1]
				return t, nil
			}
			s, err := strconv.Unquote(raw)
			if err != nil {
				return t, l.errAt(start, "syntax error: invalid quoted string %s: %v", raw, err)
			}
			t.kind, t.text = tokString, s
			return t, nil
		case c == '\\' && quote == '"':
			l.pos += 2
		case c == '\n' && quote == '"':
			return t, l.errAt(start, "syntax error: newline in string")
		default:
			l.pos++
		}
	}
	return t, l.errAt(start, "syntax error: literal not terminated")
}

// lexNumber reads a number, a duration ("5m", "1h30m", "1.5s") or a byte size
// ("10KB", "1MiB"). A number directly followed by letters is a duration if it
// parses as one, else a byte size, as in Loki's lexer.
func (l *lexer) lexNumber(t token) (token, error) {
	start := l.pos
	l.scanDigits()
	if l.pos+1 < len(l.src) && l.src[l.pos] == '.' && isDigit(l.src[l.pos+1]) {
		l.pos++
		l.scanDigits()
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		j := l.pos + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			l.pos = j
			l.scanDigits()
		}
	}
	if l.pos < len(l.src) && l.startsUnit() {
		for l.pos < len(l.src) && (l.startsUnit() || isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
			_, n := utf8.DecodeRuneInString(l.src[l.pos:])
			l.pos += n
		}
		text := l.src[start:l.pos]
		t.text = text
		if d, err := parseDuration(text); err == nil {
			t.kind, t.dur = tokDuration, d
			return t, nil
		}
		if n, err := parseBytes(text); err == nil {
			t.kind, t.size = tokBytes, n
			return t, nil
		}
		return t, l.errAt(start, "syntax error: invalid number, duration or byte size %q", text)
	}
	t.text = l.src[start:l.pos]
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return t, l.errAt(start, "syntax error: invalid number %q", t.text)
	}
	t.kind, t.num = tokNumber, v
	return t, nil
}

func (l *lexer) scanDigits() {
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
}

// startsUnit reports whether a unit letter (ASCII or the micro sign) starts at pos.
func (l *lexer) startsUnit() bool {
	if isLetter(l.src[l.pos]) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return r == 'µ' || r == 'μ'
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isIdentChar(c byte) bool { return c == '_' || isLetter(c) || isDigit(c) }
