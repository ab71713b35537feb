package logql

import (
	"slices"
	"strings"
)

// duplicateSuffix renames an extracted label that clashes with a stream
// label, as Loki does.
const duplicateSuffix = "_extracted"

// labelsBuilder holds one entry's labels while its pipeline runs. It keeps
// Loki's three categories: stream labels, structured metadata and parsed
// labels; a later category overrides an earlier one of the same name.
type labelsBuilder struct {
	stream    Labels
	meta      []Label
	parsed    []Label
	deleted   []string // stream labels removed by drop, keep or a rename
	extracted []string // names already set in this entry: parsers keep the first value
	err       string
	errDetail string
	ts        int64
}

func (b *labelsBuilder) reset(e *Entry) {
	b.stream = e.Stream
	b.meta = b.meta[:0]
	b.parsed = b.parsed[:0]
	b.deleted = b.deleted[:0]
	b.extracted = b.extracted[:0]
	b.err, b.errDetail = "", ""
	b.ts = e.Timestamp
	for _, l := range e.Metadata {
		name := l.Name
		if b.stream.Has(name) {
			name += duplicateSuffix
		}
		switch name {
		case ErrorLabel:
			b.err = l.Value
		case ErrorDetailsLabel:
			b.errDetail = l.Value
		default:
			b.meta = setLabel(b.meta, name, l.Value)
		}
	}
}

// unchanged reports whether the labels are exactly the stream labels.
func (b *labelsBuilder) unchanged() bool {
	return len(b.meta) == 0 && len(b.parsed) == 0 && len(b.deleted) == 0 && b.err == "" && b.errDetail == ""
}

// get returns a label's current value; a stream label with an empty value
// counts as missing, as in Loki.
func (b *labelsBuilder) get(name string) (string, bool) {
	switch name {
	case ErrorLabel:
		return b.err, b.err != ""
	case ErrorDetailsLabel:
		return b.errDetail, b.errDetail != ""
	}
	if v, ok := findLabel(b.parsed, name); ok {
		return v, true
	}
	if v, ok := findLabel(b.meta, name); ok {
		return v, true
	}
	if slices.Contains(b.deleted, name) {
		return "", false
	}
	v := b.stream.Get(name)
	return v, v != ""
}

// set adds or overrides a parsed label.
func (b *labelsBuilder) set(name, value string) {
	switch name {
	case ErrorLabel:
		b.err = value
		return
	case ErrorDetailsLabel:
		b.errDetail = value
		return
	}
	b.meta = removeLabel(b.meta, name)
	b.parsed = setLabel(b.parsed, name, value)
	if !slices.Contains(b.extracted, name) {
		b.extracted = append(b.extracted, name)
	}
}

// extract is set for parsers: the first value extracted for a name wins.
func (b *labelsBuilder) extract(name, value string) {
	if slices.Contains(b.extracted, name) {
		return
	}
	b.set(name, value)
}

func (b *labelsBuilder) del(name string) {
	switch name {
	case ErrorLabel:
		b.err = ""
		return
	case ErrorDetailsLabel:
		b.errDetail = ""
		return
	}
	b.parsed = removeLabel(b.parsed, name)
	b.meta = removeLabel(b.meta, name)
	if b.stream.Has(name) && !slices.Contains(b.deleted, name) {
		b.deleted = append(b.deleted, name)
	}
}

func (b *labelsBuilder) setErr(kind, details string) {
	b.err, b.errDetail = kind, details
}

// extractedName is the label name a parser uses for key: key itself, or
// key_extracted when the stream already has that label.
func (b *labelsBuilder) extractedName(key string, suffixed map[string]string) string {
	if !b.stream.Has(key) {
		return key
	}
	if s, ok := suffixed[key]; ok {
		return s
	}
	s := key + duplicateSuffix
	if len(suffixed) < maxInternedNames {
		suffixed[key] = s
	}
	return s
}

// appendAll appends every current label, unsorted, including the error labels.
func (b *labelsBuilder) appendAll(buf []Label) []Label {
	for _, l := range b.stream {
		if slices.Contains(b.deleted, l.Name) || hasLabel(b.meta, l.Name) || hasLabel(b.parsed, l.Name) {
			continue
		}
		buf = append(buf, l)
	}
	for _, l := range b.meta {
		if !hasLabel(b.parsed, l.Name) {
			buf = append(buf, l)
		}
	}
	buf = append(buf, b.parsed...)
	return b.appendErrors(buf)
}

func (b *labelsBuilder) appendErrors(buf []Label) []Label {
	if b.err != "" {
		buf = append(buf, Label{Name: ErrorLabel, Value: b.err})
	}
	if b.errDetail != "" {
		buf = append(buf, Label{Name: ErrorDetailsLabel, Value: b.errDetail})
	}
	return buf
}

// categorized splits the current labels like Loki's categorize-labels
// encoding; the error labels count as parsed.
func (b *labelsBuilder) categorized() CategorizedLabels {
	var c CategorizedLabels
	for _, l := range b.stream {
		if !slices.Contains(b.deleted, l.Name) && !hasLabel(b.meta, l.Name) && !hasLabel(b.parsed, l.Name) {
			c.Stream = append(c.Stream, l)
		}
	}
	for _, l := range b.meta {
		if !hasLabel(b.parsed, l.Name) {
			c.StructuredMetadata = append(c.StructuredMetadata, l)
		}
	}
	c.Parsed = b.appendErrors(append(Labels(nil), b.parsed...))
	c.StructuredMetadata = sortLabels(c.StructuredMetadata)
	c.Parsed = sortLabels(c.Parsed)
	return c
}

// fillMap puts the current labels in m for templates.
func (b *labelsBuilder) fillMap(m map[string]string, buf []Label) []Label {
	clear(m)
	buf = b.appendAll(buf[:0])
	for _, l := range buf {
		m[l.Name] = l.Value
	}
	return buf
}

func findLabel(ls []Label, name string) (string, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

func hasLabel(ls []Label, name string) bool {
	_, ok := findLabel(ls, name)
	return ok
}

func setLabel(ls []Label, name, value string) []Label {
	for i := range ls {
		if ls[i].Name == name {
			ls[i].Value = value
			return ls
		}
	}
	return append(ls, Label{Name: name, Value: value})
}

func removeLabel(ls []Label, name string) []Label {
	for i := range ls {
		if ls[i].Name == name {
			return append(ls[:i], ls[i+1:]...)
		}
	}
	return ls
}

func sortLabels(ls []Label) Labels {
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	return ls
}

// maxInternedNames bounds the per-pipeline caches of label names and label
// sets, which grow with the data.
const maxInternedNames = 4096

// labelsCache interns label sets so that entries of the same series share
// one Labels value instead of allocating one each.
type labelsCache struct {
	m   map[string]Labels
	key []byte
}

func (c *labelsCache) intern(ls []Label) Labels {
	c.key = Labels(ls).appendKey(c.key[:0])
	if v, ok := c.m[string(c.key)]; ok {
		return v
	}
	out := slices.Clone(Labels(ls))
	if c.m == nil {
		c.m = make(map[string]Labels)
	}
	if len(c.m) < maxInternedNames {
		c.m[string(c.key)] = out
	}
	return out
}
