package logql

import (
	"regexp"
	"sync"
	"text/template/parse"
)

func (p *parser) parseLogQuery() (*LogQueryExpr, error) {
	ms, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	stages, err := p.parsePipeline()
	if err != nil {
		return nil, err
	}
	return &LogQueryExpr{Matchers: ms, Pipeline: stages}, nil
}

var matchTypes = map[tokenKind]MatchType{
	tokEq: MatchEqual, tokNeq: MatchNotEqual, tokRe: MatchRegexp, tokNre: MatchNotRegexp,
}

func (p *parser) parseSelector() ([]*Matcher, error) {
	if _, err := p.expect(tokLBrace, "{"); err != nil {
		return nil, err
	}
	var ms []*Matcher
	if p.peek().kind == tokRBrace {
		p.next()
		return ms, nil
	}
	for {
		m, err := p.parseMatcher()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
		t := p.next()
		switch t.kind {
		case tokComma:
			continue
		case tokRBrace:
			return ms, nil
		}
		return nil, p.unexpected(t, ", or }")
	}
}

// parseMatcher reads name op "value" where op is = != =~ !~.
func (p *parser) parseMatcher() (*Matcher, error) {
	name, err := p.expectIdent()
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	mt, ok := matchTypes[opTok.kind]
	if !ok {
		return nil, p.unexpected(opTok, "=, !=, =~ or !~")
	}
	val, err := p.expect(tokString, "STRING")
	if err != nil {
		return nil, err
	}
	m, err := NewMatcher(mt, name.text, val.text)
	if err != nil {
		return nil, p.errAt(val, "%v", err)
	}
	return m, nil
}

var lineFilterOps = map[tokenKind]LineFilterOp{
	tokPipeExact: LineContains, tokNeq: LineNotContains, tokPipeRe: LineMatchRegexp,
	tokNre: LineNotMatchRegexp, tokPipePattern: LineMatchPattern, tokNotPattern: LineNotMatchPattern,
}

// parsePipeline reads stages until something that is not a stage; it stops
// before "| unwrap", which belongs to the range around it.
func (p *parser) parsePipeline() ([]Stage, error) {
	var stages []Stage
	for {
		t := p.peek()
		var s Stage
		var err error
		switch {
		case lineFilterOps[t.kind] != "":
			s, err = p.parseLineFilter()
		case t.kind == tokPipe && !p.isIdent(1, "unwrap"):
			p.next()
			s, err = p.parseStage()
		default:
			return stages, nil
		}
		if err != nil {
			return nil, err
		}
		stages = append(stages, s)
	}
}

func (p *parser) parseLineFilter() (Stage, error) {
	opTok := p.next()
	s := &LineFilterStage{Op: lineFilterOps[opTok.kind]}
	for {
		v, err := p.parseLineFilterValue(s.Op)
		if err != nil {
			return nil, err
		}
		s.Values = append(s.Values, v)
		next := p.peekAt(1)
		if !p.isIdent(0, "or") || !(next.kind == tokString || (next.kind == tokIdent && next.text == "ip")) {
			break
		}
		p.next()
	}
	if err := compileLineFilter(s); err != nil {
		return nil, p.errAt(opTok, "%v", err)
	}
	return s, nil
}

func (p *parser) parseLineFilterValue(op LineFilterOp) (LineFilterValue, error) {
	if p.isIdent(0, "ip") && p.peekAt(1).kind == tokLParen {
		ipTok := p.next()
		if op != LineContains && op != LineNotContains {
			return LineFilterValue{}, p.errAt(ipTok, "ip() line filters only support |= and !=")
		}
		p.next()
		t, err := p.expect(tokString, "STRING")
		if err != nil {
			return LineFilterValue{}, err
		}
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return LineFilterValue{}, err
		}
		return LineFilterValue{Value: t.text, IP: true}, nil
	}
	t, err := p.expect(tokString, "STRING")
	if err != nil {
		return LineFilterValue{}, err
	}
	return LineFilterValue{Value: t.text}, nil
}

