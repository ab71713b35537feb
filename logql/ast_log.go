package logql

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// LogQueryExpr is a log query: a stream selector and a pipeline.
type LogQueryExpr struct {
	Matchers []*Matcher
	Pipeline []Stage
}

func (e *LogQueryExpr) String() string { return exprString(e) }

func (e *LogQueryExpr) write(b *strings.Builder) {
	b.WriteByte('{')
	for i, m := range e.Matchers {
		if i > 0 {
			b.WriteString(", ")
		}
		m.write(b)
	}
	b.WriteByte('}')
	for _, s := range e.Pipeline {
		b.WriteByte(' ')
		s.write(b)
	}
}

// Stage is one step of a log pipeline.
type Stage interface {
	String() string
	write(b *strings.Builder)
}

// LineFilterOp is a line filter operator.
type LineFilterOp string

// Line filter operators.
const (
	LineContains        LineFilterOp = "|="
	LineNotContains     LineFilterOp = "!="
	LineMatchRegexp     LineFilterOp = "|~"
	LineNotMatchRegexp  LineFilterOp = "!~"
	LineMatchPattern    LineFilterOp = "|>"
	LineNotMatchPattern LineFilterOp = "!>"
)

// Negated reports whether the operator keeps lines that do not match.
func (op LineFilterOp) Negated() bool { return op[0] == '!' }

// LineFilterValue is one operand of a line filter: a string, or ip("...").
type LineFilterValue struct {
	Value string
	IP    bool
}

// LineFilterStage is |= "a" or "b". With a positive operator a line is kept
// when any value matches; with a negated one when none does (!= "a" or "b"
// drops lines containing a or b), as in Loki.
type LineFilterStage struct {
	Op     LineFilterOp
	Values []LineFilterValue

	matchers []func(string) bool
}

// Matches reports whether the filter keeps line.
func (s *LineFilterStage) Matches(line string) bool {
	matched := false
	for _, m := range s.matchers {
		if m(line) {
			matched = true
			break
		}
	}
	return matched != s.Op.Negated()
}

func (s *LineFilterStage) String() string { return stageString(s) }

func (s *LineFilterStage) write(b *strings.Builder) {
	b.WriteString(string(s.Op))
	for i, v := range s.Values {
		if i > 0 {
			b.WriteString(" or")
		}
		b.WriteByte(' ')
		if v.IP {
			b.WriteString("ip(")
			b.WriteString(strconv.Quote(v.Value))
			b.WriteByte(')')
		} else {
			b.WriteString(strconv.Quote(v.Value))
		}
	}
}

// ExtractParam is one label=path argument of | json or | logfmt.
type ExtractParam struct {
	Label string
	Path  string
}

func writeParams(b *strings.Builder, ps []ExtractParam) {
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		b.WriteString(p.Label)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(p.Path))
	}
}

// JSONParserStage is | json, or | json a="x.y", b="z[0]" to extract only the
// given paths.
type JSONParserStage struct {
	Params []ExtractParam

	paths [][]jsonPathElem
}

func (s *JSONParserStage) String() string { return stageString(s) }

func (s *JSONParserStage) write(b *strings.Builder) {
	b.WriteString("| json")
	writeParams(b, s.Params)
}

// LogfmtParserStage is | logfmt [--strict] [--keep-empty] [a="key", ...].
type LogfmtParserStage struct {
	Strict    bool
	KeepEmpty bool
	Params    []ExtractParam
}

func (s *LogfmtParserStage) String() string { return stageString(s) }

func (s *LogfmtParserStage) write(b *strings.Builder) {
	b.WriteString("| logfmt")
	if s.Strict {
		b.WriteString(" --strict")
	}
	if s.KeepEmpty {
		b.WriteString(" --keep-empty")
	}
	writeParams(b, s.Params)
}

// RegexpParserStage is | regexp "(?P<name>...)".
type RegexpParserStage struct {
	Regexp string

	re    *regexp.Regexp
	names []string // label name per subexpression, "" for unnamed ones
}

