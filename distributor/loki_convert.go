package distributor

import (
	"sort"
	"strings"
	"unicode/utf8"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// serviceNameLabels are the labels a missing service_name is copied from, first match
// wins: Loki's default discover_service_name list.
var serviceNameLabels = []string{
	"service", "app", "application", "app_name", "name", "app_kubernetes_io_name",
	"container", "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name",
}

// levelFields are the label, structured metadata and line field names a level is read
// from, in priority order: Loki's default log_level_fields plus detected_level, which
// senders that already ran Loki's detection set.
var levelFields = []string{
	"level", "detected_level", "LEVEL", "Level", "lvl", "LVL", "Lvl",
	"severity", "SEVERITY", "Severity", "severity_text", "SEVERITY_TEXT", "SeverityText", "log.level",
}

var levelFieldSet = func() map[string]bool {
	m := make(map[string]bool, len(levelFields))
	for _, f := range levelFields {
		m[f] = true
	}
	return m
}()

// levelWords are the words a level is guessed from when no field names it. Like Loki,
// only lower and upper case count: "Error" is too common in prose.
var levelWords = map[string]bool{
	"debug": true, "DEBUG": true, "info": true, "INFO": true,
	"warn": true, "WARN": true, "warning": true, "WARNING": true,
	"err": true, "ERR": true, "error": true, "ERROR": true,
	"critical": true, "CRITICAL": true, "fatal": true, "FATAL": true, "panic": true, "PANIC": true,
}

// lokiDest is where one pushed stream's entries go.
type lokiDest struct {
	stream *pb.LogStream
	res    uint32
	name   string // the labels as text, for messages
	level  string // level text from a stream label, if any
}

// convertLoki maps a Loki push to Strata records: the pushed labels plus service_name are
// the stream labels and, as attributes, the resource; structured metadata becomes record
// attributes. Records are validated against the tenant's limits as OTLP records are.
func convertLoki(tenant string, v *validator, p *lokiPush) *converted {
	c := &converted{validator: v}
	dests := map[uint64]*lokiDest{}
	for i := range p.streams {
		s := &p.streams[i]
		dst, reason, msg := v.lokiDest(tenant, s, c, dests)
		if reason != "" {
			for range s.entries {
				c.reject(reason, msg)
			}
			continue
		}
		for _, e := range s.entries {
			rec, reason, msg := v.lokiRecord(dst.level, e)
			if reason != "" {
				c.reject(reason, "entry for stream "+dst.name+": "+msg)
				continue
			}
			rec.Resource = dst.res
			rec.Id = v.logID(dst.stream.StreamId, rec)
			dst.stream.Records = append(dst.stream.Records, rec)
			c.accepted++
		}
	}
	return c
}

// lokiDest validates a stream's labels and finds or creates its Strata stream and resource.
func (v *validator) lokiDest(tenant string, s *lokiStream, c *converted, dests map[uint64]*lokiDest) (*lokiDest, string, string) {
	if s.labelErr != nil {
		return nil, "invalid_labels", s.labelErr.Error()
	}
	if len(s.labels) == 0 {
		return nil, "invalid_labels", errNoLabels.Error()
	}
	labels, service := withServiceName(s.labels)
	sid := streamID(tenant, labels)
	if d := dests[sid]; d != nil {
		return d, "", ""
	}
	name := shortForMessage(formatLabels(s.labels))
	attrs, reason, msg := v.labelAttrs("stream "+name, labels)
	if reason != "" {
		return nil, reason, msg
	}
	d := &lokiDest{stream: &pb.LogStream{StreamId: sid, Labels: labels}, res: uint32(len(c.resources)), name: name, level: findLevelLabel(s.labels)}
	c.resources = append(c.resources, &pb.Resource{Attributes: attrs, ServiceName: service})
	c.streams = append(c.streams, d.stream)
	dests[sid] = d
	return d, "", ""
}

// labelAttrs checks labels against the attribute limits and returns them as attributes.
func (v *validator) labelAttrs(what string, labels []*pb.Label) ([]*pb.Attr, string, string) {
	if reason, msg := v.checkAttrCount(what, len(labels)); reason != "" {
		return nil, reason, msg
	}
	attrs := make([]*pb.Attr, len(labels))
	for i, l := range labels {
		if reason, msg := v.checkAttrKey(what, l.Name); reason != "" {
			return nil, reason, msg
		}
		if reason, msg := v.checkAttrValue(what, l.Name, l.Value); reason != "" {
			return nil, reason, msg
		}
		attrs[i] = &pb.Attr{Key: l.Name, Value: l.Value}
	}
	return attrs, "", ""
}

// lokiRecord validates one entry and builds its record, without resource and id.
func (v *validator) lokiRecord(streamLevel string, e lokiEntry) (*pb.LogRecord, string, string) {
	if reason, msg := v.checkTime(e.ts); reason != "" {
		return nil, reason, msg
	}
	if reason, msg := v.checkLine("log line", e.line); reason != "" {
		return nil, reason, msg
	}
	if reason, msg := v.checkAttrCount("structured metadata", len(e.meta)); reason != "" {
		return nil, reason, msg
	}
	for _, a := range e.meta {
		if reason, msg := v.checkAttrKey("structured metadata", a.Key); reason != "" {
			return nil, reason, msg
		}
		if reason, msg := v.checkAttrValue("structured metadata", a.Key, a.Value); reason != "" {
			return nil, reason, msg
		}
	}
	level, text := lokiLevel(streamLevel, e.meta, e.line)
	// The observed time is the entry time, not the clock, so a retry keeps its id.
	return &pb.LogRecord{
		Timestamp: e.ts, ObservedTimestamp: e.ts,
		SeverityText: text, Level: level,
		Body: e.line, Attributes: e.meta,
	}, "", ""
}

// withServiceName adds service_name to pushed labels that lack it, as Loki's
// discover_service_name does, and returns the service name.
func withServiceName(labels []*pb.Label) ([]*pb.Label, string) {
	if v := labelValue(labels, "service_name"); v != "" {
		return labels, v
	}
	svc := unknownService
	for _, n := range serviceNameLabels {
		if v := labelValue(labels, n); v != "" {
			svc = v
			break
		}
	}
	out := make([]*pb.Label, 0, len(labels)+1)
	out = append(out, labels...)
	out = append(out, &pb.Label{Name: "service_name", Value: svc})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, svc
}

func labelValue(labels []*pb.Label, name string) string {
	for _, l := range labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// lokiLevel finds an entry's level the way Loki's level detection does: a level stream
// label, then structured metadata, then a level field in a logfmt or JSON line, then a
// level word in the line. It returns the normalised level and the text it was read from
// (the SeverityText).
func lokiLevel(streamLevel string, meta []*pb.Attr, line string) (level, text string) {
	if streamLevel != "" {
		return severityLevel(0, streamLevel), streamLevel
	}
	if t := findLevelAttr(meta); t != "" {
		return severityLevel(0, t), t
	}
	if t := lineLevelField(line); t != "" {
		if l := severityLevel(0, t); l != "unknown" {
			return l, t
		}
	}
	if t := lineLevelWord(line); t != "" {
		return severityLevel(0, t), t
	}
	return "unknown", ""
}

func findLevelLabel(labels []*pb.Label) string {
	for _, f := range levelFields {
		if v := labelValue(labels, f); v != "" {
			return v
		}
	}
	return ""
}

func findLevelAttr(attrs []*pb.Attr) string {
	if len(attrs) == 0 {
		return ""
	}
	for _, f := range levelFields {
		for _, a := range attrs {
			if a.Key == f && a.Value != "" {
				return a.Value
			}
		}
	}
	return ""
}

// lineLevelField returns the value of the first level field in a logfmt (level=warn,
// level="warn") or JSON ("level": "warn") line, in one pass over the line.
func lineLevelField(line string) string {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '=':
			if levelFieldSet[logfmtKeyBefore(line, i)] {
				return valueAfter(line, i+1)
			}
		case ':':
			if levelFieldSet[jsonKeyBefore(line, i)] {
				j := skipSpaces(line, i+1)
				if j < len(line) && line[j] == '"' {
					return valueAfter(line, j)
				}
			}
		}
	}
	return ""
}

