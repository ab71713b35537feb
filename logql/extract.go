package logql

import (
	"strings"
)

// jsonStage is | json without parameters: every scalar member becomes a
// label; nested object keys are joined with "_" ({"a":{"b":1}} gives a_b);
// arrays and nulls are skipped; a line that is not a JSON object gets
// __error__=JSONParserErr.
type jsonStage struct {
	prefix   []byte
	nameBuf  []byte
	names    map[string]string // sanitized flattened key -> label name
	suffixed map[string]string
}

func newJSONStage() *jsonStage {
	return &jsonStage{names: map[string]string{}, suffixed: map[string]string{}}
}

func (j *jsonStage) process(line string, b *labelsBuilder) (string, bool) {
	j.prefix = j.prefix[:0]
	s := jsonScanner{s: line}
	if err := j.object(&s, b, 0); err != nil {
		b.setErr(ErrJSON, err.Error())
	}
	return line, true
}

func (j *jsonStage) object(s *jsonScanner, b *labelsBuilder, depth int) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	return s.eachMember(func(key string, escaped bool) error {
		if escaped {
			key = unescapeJSON(key)
		}
		switch c := s.peek(); c {
		case '{':
			n := len(j.prefix)
			j.prefix = appendKeySegment(j.prefix, key)
			err := j.object(s, b, depth+1)
			j.prefix = j.prefix[:n]
			return err
		case '[', 'n':
			_, err := s.value(depth + 1)
			return err
		default:
			raw, err := s.value(depth + 1)
			if err != nil {
				return err
			}
			if c == '"' {
				raw = unescapeJSON(raw[1 : len(raw)-1])
			}
			if name := j.labelName(key); name != "" {
				b.extract(b.extractedName(name, j.suffixed), raw)
			}
			return nil
		}
	})
}

// labelName returns the sanitized label name of key under the current
// prefix, interned so that steady-state parsing does not allocate.
func (j *jsonStage) labelName(key string) string {
	j.nameBuf = appendKeySegment(append(j.nameBuf[:0], j.prefix...), key)
	if name, ok := j.names[string(j.nameBuf)]; ok {
		return name
	}
	name := string(j.nameBuf)
	if name != "" && isDigit(name[0]) {
		name = "_" + name
	}
	if len(j.names) < maxInternedNames {
		j.names[string(j.nameBuf)] = name
	}
	return name
}

// appendKeySegment appends a sanitized key to a flattened name: spaces are
// trimmed, characters outside [a-zA-Z0-9_] become "_", and segments are
// joined with "_".
func appendKeySegment(buf []byte, key string) []byte {
	key = strings.TrimSpace(key)
	if key == "" {
		return buf
	}
	if len(buf) > 0 {
		buf = append(buf, '_')
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; isIdentChar(c) {
			buf = append(buf, c)
		} else {
			buf = append(buf, '_')
		}
	}
	return buf
}

// sanitizeKey turns a parsed key into a label name.
func sanitizeKey(key string) string {
	buf := appendKeySegment(nil, key)
	if len(buf) > 0 && isDigit(buf[0]) {
		return "_" + string(buf)
	}
	return string(buf)
}

// newJSONPathStage is | json a="x.y": only the given paths, missing ones as
// empty labels.
func newJSONPathStage(s *JSONParserStage) stageFunc {
	suffixed := map[string]string{}
	return func(line string, b *labelsBuilder) (string, bool) {
		if line == "" {
			return line, true
		}
		if c := strings.TrimLeft(line, " \t\r\n"); c == "" || strings.IndexByte(`"{[`, c[0]) < 0 {
			b.setErr(ErrJSON, errJSONNotObject.Error())
			return line, true
		}
		for i, prm := range s.Params {
			raw, err := lookupPath(line, s.paths[i])
			switch {
			case err == errJSONKeyPath || raw == "null":
				raw = ""
			case err != nil:
				b.setErr(ErrJSON, err.Error())
				raw = ""
			case raw[0] == '"':
				raw = unescapeJSON(raw[1 : len(raw)-1])
			}
			b.set(b.extractedName(prm.Label, suffixed), raw)
		}
		return line, true
	}
}

// logfmtStage is | logfmt: every pair becomes a label. Without --strict a
// malformed pair is skipped; with it parsing stops and sets
// __error__=LogfmtParserErr. Empty values are dropped unless --keep-empty.
type logfmtStage struct {
	s        *LogfmtParserStage
	byKey    map[string][]string // params: logfmt key -> labels
	names    map[string]string
	suffixed map[string]string
}

func newLogfmtStage(s *LogfmtParserStage) *logfmtStage {
	st := &logfmtStage{s: s, names: map[string]string{}, suffixed: map[string]string{}}
	if len(s.Params) > 0 {
		st.byKey = map[string][]string{}
		for _, p := range s.Params {
			st.byKey[p.Path] = append(st.byKey[p.Path], p.Label)
		}
	}
	return st
}

func (l *logfmtStage) process(line string, b *labelsBuilder) (string, bool) {
	for _, p := range l.s.Params {
		if !b.stream.Has(p.Label) {
			b.set(p.Label, "")
		}
	}
	d := logfmtScanner{s: line}
	for !d.done() {
		if !d.scan() {
			if l.s.Strict {
				b.setErr(ErrLogfmt, d.err.Error())
				break
			}
			continue
		}
		value := validLogfmtValue(d.value)
		if value == "" && !l.s.KeepEmpty && l.byKey == nil {
			continue
		}
		if l.byKey != nil {
			for _, label := range l.byKey[d.key] {
				b.set(b.extractedName(label, l.suffixed), value)
			}
			continue
		}
		if name := l.labelName(d.key); name != "" {
			b.extract(b.extractedName(name, l.suffixed), value)
		}
	}
	return line, true
}

func (l *logfmtStage) labelName(key string) string {
	if name, ok := l.names[key]; ok {
		return name
	}
	name := sanitizeKey(key)
	if len(l.names) < maxInternedNames {
		l.names[key] = name
	}
	return name
}

// unpackStage is | unpack: string members become labels and "_entry"
// replaces the line.
type unpackStage struct {
	suffixed map[string]string
}

func newUnpackStage() *unpackStage { return &unpackStage{suffixed: map[string]string{}} }

func (u *unpackStage) process(line string, b *labelsBuilder) (string, bool) {
	if line == "" {
		return line, true
	}
	entry, hasEntry := "", false
	s := jsonScanner{s: line}
	err := s.eachMember(func(key string, escaped bool) error {
		isString := s.peek() == '"'
		raw, err := s.value(0)
		if err != nil || !isString {
			return err
		}
		if escaped {
			key = unescapeJSON(key)
		}
		v := unescapeJSON(raw[1 : len(raw)-1])
		if key == "_entry" {
			entry, hasEntry = v, true
			return nil
		}
		if name := sanitizeKey(key); name != "" {
			b.extract(b.extractedName(name, u.suffixed), v)
		}
		return nil
	})
	if err != nil {
		b.setErr(ErrJSON, err.Error())
		return line, true
	}
	if hasEntry {
		return entry, true
	}
	return line, true
}
