package traceql

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrace
	tRBrace
	tLParen
	tRParen
	tComma
	tPipe
	tOp // an operator; token.op says which (field-level spelling)
	tString
	tInt
	tFloat
	tDuration
	tIdent // keywords, bare intrinsics, function names
	tAttr  // span.x, resource.x, .x, span:name, trace:duration ...
)

// token is one lexeme. pos and end are byte offsets into the query. Tokens
// are kept small because Parse lexes the whole query up front.
type token struct {
	kind      tokKind
	op        Op        // tOp
	intrinsic Intrinsic // tAttr
	scope     Scope     // tAttr
	pos, end  int
	str       string  // tString value, tIdent text, tAttr name
	n         int64   // tInt, tDuration (ns)
	f         float64 // tFloat
}

func (t token) value() Value {
	switch t.kind {
	case tInt:
		return IntValue(t.n)
	case tFloat:
		return FloatValue(t.f)
	case tDuration:
		return Value{Type: TypeDuration, Int: t.n}
	}
	return StringValue(t.str)
}

func (t token) attribute() Attribute {
	return Attribute{Intrinsic: t.intrinsic, Scope: t.scope, Name: t.str}
}

// Operator spellings, longest first so that ">>" wins over ">". The Op is the
// field-expression meaning; the parser maps tokens to spanset operators
// where a spanset operator is expected.
var operators = []struct {
	text string
	op   Op
}{
	{"!>>", OpSpansetNotDescendant}, {"!<<", OpSpansetNotAncestor},
	{"&>>", OpSpansetUnionDescendant}, {"&<<", OpSpansetUnionAncestor},
	{"&&", OpAnd}, {"||", OpOr}, {"!=", OpNotEqual}, {"=~", OpRegex}, {"!~", OpNotRegex},
	{">=", OpGreaterEqual}, {"<=", OpLessEqual}, {">>", OpSpansetDescendant}, {"<<", OpSpansetAncestor},
	{"!>", OpSpansetNotChild}, {"!<", OpSpansetNotParent},
	{"&>", OpSpansetUnionChild}, {"&<", OpSpansetUnionParent}, {"&~", OpSpansetUnionSibling},
	{"=", OpEqual}, {">", OpGreater}, {"<", OpLess}, {"~", OpSpansetSibling},
	{"+", OpAdd}, {"-", OpSub}, {"*", OpMul}, {"/", OpDiv}, {"%", OpMod}, {"^", OpPow}, {"!", OpNot},
}

// isAttrRune reports whether r can continue an unquoted attribute name. As in
// Tempo, a name runs until whitespace or one of {}()=~!<>&|^, so
// span.http.status_code and span.foo-bar are single names; we also stop at
// quotes so that they can only open a quoted name.
func isAttrRune(r rune) bool {
	if unicode.IsSpace(r) {
		return false
	}
	switch r {
	case '{', '}', '(', ')', '=', '~', '!', '<', '>', '&', '|', '^', ',', '"', '\'', '`':
		return false
	}
	return true
}

