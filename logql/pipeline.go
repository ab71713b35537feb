package logql

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"text/template"
	"time"
)

// Entry is one log record as the pipeline sees it.
type Entry struct {
	Timestamp int64  // unix nanoseconds
	Line      string // the log body
	Stream    Labels // stream (index) labels, sorted
	Metadata  Labels // structured metadata, sorted
}

// CategorizedLabels are a result's labels split the way Loki's
// categorize-labels response encoding needs them.
type CategorizedLabels struct {
	Stream             Labels
	StructuredMetadata Labels
	Parsed             Labels // extracted and formatted labels, and __error__
}

// Pipeline runs the stages of a log query over entries. Structured metadata
// behaves as labels; result labels are stream labels, then metadata, then
// extracted labels, later ones overriding earlier ones of the same name (an
// extracted label that clashes with a stream label is renamed with the
// _extracted suffix instead). Parse failures set __error__ and
// __error_details__ and keep the entry, as in Loki.
//
// A Pipeline is not safe for concurrent use: build one per goroutine.
type Pipeline struct {
	stages []stageFunc
	b      labelsBuilder
	tmpl   templateState
	cache  labelsCache
	buf    []Label
}

// stageFunc runs one stage; false drops the entry.
type stageFunc func(line string, b *labelsBuilder) (string, bool)

// NewPipeline compiles the stages of a log query.
func NewPipeline(e *LogQueryExpr) (*Pipeline, error) {
	p := &Pipeline{}
	for _, s := range e.Pipeline {
		fn, err := p.compileStage(s)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s, err)
		}
		p.stages = append(p.stages, fn)
	}
	return p, nil
}

// Process runs the pipeline over one entry and returns the resulting line
// and labels, and whether the entry is kept. The returned Labels may be
// shared with later results and must not be modified.
func (p *Pipeline) Process(e Entry) (string, Labels, bool) {
	line, ok := p.run(&e)
	if !ok {
		return "", nil, false
	}
	return line, p.labels(), true
}

// ProcessCategorized is Process with the labels split by category.
func (p *Pipeline) ProcessCategorized(e Entry) (string, CategorizedLabels, bool) {
	line, ok := p.run(&e)
	if !ok {
		return "", CategorizedLabels{}, false
	}
	return line, p.b.categorized(), true
}

// run leaves the entry's labels in p.b.
func (p *Pipeline) run(e *Entry) (string, bool) {
	p.b.reset(e)
	line := e.Line
	for _, s := range p.stages {
		var ok bool
		if line, ok = s(line, &p.b); !ok {
			return "", false
		}
	}
	return line, true
}

func (p *Pipeline) labels() Labels {
	if p.b.unchanged() {
		return p.b.stream
	}
	p.buf = sortLabels(p.b.appendAll(p.buf[:0]))
	return p.cache.intern(p.buf)
}

func (p *Pipeline) compileStage(s Stage) (stageFunc, error) {
	switch s := s.(type) {
	case *LineFilterStage:
		return func(line string, _ *labelsBuilder) (string, bool) { return line, s.Matches(line) }, nil
	case *LabelFilterStage:
		return func(line string, b *labelsBuilder) (string, bool) { return line, filterLabels(s.Filter, b) }, nil
	case *JSONParserStage:
		if len(s.Params) > 0 {
			return newJSONPathStage(s), nil
		}
		return newJSONStage().process, nil
	case *LogfmtParserStage:
		return newLogfmtStage(s).process, nil
	case *RegexpParserStage:
		return regexpStage(s), nil
	case *PatternParserStage:
		return patternStage(s), nil
	case *UnpackParserStage:
		return newUnpackStage().process, nil
	case *LineFormatStage:
		return p.lineFormatStage(s)
	case *LabelFormatStage:
		return p.labelFormatStage(s)
	case *DropLabelsStage:
		return func(line string, b *labelsBuilder) (string, bool) { dropLabels(s.Labels, b); return line, true }, nil
	case *KeepLabelsStage:
		var buf []Label
		return func(line string, b *labelsBuilder) (string, bool) {
			buf = keepLabels(s.Labels, b, buf)
			return line, true
		}, nil
	case *DecolorizeStage:
		return func(line string, _ *labelsBuilder) (string, bool) { return ansiRegexp.ReplaceAllString(line, ""), true }, nil
	}
	return nil, fmt.Errorf("unsupported stage %T", s)
}

// filterLabels evaluates a label filter with Loki's error rules: numeric,
// duration, bytes and ip filters let an entry that already has an error
// through (only string matchers can filter errors out), and a value that
// does not convert sets LabelFilterErr and keeps the entry.
func filterLabels(f LabelFilter, b *labelsBuilder) bool {
	switch f := f.(type) {
	case *StringLabelFilter:
		v, _ := b.get(f.Matcher.Name)
		return f.Matcher.Matches(v)
	case *NumericLabelFilter:
		return compareLabel(b, f.Name, func(v string) (bool, error) {
			x, err := strconv.ParseFloat(v, 64)
			return f.Op.compare(x, f.Value), err
		})
	case *DurationLabelFilter:
		return compareLabel(b, f.Name, func(v string) (bool, error) {
			d, err := time.ParseDuration(v)
			return f.Op.compare(float64(d), float64(f.Value)), err
		})
	case *BytesLabelFilter:
		return compareLabel(b, f.Name, func(v string) (bool, error) {
			n, err := parseBytes(v)
			return f.Op.compare(float64(n), float64(f.Value)), err
		})
	case *IPLabelFilter:
		if b.err != "" {
			return true
		}
		v, ok := b.get(f.Name)
		return (ok && f.ip.matchString(v)) != f.Negate
	case *BinaryLabelFilter:
		left := filterLabels(f.Left, b)
		if f.Or && left {
			return true
		}
		right := filterLabels(f.Right, b)
		if f.Or {
			return right
		}
		return left && right
	}
	return false
}

