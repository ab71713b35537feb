package logql

import (
	"fmt"
	"regexp"
	"strings"
)

// compileLineFilter builds the positive matcher of each value; Matches
// applies the negation.
func compileLineFilter(s *LineFilterStage) error {
	s.matchers = s.matchers[:0]
	for _, v := range s.Values {
		m, err := compileLineMatcher(s.Op, v)
		if err != nil {
			return err
		}
		s.matchers = append(s.matchers, m)
	}
	return nil
}

func compileLineMatcher(op LineFilterOp, v LineFilterValue) (func(string) bool, error) {
	if v.IP {
		ip, err := compileIPPattern(v.Value)
		if err != nil {
			return nil, err
		}
		return ip.matchLine, nil
	}
	switch op {
	case LineContains, LineNotContains:
		needle := v.Value
		return func(line string) bool { return strings.Contains(line, needle) }, nil
	case LineMatchRegexp, LineNotMatchRegexp:
		re, err := regexp.Compile(v.Value)
		if err != nil {
			return nil, fmt.Errorf("invalid line filter regexp: %w", err)
		}
		return re.MatchString, nil
	case LineMatchPattern, LineNotMatchPattern:
		pat, err := compilePattern(v.Value, false)
		if err != nil {
			return nil, fmt.Errorf("invalid line filter pattern: %w", err)
		}
		return pat.test, nil
	}
	return nil, fmt.Errorf("unknown line filter %s", op)
}