// startsLabelFilter reports whether tokens at n begin a label filter:
// "(" or a name followed by a comparison.
func (p *parser) startsLabelFilter(n int) bool {
	t := p.peekAt(n)
	if t.kind == tokLParen {
		return true
	}
	if t.kind != tokIdent {
		return false
	}
	switch p.peekAt(n + 1).kind {
	case tokEq, tokNeq, tokRe, tokNre, tokCmpEq, tokGt, tokGte, tokLt, tokLte:
		return true
	}
	return false
}

// parseStage reads what follows a "|".
func (p *parser) parseStage() (Stage, error) {
	if p.startsLabelFilter(0) {
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		return &LabelFilterStage{Filter: f}, nil
	}
	t, err := p.expectIdent()
	if err != nil {
		return nil, err
	}
	switch t.text {
	case "json":
		return p.parseJSONStage()
	case "logfmt":
		return p.parseLogfmtStage()
	case "regexp":
		return p.parseRegexpStage()
	case "pattern":
		return p.parsePatternStage()
	case "unpack":
		return &UnpackParserStage{}, nil
	case "decolorize":
		return &DecolorizeStage{}, nil
	case "line_format":
		return p.parseLineFormat()
	case "label_format":
		return p.parseLabelFormat()
	case "drop":
		sel, err := p.parseLabelSelections()
		return &DropLabelsStage{Labels: sel}, err
	case "keep":
		sel, err := p.parseLabelSelections()
		return &KeepLabelsStage{Labels: sel}, err
	}
	return nil, p.unexpected(t, "")
}

func (p *parser) parseJSONStage() (Stage, error) {
	params, err := p.parseExtractParams()
	if err != nil {
		return nil, err
	}
	s := &JSONParserStage{Params: params}
	for _, prm := range params {
		path, err := parseJSONPath(prm.Path)
		if err != nil {
			return nil, semanticError("cannot parse expression [%s]: %v", prm.Path, err)
		}
		s.paths = append(s.paths, path)
	}
	return s, nil
}

func (p *parser) parseLogfmtStage() (Stage, error) {
	s := &LogfmtParserStage{}
	for p.peek().kind == tokFlag {
		t := p.next()
		switch t.text {
		case "--strict":
			s.Strict = true
		case "--keep-empty":
			s.KeepEmpty = true
		default:
			return nil, p.errAt(t, "syntax error: unknown logfmt flag %s", t.text)
		}
	}
	var err error
	s.Params, err = p.parseExtractParams()
	return s, err
}

// parseExtractParams reads "a="x.y", b" after json or logfmt; a bare name
// extracts the key of the same name.
func (p *parser) parseExtractParams() ([]ExtractParam, error) {
	var params []ExtractParam
	for p.peek().kind == tokIdent {
		name := p.next()
		prm := ExtractParam{Label: name.text, Path: name.text}
		if p.peek().kind == tokEq {
			p.next()
			t, err := p.expect(tokString, "STRING")
			if err != nil {
				return nil, err
			}
			prm.Path = t.text
		}
		params = append(params, prm)
		if p.peek().kind != tokComma {
			break
		}
		p.next()
	}
	return params, nil
}

func (p *parser) parseRegexpStage() (Stage, error) {
	t, err := p.expect(tokString, "STRING")
	if err != nil {
		return nil, err
	}
	s := &RegexpParserStage{Regexp: t.text}
	if s.re, err = regexp.Compile(t.text); err != nil {
		return nil, semanticError("invalid regexp parser: %v", err)
	}
	s.names = s.re.SubexpNames()
	seen := map[string]bool{}
	named := 0
	for _, n := range s.names {
		if n == "" {
			continue
		}
		if !isLabelName(n) {
			return nil, semanticError("invalid regexp parser: invalid extracted label name '%s'", n)
		}
		if seen[n] {
			return nil, semanticError("invalid regexp parser: duplicate extracted label name '%s'", n)
		}
		seen[n] = true
		named++
	}
	if named == 0 {
		return nil, semanticError("invalid regexp parser: at least one named capture must be supplied")
	}
	return s, nil
}