func compareLabel(b *labelsBuilder, name string, cmp func(string) (bool, error)) bool {
	if b.err != "" {
		return true
	}
	v, ok := b.get(name)
	if !ok {
		return false
	}
	keep, err := cmp(v)
	if err != nil {
		b.setErr(ErrLabelFilter, err.Error())
		return true
	}
	return keep
}

func regexpStage(s *RegexpParserStage) stageFunc {
	suffixed := map[string]string{}
	return func(line string, b *labelsBuilder) (string, bool) {
		m := s.re.FindStringSubmatchIndex(line)
		if m == nil {
			return line, true
		}
		for i, name := range s.names {
			if name == "" {
				continue
			}
			v := ""
			if m[2*i] >= 0 {
				v = line[m[2*i]:m[2*i+1]]
			}
			b.extract(b.extractedName(name, suffixed), v)
		}
		return line, true
	}
}

func patternStage(s *PatternParserStage) stageFunc {
	suffixed := map[string]string{}
	return func(line string, b *labelsBuilder) (string, bool) {
		s.pat.match(line, func(name, value string) {
			b.extract(b.extractedName(name, suffixed), value)
		})
		return line, true
	}
}

// formatter executes one template against the current labels.
type formatter struct {
	tmpl *template.Template
	buf  bytes.Buffer
}

func (p *Pipeline) newFormatter(text string) (*formatter, error) {
	t, err := template.New("").Option("missingkey=zero").Funcs(templateFuncs(&p.tmpl)).Parse(text)
	if err != nil {
		return nil, err
	}
	return &formatter{tmpl: t}, nil
}

func (f *formatter) execute(data map[string]string) (string, error) {
	f.buf.Reset()
	if err := f.tmpl.Execute(&f.buf, data); err != nil {
		return "", err
	}
	return f.buf.String(), nil
}

func (p *Pipeline) lineFormatStage(s *LineFormatStage) (stageFunc, error) {
	f, err := p.newFormatter(s.Template)
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	var buf []Label
	return func(line string, b *labelsBuilder) (string, bool) {
		p.tmpl.line, p.tmpl.ts = line, b.ts
		buf = b.fillMap(data, buf)
		out, err := f.execute(data)
		if err != nil {
			b.setErr(ErrTemplateFormat, err.Error())
			return line, true
		}
		return out, true
	}, nil
}

func (p *Pipeline) labelFormatStage(s *LabelFormatStage) (stageFunc, error) {
	fmts := make([]*formatter, len(s.Formats))
	for i, lf := range s.Formats {
		if lf.Rename {
			continue
		}
		f, err := p.newFormatter(lf.Value)
		if err != nil {
			return nil, err
		}
		fmts[i] = f
	}
	data := map[string]string{}
	var buf []Label
	return func(line string, b *labelsBuilder) (string, bool) {
		p.tmpl.line, p.tmpl.ts = line, b.ts
		filled := false
		for i, lf := range s.Formats {
			if lf.Rename {
				if v, ok := b.get(lf.Value); ok && lf.Name != lf.Value {
					b.set(lf.Name, v)
					b.del(lf.Value)
				}
				continue
			}
			// Like Loki, every template of the stage sees the labels as
			// they were before its first template ran.
			if !filled {
				buf = b.fillMap(data, buf)
				filled = true
			}
			out, err := fmts[i].execute(data)
			if err != nil {
				b.setErr(ErrTemplateFormat, err.Error())
				continue
			}
			b.set(lf.Name, out)
		}
		return line, true
	}, nil
}

func dropLabels(sel []LabelSelection, b *labelsBuilder) {
	for _, s := range sel {
		if s.Matcher != nil {
			if v, _ := b.get(s.Name); !s.Matcher.Matches(v) {
				continue
			}
		}
		b.del(s.Name)
	}
}

// keepLabels drops every label that no selection keeps; the error labels
// always stay, as in Loki.
func keepLabels(sel []LabelSelection, b *labelsBuilder, buf []Label) []Label {
	buf = b.appendAll(buf[:0])
	for _, l := range buf {
		if l.Name == ErrorLabel || l.Name == ErrorDetailsLabel || l.Name == PreserveErrorLabel {
			continue
		}
		keep := false
		for _, s := range sel {
			if s.Name == l.Name && (s.Matcher == nil || s.Matcher.Matches(l.Value)) {
				keep = true
				break
			}
		}
		if !keep {
			b.del(l.Name)
		}
	}
	return buf
}

// ansiRegexp matches ANSI escape sequences (colors, cursor moves).
var ansiRegexp = regexp.MustCompile(`[\x1b\x{9b}][\[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\x07)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))`)
