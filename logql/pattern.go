package logql

import (
	"errors"
	"fmt"
	"strings"
)

// pattern is a compiled pattern expression such as "<ip> - <_> <status>":
// literals and captures alternate; <_> captures without a name.
type pattern struct {
	parts []patternPart
	names []string // named captures in order
}

type patternPart struct {
	literal string
	capture string // capture name, "_" for unnamed; empty for a literal
}

func (p patternPart) isCapture() bool { return p.capture != "" }

// compilePattern parses a pattern. The parser form (| pattern) needs at least
// one named capture; the line filter form (|>) does not.
func compilePattern(s string, needCapture bool) (*pattern, error) {
	p := &pattern{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, patternPart{literal: lit.String()})
			lit.Reset()
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(s); {
		if s[i] == '<' {
			if j := strings.IndexByte(s[i+1:], '>'); j >= 0 && isLabelName(s[i+1:i+1+j]) {
				name := s[i+1 : i+1+j]
				flush()
				if n := len(p.parts); n > 0 && p.parts[n-1].isCapture() {
					return nil, errors.New("found consecutive capture: " + s)
				}
				if name != "_" {
					if seen[name] {
						return nil, fmt.Errorf("duplicate capture name (%s): %s", name, s)
					}
					seen[name] = true
					p.names = append(p.names, name)
				}
				p.parts = append(p.parts, patternPart{capture: name})
				i += j + 2
				continue
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	flush()
	if len(p.parts) == 0 {
		return nil, errors.New("empty pattern")
	}
	if needCapture && len(p.names) == 0 {
		return nil, errors.New("at least one capture is required: " + s)
	}
	return p, nil
}

// match returns the value of each named capture, in order, stopping early
// when a literal is missing: the capture before it then takes the rest of
// the line. A leading literal must start the line.
func (p *pattern) match(line string, fn func(name, value string)) {
	parts := p.parts
	if !parts[0].isCapture() {
		if !strings.HasPrefix(line, parts[0].literal) {
			return
		}
		line = line[len(parts[0].literal):]
		parts = parts[1:]
	}
	for len(parts) > 0 {
		capt := parts[0]
		if len(parts) == 1 {
			if capt.capture != "_" {
				fn(capt.capture, line)
			}
			return
		}
		lit := parts[1].literal
		parts = parts[2:]
		i := strings.Index(line, lit)
		if i < 0 {
			if capt.capture != "_" {
				fn(capt.capture, line)
			}
			return
		}
		if capt.capture != "_" {
			fn(capt.capture, line[:i])
		}
		line = line[i+len(lit):]
	}
}

// test reports whether the line matches the pattern as a whole: literals in
// order with non-empty captures between them, a leading literal at the start
// and a trailing literal at the end.
func (p *pattern) test(line string) bool {
	parts := p.parts
	if !parts[0].isCapture() {
		if !strings.HasPrefix(line, parts[0].literal) {
			return false
		}
		line = line[len(parts[0].literal):]
		parts = parts[1:]
	}
	for len(parts) > 0 {
		if len(parts) == 1 {
			return line != ""
		}
		lit := parts[1].literal
		parts = parts[2:]
		i := strings.Index(line, lit)
		if i <= 0 {
			return false
		}
		line = line[i+len(lit):]
	}
	return line == ""
}
