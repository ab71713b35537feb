package logql

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner is a minimal allocation-free JSON reader over a log line; it
// only decodes what the json and unpack stages need.
type jsonScanner struct {
	s string
	i int
}

const maxJSONDepth = 256

var (
	errJSONNotObject = errors.New("Value looks like object, but can't find closing '}' symbol")
	errJSONSyntax    = errors.New("Malformed JSON error")
	errJSONDepth     = errors.New("JSON nested too deeply")
	errJSONKeyPath   = errors.New("Key path not found")
)

func (s *jsonScanner) skipWS() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

// str reads a string and returns its raw contents and whether it has escapes.
func (s *jsonScanner) str() (string, bool, error) {
	if s.peek() != '"' {
		return "", false, errJSONSyntax
	}
	start := s.i + 1
	escaped := false
	for j := start; j < len(s.s); j++ {
		switch s.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			s.i = j + 1
			return s.s[start:j], escaped, nil
		}
	}
	return "", false, errJSONSyntax
}

// value reads any value and returns its raw text.
func (s *jsonScanner) value(depth int) (string, error) {
	if depth > maxJSONDepth {
		return "", errJSONDepth
	}
	start := s.i
	switch c := s.peek(); {
	case c == '"':
		_, _, err := s.str()
		return s.s[start:s.i], err
	case c == '{' || c == '[':
		return s.container(depth)
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(s.s[s.i:], lit) {
				s.i += len(lit)
				return lit, nil
			}
		}
	case c == '-' || isDigit(c):
		for s.i < len(s.s) && strings.IndexByte("+-.eE0123456789", s.s[s.i]) >= 0 {
			s.i++
		}
		return s.s[start:s.i], nil
	}
	return "", errJSONSyntax
}

func (s *jsonScanner) container(depth int) (string, error) {
	start := s.i
	closer := byte('}')
	if s.s[s.i] == '[' {
		closer = ']'
	}
	s.i++
	s.skipWS()
	if s.peek() == closer {
		s.i++
		return s.s[start:s.i], nil
	}
	for {
		s.skipWS()
		if closer == '}' {
			if _, _, err := s.str(); err != nil {
				return "", err
			}
			s.skipWS()
			if s.peek() != ':' {
				return "", errJSONSyntax
			}
			s.i++
			s.skipWS()
		}
		if _, err := s.value(depth + 1); err != nil {
			return "", err
		}
		s.skipWS()
		switch s.peek() {
		case ',':
			s.i++
		case closer:
			s.i++
			return s.s[start:s.i], nil
		default:
			return "", errJSONSyntax
		}
	}
}

// eachMember calls fn for every member of the object at the scanner, with
// the scanner positioned on the member's value; fn must consume the value.
func (s *jsonScanner) eachMember(fn func(key string, keyEscaped bool) error) error {
	s.skipWS()
	if s.peek() != '{' {
		return errJSONNotObject
	}
	s.i++
	s.skipWS()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.skipWS()
		key, esc, err := s.str()
		if err != nil {
			return err
		}
		s.skipWS()
		if s.peek() != ':' {
			return errJSONSyntax
		}
		s.i++
		s.skipWS()
		if err := fn(key, esc); err != nil {
			return err
		}
		s.skipWS()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errJSONNotObject
		}
	}
}

// unescapeJSON decodes the contents of a JSON string. Like Loki it returns
// "" for invalid escapes and for values that are not valid UTF-8.
func unescapeJSON(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		if !utf8.ValidString(s) {
			return ""
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return ""
		}
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := decodeJSONRune(s[i+1:])
			if n == 0 {
				return ""
			}
			b.WriteRune(r)
			i += n
		default:
			return ""
		}
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return ""
	}
	return out
}

// decodeJSONRune decodes the hex digits after \u, joining surrogate pairs;
// it returns the rune and how many bytes it used, 0 when invalid.
func decodeJSONRune(s string) (rune, int) {
	if len(s) < 4 {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[:4], 16, 16)
	if err != nil {
		return 0, 0
	}
	r := rune(v)
	if utf16.IsSurrogate(r) && len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
		if v2, err := strconv.ParseUint(s[6:10], 16, 16); err == nil {
			if dec := utf16.DecodeRune(r, rune(v2)); dec != utf8.RuneError {
				return dec, 10
			}
		}
	}
	return r, 4
}

// jsonPathElem is one step of a json stage path: a key or an array index.
type jsonPathElem struct {
	key   string
	index int // used when isIdx
	isIdx bool
}

// parseJSONPath parses paths such as `a.b`, `a[0].c`, `["key with.dot"]`.
func parseJSONPath(p string) ([]jsonPathElem, error) {
	var out []jsonPathElem
	i := 0
	expectKey := true
	for i < len(p) {
		switch c := p[i]; {
		case c == '.' && !expectKey && len(out) > 0:
			i++
			expectKey = true
		case c == '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, errors.New("missing ]")
			}
			inner := p[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				k, err := strconv.Unquote(inner)
				if err != nil {
					return nil, err
				}
				out = append(out, jsonPathElem{key: k})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, errors.New("invalid index " + inner)
				}
				out = append(out, jsonPathElem{index: n, isIdx: true})
			}
			i += end + 1
			expectKey = false
		case isIdentChar(c) || c == '-' || c == '@' || c == '$':
			if !expectKey {
				return nil, errors.New("unexpected " + string(c))
			}
			j := i
			for j < len(p) && (isIdentChar(p[j]) || p[j] == '-' || p[j] == '@' || p[j] == '$') {
				j++
			}
			out = append(out, jsonPathElem{key: p[i:j]})
			i = j
			expectKey = false
		default:
			return nil, errors.New("unexpected " + strconv.QuoteRune(rune(c)))
		}
	}
	if len(out) == 0 || expectKey {
		return nil, errors.New("empty path")
	}
	return out, nil
}

// lookupPath returns the raw JSON value at path in line.
func lookupPath(line string, path []jsonPathElem) (string, error) {
	s := jsonScanner{s: line}
	for _, el := range path {
		s.skipWS()
		if el.isIdx {
			if err := s.seekIndex(el.index); err != nil {
				return "", err
			}
			continue
		}
		if err := s.seekKey(el.key); err != nil {
			return "", err
		}
	}
	s.skipWS()
	return s.value(0)
}

var errFound = errors.New("found")

func (s *jsonScanner) seekKey(key string) error {
	err := s.eachMember(func(k string, esc bool) error {
		if esc {
			k = unescapeJSON(k)
		}
		if k == key {
			return errFound
		}
		_, err := s.value(0)
		return err
	})
	if err == errFound {
		return nil
	}
	if err == nil {
		return errJSONKeyPath
	}
	return err
}

func (s *jsonScanner) seekIndex(idx int) error {
	if s.peek() != '[' {
		return errJSONKeyPath
	}
	s.i++
	for n := 0; ; n++ {
		s.skipWS()
		if s.peek() == ']' {
			return errJSONKeyPath
		}
		if n == idx {
			return nil
		}
		if _, err := s.value(0); err != nil {
			return err
		}
		s.skipWS()
		if s.peek() != ',' {
			return errJSONKeyPath
		}
		s.i++
	}
}
