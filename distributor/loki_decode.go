package distributor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lokipb "github.com/strataobs/strata/proto/loki/v1"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// lokiPush is a decoded Loki push request, the same whether it came as JSON or protobuf.
type lokiPush struct {
	streams []lokiStream
}

// lokiStream is one pushed stream. A stream whose labels do not parse keeps labelErr and
// its entries, so that they are counted as rejected while the other streams are stored.
type lokiStream struct {
	labels   []*pb.Label // sorted by name, no empty values
	labelErr error
	entries  []lokiEntry
}

type lokiEntry struct {
	ts   int64 // unix ns
	line string
	meta []*pb.Attr // structured metadata, sorted by key, unique keys
}

func (p *lokiPush) entryCount() int {
	n := 0
	for _, s := range p.streams {
		n += len(s.entries)
	}
	return n
}

// decodeLokiProto decodes a snappy block-compressed logproto.PushRequest, as Promtail and
// Alloy send it. The decompressed size is checked against limit before decompressing.
func decodeLokiProto(body []byte, limit int) (*lokiPush, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, newInvalidError("malformed Loki push protobuf: body is not snappy block-compressed: " + err.Error())
	}
	if n > limit {
		return nil, tooLargeError(int64(limit))
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, newInvalidError("malformed Loki push protobuf: body is not snappy block-compressed: " + err.Error())
	}
	var req lokipb.PushRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return nil, newInvalidError("malformed Loki push protobuf: " + err.Error())
	}
	p := &lokiPush{streams: make([]lokiStream, 0, len(req.Streams))}
	for _, s := range req.Streams {
		ls := lokiStream{entries: make([]lokiEntry, 0, len(s.Entries))}
		ls.labels, ls.labelErr = parseLabels(s.Labels)
		for _, e := range s.Entries {
			ls.entries = append(ls.entries, lokiEntry{ts: timestampNanos(e.Timestamp), line: e.Line, meta: metadataFromPairs(e.StructuredMetadata)})
		}
		p.streams = append(p.streams, ls)
	}
	return p, nil
}

// timestampNanos converts a protobuf timestamp to unix ns, saturating: a time outside
// int64 nanoseconds (years 1678-2262) is far outside any tenant's accepted window, and
// the validator rejects it by name.
func timestampNanos(ts *timestamppb.Timestamp) int64 {
	// The margin keeps s*1e9 plus any int32 nanos inside int64.
	const maxSec, minSec = math.MaxInt64/1_000_000_000 - 3, math.MinInt64/1_000_000_000 + 3
	s, n := ts.GetSeconds(), int64(ts.GetNanos())
	switch {
	case s > maxSec:
		return math.MaxInt64
	case s < minSec:
		return math.MinInt64
	}
	return s*1_000_000_000 + n
}

// metadataFromPairs sorts structured metadata by key; of repeated keys the last wins.
func metadataFromPairs(pairs []*lokipb.LabelPairAdapter) []*pb.Attr {
	if len(pairs) == 0 {
		return nil
	}
	out := make([]*pb.Attr, len(pairs))
	for i, lp := range pairs {
		out[i] = &pb.Attr{Key: lp.Name, Value: lp.Value}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	uniq := out[:0]
	for i, a := range out {
		if i+1 < len(out) && out[i+1].Key == a.Key {
			continue
		}
		uniq = append(uniq, a)
	}
	return uniq
}

// jsonPush is Loki's JSON push body. Streams come in the v1 shape
// {"stream": {labels}, "values": [["<unix ns>", "<line>", {metadata}?], ...]} or, as older
// clients of /api/prom/push send them, {"labels": "{a=\"b\"}", "entries": [{"ts": "<RFC3339>", "line": "..."}]}.
type jsonPush struct {
	Streams []jsonStream `json:"streams"`
}

type jsonStream struct {
	Stream  map[string]string   `json:"stream"`
	Values  [][]json.RawMessage `json:"values"`
	Labels  *string             `json:"labels"`
	Entries []jsonLegacyEntry   `json:"entries"`
}

type jsonLegacyEntry struct {
	TS   time.Time `json:"ts"`
	Line string    `json:"line"`
}

// decodeLokiJSON decodes a JSON push body; errors name the offending element's path.
func decodeLokiJSON(body []byte) (*lokiPush, error) {
	var req jsonPush
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, newInvalidError("malformed Loki push JSON: " + err.Error())
	}
	p := &lokiPush{streams: make([]lokiStream, 0, len(req.Streams))}
	for i, s := range req.Streams {
		ls, err := jsonStreamEntries(s)
		if err != nil {
			return nil, newInvalidError(fmt.Sprintf("malformed Loki push JSON: streams[%d]%s", i, err))
		}
		p.streams = append(p.streams, ls)
	}
	return p, nil
}

var errNoLabels = errors.New("at least one label pair is required per stream")

func jsonStreamEntries(s jsonStream) (lokiStream, error) {
	var ls lokiStream
	switch {
	case s.Stream != nil:
		ls.labels, ls.labelErr = labelsFromMap(s.Stream)
	case s.Labels != nil:
		ls.labels, ls.labelErr = parseLabels(*s.Labels)
	default:
		ls.labelErr = errNoLabels
	}
	ls.entries = make([]lokiEntry, 0, len(s.Values)+len(s.Entries))
	for j, v := range s.Values {
		e, err := jsonValue(v)
		if err != nil {
			return ls, fmt.Errorf(".values[%d]%s", j, err)
		}
		ls.entries = append(ls.entries, e)
	}
	for _, e := range s.Entries {
		ls.entries = append(ls.entries, lokiEntry{ts: timestampNanos(timestamppb.New(e.TS)), line: e.Line})
	}
	return ls, nil
}

// jsonValue decodes ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {"key": "value"}].
func jsonValue(v []json.RawMessage) (lokiEntry, error) {
	var e lokiEntry
	if len(v) != 2 && len(v) != 3 {
		return e, fmt.Errorf(`: want ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {structured metadata}], got %d elements`, len(v))
	}
	var ts string
	if err := json.Unmarshal(v[0], &ts); err != nil {
		return e, fmt.Errorf("[0]: timestamp must be a string of unix nanoseconds, got %s", quoteForMessage(string(v[0])))
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return e, fmt.Errorf("[0]: timestamp %s is not unix nanoseconds", quoteForMessage(ts))
	}
	e.ts = n
	if err := json.Unmarshal(v[1], &e.line); err != nil {
		return e, fmt.Errorf("[1]: log line must be a string, got %s", quoteForMessage(string(v[1])))
	}
	if len(v) == 3 {
		var meta map[string]string
		if err := json.Unmarshal(v[2], &meta); err != nil {
			return e, fmt.Errorf("[2]: structured metadata must be an object of string values: %v", err)
		}
		e.meta = metadataFromMap(meta)
	}
	return e, nil
}

func metadataFromMap(m map[string]string) []*pb.Attr {
	if len(m) == 0 {
		return nil
	}
	out := make([]*pb.Attr, 0, len(m))
	for k, v := range m {
		out = append(out, &pb.Attr{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