func punctuation(c byte) tokKind {
	switch c {
	case '{':
		return tLBrace
	case '}':
		return tRBrace
	case '(':
		return tLParen
	case ')':
		return tRParen
	case ',':
		return tComma
	}
	return tEOF
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentByte(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, *ParseError) {
	l := lexer{src: src}
	toks := make([]token, 0, len(src)/4+2)
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

type lexer struct {
	src string
	pos int
}

func (l *lexer) errf(pos int, format string, args ...any) *ParseError {
	return newParseError(l.src, pos, format, args...)
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		l.pos += size
	}
}

func (l *lexer) next() (token, *ParseError) {
	l.skipSpace()
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, pos: start, end: start}, nil
	}
	c := l.src[start]
	switch {
	case punctuation(c) != tEOF:
		l.pos++
		return token{kind: punctuation(c), pos: start, end: l.pos}, nil
	case c == '|' && !strings.HasPrefix(l.src[start:], "||"):
		l.pos++
		return token{kind: tPipe, pos: start, end: l.pos}, nil
	case c == '"' || c == '\'' || c == '`':
		s, err := l.quoted()
		if err != nil {
			return token{}, err
		}
		return token{kind: tString, pos: start, end: l.pos, str: s}, nil
	case isDigit(c):
		return l.number()
	case c == '.':
		l.pos++
		return l.attribute(start, ScopeNone)
	case isIdentStart(c):
		return l.identifier()
	}
	for _, o := range operators {
		if strings.HasPrefix(l.src[start:], o.text) {
			l.pos += len(o.text)
			return token{kind: tOp, pos: start, end: l.pos, op: o.op}, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return token{}, l.errf(start, "unexpected character %q", r)
}

// quoted reads a "double", 'single' or `raw` string. The first two take Go
// escapes.
func (l *lexer) quoted() (string, *ParseError) {
	start := l.pos
	q := l.src[start]
	l.pos++
	if q == '`' {
		end := strings.IndexByte(l.src[l.pos:], '`')
		if end < 0 {
			return "", l.errf(start, "unterminated string")
		}
		s := l.src[l.pos : l.pos+end]
		l.pos += end + 1
		return s, nil
	}
	var sb strings.Builder
	for {
		if l.pos >= len(l.src) {
			return "", l.errf(start, "unterminated string")
		}
		if l.src[l.pos] == q {
			l.pos++
			return sb.String(), nil
		}
		rest := l.src[l.pos:]
		r, multibyte, tail, err := strconv.UnquoteChar(rest, q)
		if err != nil {
			return "", l.errf(l.pos, "invalid escape sequence in string")
		}
		if r < utf8.RuneSelf || !multibyte {
			sb.WriteByte(byte(r))
		} else {
			sb.WriteRune(r)
		}
		l.pos += len(rest) - len(tail)
	}
}

// number reads an int, a float (1.5, 1e3) or a duration (1.5s, 1h30m).
func (l *lexer) number() (token, *ParseError) {
	start := l.pos
	s := l.src
	i := start
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	isFloat := false
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		isFloat = true
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			isFloat = true
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	if i < len(s) && (isIdentStart(s[i]) || s[i] >= utf8.RuneSelf) {
		return l.duration(start)
	}
	l.pos = i
	text := s[start:i]
	tok := token{pos: start, end: i}
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return token{}, l.errf(start, "invalid number %q", text)
		}
		tok.kind, tok.f = tFloat, f
		return tok, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, l.errf(start, "invalid integer %q (out of range)", text)
	}
	tok.kind, tok.n = tInt, n
	return tok, nil
}

// duration reads the run of digits, dots and letters at start as a duration.
func (l *lexer) duration(start int) (token, *ParseError) {
	i := start
	for i < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[i:])
		if !(r == '.' || r == 'µ' || r == 'μ' || (r < utf8.RuneSelf && isIdentByte(byte(r)))) {
			break
		}
		i += size
	}
	text := l.src[start:i]
	d, ok := parseDuration(text)
	if !ok {
		return token{}, l.errf(start, "invalid duration %q (units: ns, us, ms, s, m, h, d, w, y)", text)
	}
	l.pos = i
	return token{kind: tDuration, pos: start, end: i, n: int64(d)}, nil
}

// identifier reads a bare word, a scoped attribute (span.x, resource.x) or a
// scoped intrinsic (span:name, trace:rootService).
func (l *lexer) identifier() (token, *ParseError) {
	start := l.pos
	i := start
	for i < len(l.src) && isIdentByte(l.src[i]) {
		i++
	}
	word := l.src[start:i]
	l.pos = i
	if i < len(l.src) && l.src[i] == '.' {
		switch word {
		case "span":
			l.pos++
			return l.attribute(start, ScopeSpan)
		case "resource":
			l.pos++
			return l.attribute(start, ScopeResource)
		case "parent", "event", "link", "instrumentation":
			return token{}, l.errf(start, "the %s scope is not supported", word)
		}
	}
	if i < len(l.src) && l.src[i] == ':' {
		j := i + 1
		for j < len(l.src) && isIdentByte(l.src[j]) {
			j++
		}
		name := l.src[start:j]
		in, ok := colonIntrinsics[name]
		if !ok {
			return token{}, l.errf(start, "unknown or unsupported intrinsic %q", name)
		}
		l.pos = j
		return token{kind: tAttr, pos: start, end: j, intrinsic: in}, nil
	}
	return token{kind: tIdent, pos: start, end: i, str: word}, nil
}

// attribute reads the name after "span.", "resource." or ".": either a
// quoted string or a run of attribute runes.
func (l *lexer) attribute(start int, scope Scope) (token, *ParseError) {
	tok := token{kind: tAttr, pos: start, scope: scope}
	if l.pos < len(l.src) && l.src[l.pos] == '"' {
		name, err := l.quoted()
		if err != nil {
			return token{}, err
		}
		if r, _ := utf8.DecodeRuneInString(l.src[l.pos:]); l.pos < len(l.src) && isAttrRune(r) {
			return token{}, l.errf(l.pos, "unexpected %q after quoted attribute name", r)
		}
		tok.str, tok.end = name, l.pos
		return tok, nil
	}
	i := l.pos
	for i < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[i:])
		if !isAttrRune(r) {
			break
		}
		i += size
	}
	if i == l.pos {
		return token{}, l.errf(start, "expected an attribute name after %q", l.src[start:l.pos])
	}
	tok.str, tok.end = l.src[l.pos:i], i
	l.pos = i
	return tok, nil
}