func (s *RegexpParserStage) String() string { return stageString(s) }

func (s *RegexpParserStage) write(b *strings.Builder) {
	b.WriteString("| regexp ")
	b.WriteString(strconv.Quote(s.Regexp))
}

// PatternParserStage is | pattern "<ip> - <_> <status>".
type PatternParserStage struct {
	Pattern string

	pat *pattern
}

func (s *PatternParserStage) String() string { return stageString(s) }

func (s *PatternParserStage) write(b *strings.Builder) {
	b.WriteString("| pattern ")
	b.WriteString(strconv.Quote(s.Pattern))
}

// UnpackParserStage is | unpack: a JSON object of strings whose "_entry"
// key replaces the line (the Promtail pack stage's format).
type UnpackParserStage struct{}

func (s *UnpackParserStage) String() string { return stageString(s) }

func (s *UnpackParserStage) write(b *strings.Builder) { b.WriteString("| unpack") }

// LabelFilterStage is | <label filter expression>.
type LabelFilterStage struct {
	Filter LabelFilter
}

func (s *LabelFilterStage) String() string { return stageString(s) }

func (s *LabelFilterStage) write(b *strings.Builder) {
	b.WriteString("| ")
	s.Filter.write(b)
}

// LineFormatStage is | line_format "{{.a}}": a Go text/template over the
// current labels.
type LineFormatStage struct {
	Template string
}

func (s *LineFormatStage) String() string { return stageString(s) }

func (s *LineFormatStage) write(b *strings.Builder) {
	b.WriteString("| line_format ")
	b.WriteString(strconv.Quote(s.Template))
}

// LabelFormat is one dst=src (Rename) or dst="{{template}}" of label_format.
type LabelFormat struct {
	Name   string
	Rename bool
	Value  string // source label when Rename, else the template
}

// LabelFormatStage is | label_format a=b, c="{{.d}}".
type LabelFormatStage struct {
	Formats []LabelFormat
}

func (s *LabelFormatStage) String() string { return stageString(s) }

func (s *LabelFormatStage) write(b *strings.Builder) {
	b.WriteString("| label_format")
	for i, f := range s.Formats {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		b.WriteString(f.Name)
		b.WriteByte('=')
		if f.Rename {
			b.WriteString(f.Value)
		} else {
			b.WriteString(strconv.Quote(f.Value))
		}
	}
}

// LabelSelection names a label for drop and keep, optionally only when its
// value matches.
type LabelSelection struct {
	Name    string
	Matcher *Matcher // nil: by name only
}

func writeSelections(b *strings.Builder, ls []LabelSelection) {
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		if l.Matcher != nil {
			l.Matcher.write(b)
		} else {
			b.WriteString(l.Name)
		}
	}
}

// DropLabelsStage is | drop a, b="v".
type DropLabelsStage struct {
	Labels []LabelSelection
}

func (s *DropLabelsStage) String() string { return stageString(s) }

func (s *DropLabelsStage) write(b *strings.Builder) {
	b.WriteString("| drop")
	writeSelections(b, s.Labels)
}

// KeepLabelsStage is | keep a, b="v".
type KeepLabelsStage struct {
	Labels []LabelSelection
}

func (s *KeepLabelsStage) String() string { return stageString(s) }

func (s *KeepLabelsStage) write(b *strings.Builder) {
	b.WriteString("| keep")
	writeSelections(b, s.Labels)
}

// DecolorizeStage is | decolorize: strips ANSI color sequences from the line.
type DecolorizeStage struct{}

func (s *DecolorizeStage) String() string { return stageString(s) }

func (s *DecolorizeStage) write(b *strings.Builder) { b.WriteString("| decolorize") }

func stageString(s Stage) string {
	var b strings.Builder
	s.write(&b)
	return b.String()
}

// LabelFilter is a label filter expression: *StringLabelFilter,
// *NumericLabelFilter, *DurationLabelFilter, *BytesLabelFilter,
// *IPLabelFilter or *BinaryLabelFilter.
type LabelFilter interface {
	String() string
	write(b *strings.Builder)
}

