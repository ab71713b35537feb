package logql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is the operator of a label matcher.
type MatchType int

// Label matcher operators.
const (
	MatchEqual     MatchType = iota // =
	MatchNotEqual                   // !=
	MatchRegexp                     // =~
	MatchNotRegexp                  // !~
)

// String returns the operator as written in LogQL.
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return "?"
}

// Matcher matches one label value. Regular expressions are anchored at both
// ends, as in Prometheus and Loki; a missing label matches as "".
type Matcher struct {
	Type  MatchType
	Name  string
	Value string

	re *regexp.Regexp
}

// NewMatcher builds a matcher, compiling Value for the regexp operators.
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	m := &Matcher{Type: t, Name: name, Value: value}
	if t == MatchRegexp || t == MatchNotRegexp {
		re, err := compileAnchored(value)
		if err != nil {
			return nil, err
		}
		m.re = re
	}
	return m, nil
}

// Matches reports whether v satisfies the matcher.
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String returns name, operator and quoted value: level=~"err.*".
func (m *Matcher) String() string {
	var b strings.Builder
	m.write(&b)
	return b.String()
}

func (m *Matcher) write(b *strings.Builder) {
	b.WriteString(m.Name)
	b.WriteString(m.Type.String())
	b.WriteString(strconv.Quote(m.Value))
}

// MatchesLabels reports whether every matcher matches ls.
func MatchesLabels(ms []*Matcher, ls Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// compileAnchored compiles a regexp that must match a whole value. The
// unanchored form is checked first so that errors quote what the user wrote.
func compileAnchored(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("^(?s:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regexp %q: %w", expr, err)
	}
	return re, nil
}
