package querier

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/strataobs/strata/logql"
)

// detectedField is one field of detected_fields. Parsers is nil (JSON null) for
// structured metadata, which is how Grafana tells the two apart.
type detectedField struct {
	Label       string   `json:"label"`
	Type        string   `json:"type"`
	Cardinality int      `json:"cardinality"`
	Parsers     []string `json:"parsers"`

	values map[string]bool
}

// sampleFields runs the query over its newest line_limit lines and collects the
// structured metadata and the fields a json or logfmt parser finds in each line.
func (q *Querier) sampleFields(ctx context.Context, r *lokiRequest) (map[string]*detectedField, error) {
	query := r.form.Get("query")
	if query == "" {
		return nil, badRequest("query parameter is required")
	}
	lineLimit, err := parseLimit(r.form, "line_limit", 100)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(r.form, q.now())
	if err != nil {
		return nil, err
	}
	lq := lokiQuery{query: query, start: start, end: end, limit: min(lineLimit, max(q.cfg.MaxEntriesLimit, 1)), categorize: true}
	e, err := logql.Parse(query)
	if err != nil {
		return nil, err
	}
	logQ, ok := e.(*logql.LogQueryExpr)
	if !ok {
		if lqs := logql.LogQueries(e); len(lqs) > 0 {
			logQ = lqs[0]
		} else {
			return map[string]*detectedField{}, nil
		}
	}
	v, _, err := q.runLogs(ctx, r.tenant, logQ, lq)
	if err != nil {
		return nil, err
	}
	return detectFields(logQ, v.(logql.Streams))
}

func detectFields(logQ *logql.LogQueryExpr, streams logql.Streams) (map[string]*detectedField, error) {
	parsers := map[string]*logql.Pipeline{}
	for _, p := range []string{"json", "logfmt"} {
		pe, err := logql.ParseLogQuery(logQ.String() + " | " + p)
		if err != nil {
			return nil, err
		}
		if parsers[p], err = logql.NewPipeline(&logql.LogQueryExpr{Matchers: nil, Pipeline: pe.Pipeline[len(pe.Pipeline)-1:]}); err != nil {
			return nil, err
		}
	}
	fields := map[string]*detectedField{}
	add := func(name, value, parser string) {
		f := fields[name]
		if f == nil {
			f = &detectedField{Label: name, values: map[string]bool{}}
			fields[name] = f
		}
		f.values[value] = true
		if parser != "" && !slices.Contains(f.Parsers, parser) {
			f.Parsers = append(f.Parsers, parser)
		}
	}
	for _, s := range streams {
		for _, se := range s.Entries {
			for _, l := range se.StructuredMetadata {
				add(l.Name, l.Value, "")
			}
			parser := "logfmt"
			if strings.HasPrefix(strings.TrimSpace(se.Line), "{") {
				parser = "json"
			}
			_, c, ok := parsers[parser].ProcessCategorized(logql.Entry{Line: se.Line, Stream: s.Labels})
			if !ok || c.Parsed.Has(logql.ErrorLabel) {
				continue
			}
			for _, l := range c.Parsed {
				add(l.Name, l.Value, parser)
			}
		}
	}
	for _, f := range fields {
		f.Cardinality = len(f.values)
		f.Type = fieldType(f.values)
	}
	return fields, nil
}

// fieldType is the narrowest type every value has: int, float, boolean, duration,
// bytes, else string. Grafana offers unwrap for the non-string ones.
func fieldType(values map[string]bool) string {
	types := []struct {
		name string
		ok   func(string) bool
	}{
		{"int", func(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }},
		{"float", func(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }},
		{"boolean", func(s string) bool { _, err := strconv.ParseBool(s); return err == nil && !isDigits(s) }},
		{"duration", func(s string) bool { _, err := time.ParseDuration(s); return err == nil && !isDigits(s) }},
		{"bytes", isBytes},
	}
	for _, t := range types {
		all := len(values) > 0
		for v := range values {
			if !t.ok(v) {
				all = false
				break
			}
		}
		if all {
			return t.name
		}
	}
	return "string"
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// isBytes accepts Loki's byte sizes: a number and a unit such as 10KB, 1.5MiB, 512B.
func isBytes(s string) bool {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return false
	}
	if _, err := strconv.ParseFloat(s[:i], 64); err != nil {
		return false
	}
	switch strings.ToUpper(s[i:]) {
	case "B", "KB", "MB", "GB", "TB", "PB", "KIB", "MIB", "GIB", "TIB", "PIB":
		return true
	}
	return false
}

func (q *Querier) handleDetectedFields(ctx context.Context, r *lokiRequest) (any, error) {
	limit, err := fieldLimit(r.form)
	if err != nil {
		return nil, err
	}
	fields, err := q.sampleFields(ctx, r)
	if err != nil {
		return nil, err
	}
	out := make([]*detectedField, 0, len(fields))
	for _, f := range fields {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return map[string]any{"fields": out[:min(len(out), limit)], "limit": limit}, nil
}

func fieldLimit(v url.Values) (int, error) {
	if v.Get("field_limit") != "" {
		return parseLimit(v, "field_limit", 1000)
	}
	return parseLimit(v, "limit", 1000)
}

func (q *Querier) handleDetectedFieldValues(ctx context.Context, r *lokiRequest) (any, error) {
	limit, err := fieldLimit(r.form)
	if err != nil {
		return nil, err
	}
	fields, err := q.sampleFields(ctx, r)
	if err != nil {
		return nil, err
	}
	values := []string{}
	if f := fields[r.param("name")]; f != nil {
		for v := range f.values {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	return map[string]any{"values": values[:min(len(values), limit)], "limit": limit}, nil
}
