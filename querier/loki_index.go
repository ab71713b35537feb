package querier

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
)

// streamSet is a label set with its statistics, merged from storage and memory.
type streamSet struct {
	labels         logql.Labels
	entries, bytes uint64
	buckets        map[int64][2]uint64
}

// streamRequest selects streams for the index endpoints.
type streamRequest struct {
	matchers   []*logql.Matcher
	start, end int64
	stats      bool
	step       int64
}

// selectorMatchers reads a stream selector parameter. "{}" or nothing means every
// stream (Loki's series endpoint allows it); a full query gives its selector.
func selectorMatchers(name, s string) ([]*logql.Matcher, error) {
	if strings.TrimSpace(s) == "" || strings.ReplaceAll(s, " ", "") == "{}" {
		return nil, nil
	}
	e, err := logql.Parse(s)
	if err != nil {
		return nil, err
	}
	lqs := logql.LogQueries(e)
	if len(lqs) == 0 {
		return nil, badRequest("%s %q has no stream selector", name, s)
	}
	return lqs[0].Matchers, nil
}

// streams returns the distinct streams matching the selector in range, from storage
// and memory, with their row counts and bytes when asked.
func (q *Querier) streams(ctx context.Context, tenant string, sr streamRequest) ([]*streamSet, error) {
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	recent, err := q.recentLogs(ctx, tenant, RecentLogQuery{Start: sr.start, End: sr.end, Matchers: sr.matchers})
	if err != nil {
		return nil, fmt.Errorf("read ingesters: %w", err)
	}
	f := clickhouse.LogFilter{Tenant: tenant, Start: sr.start, End: sr.end, Matchers: sr.matchers, ExcludeFlushIDs: recent.ExcludeFlushIDs}
	if sr.stats {
		f.ExcludeIDs = rowIDs(recent.Rows)
	}
	stored, err := store.Streams(ctx, clickhouse.StreamQuery{LogFilter: f, Stats: sr.stats, Step: sr.step})
	if err != nil {
		return nil, err
	}
	byKey := map[string]*streamSet{}
	var out []*streamSet
	add := func(ls logql.Labels, bucket int64, n, bytes uint64) {
		key := ls.String()
		s := byKey[key]
		if s == nil {
			s = &streamSet{labels: ls, buckets: map[int64][2]uint64{}}
			byKey[key] = s
			out = append(out, s)
		}
		s.entries += n
		s.bytes += bytes
		b := s.buckets[bucket]
		s.buckets[bucket] = [2]uint64{b[0] + n, b[1] + bytes}
	}
	for _, st := range stored {
		add(st.Labels, st.Bucket, st.Entries, st.Bytes)
	}
	seen := map[uint64]bool{}
	for _, r := range recent.Rows {
		if !seen[r.ID] {
			seen[r.ID] = true
			b := int64(0)
			if sr.step > 0 {
				b = (r.Entry.Timestamp - sr.start) / sr.step
			}
			add(r.Entry.Stream, b, 1, uint64(len(r.Entry.Line)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return logql.CompareLabels(out[i].labels, out[j].labels) < 0 })
	return out, nil
}

func (q *Querier) indexRange(v url.Values) (start, end int64, err error) {
	return timeRange(v, q.now())
}

func (q *Querier) handleLabels(ctx context.Context, r *lokiRequest) (any, error) {
	sr, err := q.streamRequest(r.form, "query")
	if err != nil {
		return nil, err
	}
	ss, err := q.streams(ctx, r.tenant, sr)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, s := range ss {
		for _, l := range s.labels {
			names = append(names, l.Name)
		}
	}
	slices.Sort(names)
	return success(slices.Compact(names)), nil
}

func (q *Querier) streamRequest(v url.Values, selectorParam string) (streamRequest, error) {
	var sr streamRequest
	var err error
	if sr.start, sr.end, err = q.indexRange(v); err != nil {
		return sr, err
	}
	sr.matchers, err = selectorMatchers(selectorParam, v.Get(selectorParam))
	return sr, err
}

// handleLabelValues answers label/<name>/values. The shard probe (__stream_shard__)
// gets [] so Grafana queries without shard splitting.
func (q *Querier) handleLabelValues(ctx context.Context, r *lokiRequest) (any, error) {
	name := r.param("name")
	values := []string{}
	if name == "__stream_shard__" {
		return success(values), nil
	}
	sr, err := q.streamRequest(r.form, "query")
	if err != nil {
		return nil, err
	}
	ss, err := q.streams(ctx, r.tenant, sr)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if v := s.labels.Get(name); v != "" {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	return success(slices.Compact(values)), nil
}

// handleSeries answers series with the union of match[] and match (logcli's name).
func (q *Querier) handleSeries(ctx context.Context, r *lokiRequest) (any, error) {
	start, end, err := q.indexRange(r.form)
	if err != nil {
		return nil, err
	}
	selectors := append(append([]string{}, r.form["match[]"]...), r.form["match"]...)
	if len(selectors) == 0 {
		selectors = []string{"{}"}
	}
	seen := map[string]bool{}
	data := []map[string]string{}
	for _, sel := range selectors {
		ms, err := selectorMatchers("match[]", sel)
		if err != nil {
			return nil, err
		}
		ss, err := q.streams(ctx, r.tenant, streamRequest{matchers: ms, start: start, end: end})
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if key := s.labels.String(); !seen[key] {
				seen[key] = true
				data = append(data, s.labels.Map())
			}
		}
	}
	if max := q.cfg.MaxSeries; max > 0 && len(data) > max {
		return nil, badRequest("maximum of series (%d) reached for a single query; add label matchers or raise -querier.max-query-series", max)
	}
	return success(data), nil
}

// handleIndexStats answers index/stats, without an envelope. Strata has no chunks;
// it reports one per stream so the numbers stay plausible.
func (q *Querier) handleIndexStats(ctx context.Context, r *lokiRequest) (any, error) {
	sr, err := q.streamRequest(r.form, "query")
	if err != nil {
		return nil, err
	}
	sr.stats = true
	ss, err := q.streams(ctx, r.tenant, sr)
	if err != nil {
		return nil, err
	}
	var entries, bytes uint64
	for _, s := range ss {
		entries += s.entries
		bytes += s.bytes
	}
	return map[string]uint64{"streams": uint64(len(ss)), "chunks": uint64(len(ss)), "entries": entries, "bytes": bytes}, nil
}

// volumeRequest is an index/volume(_range) request.
type volumeRequest struct {
	streamRequest
	limit    int
	targets  []string
	byLabels bool
}

func (q *Querier) parseVolume(v url.Values, withStep bool) (volumeRequest, error) {
	var vr volumeRequest
	var err error
	if v.Get("query") == "" {
		return vr, badRequest("query parameter is required")
	}
	if vr.streamRequest, err = q.streamRequest(v, "query"); err != nil {
		return vr, err
	}
	vr.stats = true
	if vr.limit, err = parseLimit(v, "limit", 100); err != nil {
		return vr, err
	}
	for _, t := range strings.Split(v.Get("targetLabels"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			vr.targets = append(vr.targets, t)
		}
	}
	switch v.Get("aggregateBy") {
	case "", "series":
	case "labels":
		vr.byLabels = true
	default:
		return vr, badRequest("invalid aggregateBy %q: want series or labels", v.Get("aggregateBy"))
	}
	if withStep {
		step, err := parseStep(v, vr.start, vr.end)
		if err != nil {
			return vr, err
		}
		vr.step = int64(step)
	}
	return vr, nil
}

// volumeSeries is one result series of a volume request.
type volumeSeries struct {
	labels  logql.Labels
	total   uint64
	buckets map[int64]uint64
}

// volumes groups stream bytes like Loki: by the target labels (default: the names in
// the selector), or with aggregateBy=labels one series per label name. Series are
// sorted by bytes, largest first, and cut at limit.
func volumes(vr volumeRequest, ss []*streamSet) []*volumeSeries {
	targets := vr.targets
	if len(targets) == 0 {
		for _, m := range vr.matchers {
			if !slices.Contains(targets, m.Name) {
				targets = append(targets, m.Name)
			}
		}
	}
	byKey := map[string]*volumeSeries{}
	var out []*volumeSeries
	add := func(ls logql.Labels, s *streamSet) {
		key := ls.String()
		vs := byKey[key]
		if vs == nil {
			vs = &volumeSeries{labels: ls, buckets: map[int64]uint64{}}
			byKey[key] = vs
			out = append(out, vs)
		}
		vs.total += s.bytes
		for b, c := range s.buckets {
			vs.buckets[b] += c[1]
		}
	}
	for _, s := range ss {
		if vr.byLabels {
			for _, l := range s.labels {
				if len(vr.targets) == 0 || slices.Contains(vr.targets, l.Name) {
					add(logql.Labels{{Name: l.Name}}, s)
				}
			}
			continue
		}
		var kv []string
		for _, t := range targets {
			if v := s.labels.Get(t); v != "" {
				kv = append(kv, t, v)
			}
		}
		add(logql.FromStrings(kv...), s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].total != out[j].total {
			return out[i].total > out[j].total
		}
		return logql.CompareLabels(out[i].labels, out[j].labels) < 0
	})
	return out[:min(len(out), vr.limit)]
}

func (q *Querier) handleVolume(ctx context.Context, r *lokiRequest) (any, error) {
	vr, err := q.parseVolume(r.form, false)
	if err != nil {
		return nil, err
	}
	ss, err := q.streams(ctx, r.tenant, vr.streamRequest)
	if err != nil {
		return nil, err
	}
	w := &jsonw{}
	w.raw(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i, vs := range volumes(vr, ss) {
		if i > 0 {
			w.byte(',')
		}
		w.raw(`{"metric":`)
		w.labels(vs.labels)
		w.raw(`,"value":[`)
		w.promTime(vr.end)
		w.raw(`,"`)
		w.raw(strconv.FormatUint(vs.total, 10))
		w.raw(`"]}`)
	}
	w.raw(`],"stats":{}}}`)
	return w.b, nil
}

func (q *Querier) handleVolumeRange(ctx context.Context, r *lokiRequest) (any, error) {
	vr, err := q.parseVolume(r.form, true)
	if err != nil {
		return nil, err
	}
	ss, err := q.streams(ctx, r.tenant, vr.streamRequest)
	if err != nil {
		return nil, err
	}
	w := &jsonw{}
	w.raw(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i, vs := range volumes(vr, ss) {
		if i > 0 {
			w.byte(',')
		}
		w.raw(`{"metric":`)
		w.labels(vs.labels)
		w.raw(`,"values":[`)
		buckets := make([]int64, 0, len(vs.buckets))
		for b := range vs.buckets {
			buckets = append(buckets, b)
		}
		slices.Sort(buckets)
		for j, b := range buckets {
			if j > 0 {
				w.byte(',')
			}
			w.byte('[')
			w.promTime(vr.start + b*vr.step)
			w.raw(`,"`)
			w.raw(strconv.FormatUint(vs.buckets[b], 10))
			w.raw(`"]`)
		}
		w.raw(`]}`)
	}
	w.raw(`],"stats":{}}}`)
	return w.b, nil
}

// handleDetectedLabels answers detected_labels: each stream label with its number of
// distinct values.
func (q *Querier) handleDetectedLabels(ctx context.Context, r *lokiRequest) (any, error) {
	sr, err := q.streamRequest(r.form, "query")
	if err != nil {
		return nil, err
	}
	ss, err := q.streams(ctx, r.tenant, sr)
	if err != nil {
		return nil, err
	}
	values := map[string]map[string]bool{}
	for _, s := range ss {
		for _, l := range s.labels {
			if values[l.Name] == nil {
				values[l.Name] = map[string]bool{}
			}
			values[l.Name][l.Value] = true
		}
	}
	type detected struct {
		Label       string `json:"label"`
		Cardinality int    `json:"cardinality"`
	}
	out := []detected{}
	for name, vs := range values {
		out = append(out, detected{name, len(vs)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return map[string]any{"detectedLabels": out}, nil
}
