package logql

import (
	"errors"
	"fmt"
)

// Label names with a meaning in every pipeline.
const (
	// ErrorLabel holds the kind of the first stage error of an entry.
	ErrorLabel = "__error__"
	// ErrorDetailsLabel holds the message of that error.
	ErrorDetailsLabel = "__error_details__"
	// PreserveErrorLabel set to "true" lets a series with ErrorLabel through
	// a metric query instead of failing it.
	PreserveErrorLabel = "__preserve_error__"
)

// Values of ErrorLabel, as Loki names them.
const (
	ErrJSON             = "JSONParserErr"
	ErrLogfmt           = "LogfmtParserErr"
	ErrSampleExtraction = "SampleExtractionErr"
	ErrLabelFilter      = "LabelFilterErr"
	ErrTemplateFormat   = "TemplateFormatErr"
)

// ParseError is a query that does not parse or does not validate. Its text
// has Loki's shape because Grafana shows it to users:
// "parse error at line 1, col 15: syntax error: unexpected ...". Errors
// found after parsing (semantic checks) carry no position, like Loki's:
// "parse error : ...".
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	if e.Line == 0 && e.Col == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

func newParseError(msg string, line, col int) *ParseError {
	return &ParseError{Line: line, Col: col, Msg: msg}
}

func semanticError(format string, args ...any) *ParseError {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// IsParseError reports whether err is (or wraps) a *ParseError.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}

// PipelineError fails a metric query when a series still carries the
// __error__ label, as Loki does: errors are only allowed in metrics when the
// query filters or drops them.
type PipelineError struct {
	ErrorType string
	Series    Labels
}

func (e *PipelineError) Error() string {
	return fmt.Sprintf("pipeline error: '%s' for series: '%s'.\n"+
		"Use a label filter to intentionally skip this error. (e.g | __error__!=\"%s\").\n"+
		"To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"+
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
		e.ErrorType, e.Series, e.ErrorType)
}

// LimitError is a query that hit a limit; the message names the limit.
type LimitError struct {
	Msg string
}

func (e *LimitError) Error() string { return e.Msg }

// ErrOutOfOrder is returned when a Source yields entries whose timestamps go
// backwards.
var ErrOutOfOrder = errors.New("entries out of order: a source must yield ascending timestamps")