func (p *parser) parsePatternStage() (Stage, error) {
	t, err := p.expect(tokString, "STRING")
	if err != nil {
		return nil, err
	}
	pat, err := compilePattern(t.text, true)
	if err != nil {
		return nil, semanticError("invalid pattern parser: %v", err)
	}
	return &PatternParserStage{Pattern: t.text, pat: pat}, nil
}

func (p *parser) parseLineFormat() (Stage, error) {
	t, err := p.expect(tokString, "STRING")
	if err != nil {
		return nil, err
	}
	if err := checkTemplate(t.text); err != nil {
		return nil, semanticError("invalid line template: %v", err)
	}
	return &LineFormatStage{Template: t.text}, nil
}

func (p *parser) parseLabelFormat() (Stage, error) {
	s := &LabelFormatStage{}
	seen := map[string]bool{}
	for {
		name, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokEq, "="); err != nil {
			return nil, err
		}
		f := LabelFormat{Name: name.text}
		v := p.next()
		switch v.kind {
		case tokIdent:
			f.Rename, f.Value = true, v.text
		case tokString:
			f.Value = v.text
			if err := checkTemplate(v.text); err != nil {
				return nil, semanticError("invalid template for label '%s': %v", f.Name, err)
			}
		default:
			return nil, p.unexpected(v, "IDENTIFIER or STRING")
		}
		if f.Name == ErrorLabel {
			return nil, p.errAt(name, "%s cannot be formatted", f.Name)
		}
		if seen[f.Name] {
			return nil, p.errAt(name, "multiple label name '%s' not allowed in a single format operation", f.Name)
		}
		seen[f.Name] = true
		s.Formats = append(s.Formats, f)
		if p.peek().kind != tokComma {
			return s, nil
		}
		p.next()
	}
}

// parseLabelSelections reads the arguments of drop and keep: names, or
// matchers that select a label only when its value matches.
func (p *parser) parseLabelSelections() ([]LabelSelection, error) {
	var sel []LabelSelection
	for {
		if p.peek().kind != tokIdent {
			return nil, p.unexpected(p.peek(), "IDENTIFIER")
		}
		if _, ok := matchTypes[p.peekAt(1).kind]; ok {
			m, err := p.parseMatcher()
			if err != nil {
				return nil, err
			}
			sel = append(sel, LabelSelection{Name: m.Name, Matcher: m})
		} else {
			sel = append(sel, LabelSelection{Name: p.next().text})
		}
		if p.peek().kind != tokComma {
			return sel, nil
		}
		p.next()
	}
}

