package traceql

import "fmt"

// ParseError is a syntax or type error in a query, positioned like Loki's
// and Tempo's errors so that Grafana users can find the mistake. Callers map
// it to HTTP 400 / INVALID_ARGUMENT.
type ParseError struct {
	Line int // 1-based
	Col  int // 1-based, in characters (runes), not bytes
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

func newParseError(src string, pos int, format string, args ...any) *ParseError {
	if pos > len(src) {
		pos = len(src)
	}
	line, col := 1, 1
	for _, r := range src[:pos] {
		if r == '\n' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return &ParseError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}