// CompareOp is a numeric comparison in a label filter.
type CompareOp string

// Numeric comparison operators; "=" in a query means CmpEq.
const (
	CmpEq  CompareOp = "=="
	CmpNeq CompareOp = "!="
	CmpGt  CompareOp = ">"
	CmpGte CompareOp = ">="
	CmpLt  CompareOp = "<"
	CmpLte CompareOp = "<="
)

func (op CompareOp) compare(a, b float64) bool {
	switch op {
	case CmpEq:
		return a == b
	case CmpNeq:
		return a != b
	case CmpGt:
		return a > b
	case CmpGte:
		return a >= b
	case CmpLt:
		return a < b
	case CmpLte:
		return a <= b
	}
	return false
}

// StringLabelFilter is | level="error" (also !=, =~, !~).
type StringLabelFilter struct {
	Matcher *Matcher
}

func (f *StringLabelFilter) String() string { return filterString(f) }

func (f *StringLabelFilter) write(b *strings.Builder) { f.Matcher.write(b) }

// NumericLabelFilter is | status>=500.
type NumericLabelFilter struct {
	Name  string
	Op    CompareOp
	Value float64
}

func (f *NumericLabelFilter) String() string { return filterString(f) }

func (f *NumericLabelFilter) write(b *strings.Builder) {
	b.WriteString(f.Name)
	b.WriteString(string(f.Op))
	b.WriteString(formatFloat(f.Value))
}

// DurationLabelFilter is | latency>250ms.
type DurationLabelFilter struct {
	Name  string
	Op    CompareOp
	Value time.Duration
}

func (f *DurationLabelFilter) String() string { return filterString(f) }

func (f *DurationLabelFilter) write(b *strings.Builder) {
	b.WriteString(f.Name)
	b.WriteString(string(f.Op))
	b.WriteString(formatDuration(f.Value))
}

// BytesLabelFilter is | size>1KB.
type BytesLabelFilter struct {
	Name  string
	Op    CompareOp
	Value uint64
}

func (f *BytesLabelFilter) String() string { return filterString(f) }

func (f *BytesLabelFilter) write(b *strings.Builder) {
	b.WriteString(f.Name)
	b.WriteString(string(f.Op))
	b.WriteString(formatBytes(f.Value))
}

// IPLabelFilter is | addr=ip("10.0.0.0/8") (or !=); the pattern is an
// address, a CIDR prefix or a range "a-b".
type IPLabelFilter struct {
	Name    string
	Negate  bool
	Pattern string

	ip *ipMatcher
}

func (f *IPLabelFilter) String() string { return filterString(f) }

func (f *IPLabelFilter) write(b *strings.Builder) {
	b.WriteString(f.Name)
	if f.Negate {
		b.WriteString("!=")
	} else {
		b.WriteByte('=')
	}
	b.WriteString("ip(")
	b.WriteString(strconv.Quote(f.Pattern))
	b.WriteByte(')')
}

// BinaryLabelFilter combines two filters with "and" (also written ",") or
// "or"; "and" binds tighter.
type BinaryLabelFilter struct {
	Or          bool
	Left, Right LabelFilter
}

func (f *BinaryLabelFilter) String() string { return filterString(f) }

func (f *BinaryLabelFilter) write(b *strings.Builder) {
	f.writeSide(b, f.Left, false)
	if f.Or {
		b.WriteString(" or ")
	} else {
		b.WriteString(" and ")
	}
	f.writeSide(b, f.Right, true)
}

// writeSide parenthesizes an "or" under an "and", and a right-hand child of
// the same operator, so the tree survives printing and parsing.
func (f *BinaryLabelFilter) writeSide(b *strings.Builder, side LabelFilter, right bool) {
	child, ok := side.(*BinaryLabelFilter)
	if ok && ((child.Or && !f.Or) || (right && child.Or == f.Or)) {
		b.WriteByte('(')
		child.write(b)
		b.WriteByte(')')
		return
	}
	side.write(b)
}

func filterString(f LabelFilter) string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}