// logfmtKeyBefore returns the logfmt key that ends at line[end], or "".
func logfmtKeyBefore(line string, end int) string {
	start := end
	for start > 0 && logfmtKeyByte(line[start-1]) {
		start--
	}
	if start > 0 && line[start-1] != ' ' && line[start-1] != '\t' {
		return ""
	}
	return line[start:end]
}

func logfmtKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

// jsonKeyBefore returns the quoted key before the colon at line[colon], or "".
func jsonKeyBefore(line string, colon int) string {
	end := colon
	for end > 0 && (line[end-1] == ' ' || line[end-1] == '\t') {
		end--
	}
	if end < 2 || line[end-1] != '"' {
		return ""
	}
	start := strings.LastIndexByte(line[:end-1], '"')
	if start < 0 {
		return ""
	}
	return line[start+1 : end-1]
}

// valueAfter reads a field value at line[i]: quoted up to the closing quote, else up to
// a space or a JSON/logfmt separator.
func valueAfter(line string, i int) string {
	if i < len(line) && line[i] == '"' {
		if end := strings.IndexByte(line[i+1:], '"'); end >= 0 {
			return line[i+1 : i+1+end]
		}
		return ""
	}
	end := i
	for end < len(line) && !strings.ContainsRune(" \t,}\"", rune(line[end])) {
		end++
	}
	return line[i:end]
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// lineLevelWord returns the first level word (ERROR, warn, ...) in a line.
func lineLevelWord(line string) string {
	for i := 0; i < len(line); {
		if !isLetter(line[i]) {
			i++
			continue
		}
		start := i
		for i < len(line) && isLetter(line[i]) {
			i++
		}
		// A word glued to digits or underscores (error_count, err2) is an identifier.
		if (start > 0 && identByte(line[start-1])) || (i < len(line) && identByte(line[i])) {
			continue
		}
		if w := line[start:i]; levelWords[w] {
			return w
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func identByte(c byte) bool { return c >= '0' && c <= '9' || c == '_' }

// shortForMessage cuts client text for an error message, on a rune boundary.
func shortForMessage(s string) string {
	if len(s) <= maxLabelsInMessage {
		return s
	}
	cut := maxLabelsInMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
