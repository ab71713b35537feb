package distributor

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// maxLabelsInMessage bounds how much of a label string an error message quotes.
const maxLabelsInMessage = 200

// parseLabels parses the Prometheus-style label set of a Loki push stream, such as
// {app="api", env="prod"}: names match [a-zA-Z_][a-zA-Z0-9_]*, values are double- or
// back-quoted Go strings, and only "=" is allowed. It is strict, like Loki's own parser:
// no trailing comma, no duplicate names, nothing after the closing brace. Labels with an
// empty value are dropped (Prometheus semantics: empty means absent). The result is
// sorted by name.
func parseLabels(s string) ([]*pb.Label, error) {
	p := labelParser{s: s}
	labels, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("invalid stream labels %s: at offset %d: %w", quoteForMessage(s), p.pos, err)
	}
	return labels, nil
}

type labelParser struct {
	s   string
	pos int
}

func (p *labelParser) parse() ([]*pb.Label, error) {
	p.skipSpace()
	if !p.consume('{') {
		return nil, fmt.Errorf("expected '{', found %s", p.found())
	}
	var labels []*pb.Label
	p.skipSpace()
	if !p.consume('}') {
		for {
			l, err := p.pair()
			if err != nil {
				return nil, err
			}
			labels = append(labels, l)
			p.skipSpace()
			if p.consume('}') {
				break
			}
			if !p.consume(',') {
				return nil, fmt.Errorf("expected ',' or '}', found %s", p.found())
			}
			p.skipSpace()
		}
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, fmt.Errorf("unexpected %s after '}'", p.found())
	}
	return sortLabels(labels)
}

// pair parses name="value".
func (p *labelParser) pair() (*pb.Label, error) {
	start := p.pos
	for p.pos < len(p.s) && labelNameByte(p.s[p.pos], p.pos == start) {
		p.pos++
	}
	if p.pos == start {
		return nil, fmt.Errorf("expected a label name, found %s", p.found())
	}
	name := p.s[start:p.pos]
	p.skipSpace()
	if !p.consume('=') {
		if strings.HasPrefix(p.s[p.pos:], "!=") {
			return nil, fmt.Errorf("label %s: only '=' is allowed in stream labels, found '!='", name)
		}
		return nil, fmt.Errorf("expected '=' after label name %s, found %s", name, p.found())
	}
	if p.pos < len(p.s) && p.s[p.pos] == '~' {
		return nil, fmt.Errorf("label %s: only '=' is allowed in stream labels, found '=~'", name)
	}
	p.skipSpace()
	value, err := p.quoted()
	if err != nil {
		return nil, fmt.Errorf("label %s: %w", name, err)
	}
	return &pb.Label{Name: name, Value: value}, nil
}

// quoted parses a double-quoted (with Go escapes) or back-quoted string.
func (p *labelParser) quoted() (string, error) {
	if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '`') {
		return "", fmt.Errorf("expected a quoted label value, found %s", p.found())
	}
	q := p.s[p.pos]
	start := p.pos
	for i := start + 1; i < len(p.s); i++ {
		switch {
		case p.s[i] == '\\' && q == '"':
			i++ // the escaped byte cannot end the string
		case p.s[i] == q:
			// Unquote would turn invalid UTF-8 into U+FFFD; refuse it instead.
			if !utf8.ValidString(p.s[start : i+1]) {
				return "", fmt.Errorf("value is not valid UTF-8")
			}
			v, err := strconv.Unquote(p.s[start : i+1])
			if err != nil {
				return "", fmt.Errorf("invalid quoted value %s: %w", p.s[start:i+1], err)
			}
			p.pos = i + 1
			return v, nil
		}
	}
	return "", fmt.Errorf("unterminated quoted value")
}

func (p *labelParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *labelParser) consume(c byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *labelParser) found() string {
	if p.pos >= len(p.s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return strconv.QuoteRune(r)
}

func labelNameByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || !first && c >= '0' && c <= '9'
}

// validLabelName reports whether n is a Prometheus label name.
func validLabelName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !labelNameByte(n[i], i == 0) {
			return false
		}
	}
	return true
}

// sortLabels drops empty values, sorts by name and refuses duplicate names.
func sortLabels(labels []*pb.Label) ([]*pb.Label, error) {
	out := labels[:0]
	for _, l := range labels {
		if l.Value != "" {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("duplicate label name %s", out[i].Name)
		}
	}
	return out, nil
}

// labelsFromMap builds the labels of a JSON push stream, with the parser's rules.
func labelsFromMap(m map[string]string) ([]*pb.Label, error) {
	labels := make([]*pb.Label, 0, len(m))
	for k, v := range m {
		if !validLabelName(k) {
			return nil, fmt.Errorf("invalid stream label name %s: names must match [a-zA-Z_][a-zA-Z0-9_]*", quoteForMessage(k))
		}
		labels = append(labels, &pb.Label{Name: k, Value: v})
	}
	return sortLabels(labels)
}

// formatLabels renders labels as {a="b", c="d"}, the form parseLabels reads.
func formatLabels(labels []*pb.Label) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(l.Name)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.Value))
	}
	sb.WriteByte('}')
	return sb.String()
}

// quoteForMessage quotes client text for an error message, cut to a readable length.
func quoteForMessage(s string) string {
	return strconv.Quote(shortForMessage(s))
}
