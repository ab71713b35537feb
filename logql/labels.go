package logql

import (
	"slices"
	"strconv"
	"strings"
)

// Label is one name/value pair.
type Label struct {
	Name, Value string
}

// Labels is a label set sorted by name with unique names. Values returned by
// this package are shared and must not be modified.
type Labels []Label

// FromStrings builds sorted Labels from name/value pairs; a later duplicate
// name wins. An odd trailing element is ignored.
func FromStrings(kv ...string) Labels {
	ls := make(Labels, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, Label{Name: kv[i], Value: kv[i+1]})
	}
	return normalizeLabels(ls)
}

// LabelsFromMap builds sorted Labels from a map.
func LabelsFromMap(m map[string]string) Labels {
	ls := make(Labels, 0, len(m))
	for k, v := range m {
		ls = append(ls, Label{Name: k, Value: v})
	}
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	return ls
}

// normalizeLabels sorts ls by name and keeps the last value of a duplicate name.
func normalizeLabels(ls Labels) Labels {
	slices.SortStableFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	out := ls[:0]
	for i, l := range ls {
		if i+1 < len(ls) && ls[i+1].Name == l.Name {
			continue
		}
		out = append(out, l)
	}
	return out
}

// Get returns the value of name, or "" when absent.
func (ls Labels) Get(name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// Has reports whether name is present.
func (ls Labels) Has(name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

// Map returns the labels as a map.
func (ls Labels) Map() map[string]string {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return m
}

// String formats the labels the way Loki and Prometheus print them:
// {a="b", c="d"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// CompareLabels orders label sets by their sorted name/value pairs.
func CompareLabels(a, b Labels) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// appendKey appends an unambiguous encoding of ls, used as a map key.
func (ls Labels) appendKey(buf []byte) []byte {
	for _, l := range ls {
		buf = append(buf, l.Name...)
		buf = append(buf, 0xff)
		buf = append(buf, l.Value...)
		buf = append(buf, 0xfe)
	}
	return buf
}

// withoutEmpty drops labels with empty values: in metric results an empty
// value and a missing label are the same thing, as in Prometheus.
func (ls Labels) withoutEmpty() Labels {
	for i, l := range ls {
		if l.Value == "" {
			out := make(Labels, 0, len(ls)-1)
			out = append(out, ls[:i]...)
			for _, l := range ls[i+1:] {
				if l.Value != "" {
					out = append(out, l)
				}
			}
			return out
		}
	}
	return ls
}

// isLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
func isLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}