// parseLabelFilterOr and parseLabelFilterAnd give "and" and "," precedence
// over "or".
func (p *parser) parseLabelFilterOr() (LabelFilter, error) {
	left, err := p.parseLabelFilterAnd()
	if err != nil {
		return nil, err
	}
	for p.isIdent(0, "or") && p.startsLabelFilter(1) {
		p.next()
		right, err := p.parseLabelFilterAnd()
		if err != nil {
			return nil, err
		}
		left = &BinaryLabelFilter{Or: true, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseLabelFilterAnd() (LabelFilter, error) {
	left, err := p.parseLabelFilterPrimary()
	if err != nil {
		return nil, err
	}
	for (p.isIdent(0, "and") || p.peek().kind == tokComma) && p.startsLabelFilter(1) {
		p.next()
		right, err := p.parseLabelFilterPrimary()
		if err != nil {
			return nil, err
		}
		left = &BinaryLabelFilter{Left: left, Right: right}
	}
	return left, nil
}

var compareOps = map[tokenKind]CompareOp{
	tokEq: CmpEq, tokCmpEq: CmpEq, tokNeq: CmpNeq, tokGt: CmpGt, tokGte: CmpGte, tokLt: CmpLt, tokLte: CmpLte,
}

func (p *parser) parseLabelFilterPrimary() (LabelFilter, error) {
	if p.peek().kind == tokLParen {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return nil, err
		}
		return f, nil
	}
	name, err := p.expectIdent()
	if err != nil {
		return nil, err
	}
	opTok := p.next()
	val := p.peek()
	mt, isMatch := matchTypes[opTok.kind]
	switch {
	case isMatch && val.kind == tokString:
		p.next()
		m, err := NewMatcher(mt, name.text, val.text)
		if err != nil {
			return nil, p.errAt(val, "%v", err)
		}
		return &StringLabelFilter{Matcher: m}, nil
	case (opTok.kind == tokEq || opTok.kind == tokNeq) && p.isIdent(0, "ip") && p.peekAt(1).kind == tokLParen:
		return p.parseIPLabelFilter(name.text, opTok.kind == tokNeq)
	}
	op, ok := compareOps[opTok.kind]
	if !ok {
		return nil, p.unexpected(opTok, "")
	}
	switch val.kind {
	case tokDuration:
		p.next()
		return &DurationLabelFilter{Name: name.text, Op: op, Value: val.dur}, nil
	case tokBytes:
		p.next()
		return &BytesLabelFilter{Name: name.text, Op: op, Value: val.size}, nil
	case tokNumber, tokSub, tokAdd:
		v, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		return &NumericLabelFilter{Name: name.text, Op: op, Value: v}, nil
	}
	return nil, p.unexpected(val, "")
}

func (p *parser) parseIPLabelFilter(name string, negate bool) (LabelFilter, error) {
	ipTok := p.next()
	p.next() // (
	t, err := p.expect(tokString, "STRING")
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	m, err := compileIPPattern(t.text)
	if err != nil {
		return nil, p.errAt(ipTok, "%v", err)
	}
	return &IPLabelFilter{Name: name, Negate: negate, Pattern: t.text, ip: m}, nil
}

var unwrapConversions = map[string]bool{"bytes": true, "duration": true, "duration_seconds": true}

// parseUnwrap reads "| unwrap x" or "| unwrap duration(x)" and the label
// filters that follow it; it returns nil when no unwrap comes next.
func (p *parser) parseUnwrap() (*Unwrap, error) {
	if p.peek().kind != tokPipe || !p.isIdent(1, "unwrap") {
		return nil, nil
	}
	p.next()
	p.next()
	name, err := p.expectIdent()
	if err != nil {
		return nil, err
	}
	u := &Unwrap{Label: name.text}
	if p.peek().kind == tokLParen {
		if !unwrapConversions[name.text] {
			return nil, p.errAt(name, "syntax error: unexpected %s, expecting bytes, duration or duration_seconds", name.text)
		}
		p.next()
		label, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return nil, err
		}
		u.Conversion, u.Label = name.text, label.text
	}
	for p.peek().kind == tokPipe && p.startsLabelFilter(1) {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		u.PostFilters = append(u.PostFilters, f)
	}
	return u, nil
}

// checkTemplate parses a line_format or label_format template, knowing the
// functions the pipeline provides. It uses the template parser directly:
// building a template.Template with our function map costs more than
// parsing the rest of the query.
func checkTemplate(s string) error {
	_, err := parse.Parse("", s, "", "", templateFuncNames())
	return err
}

// templateFuncNames is every function a template may call: ours and
// text/template's builtins.
var templateFuncNames = sync.OnceValue(func() map[string]any {
	names := map[string]any{}
	for name, fn := range templateFuncs(&templateState{}) {
		names[name] = fn
	}
	for _, b := range []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"} {
		names[b] = true
	}
	return names
})
