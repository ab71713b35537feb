package distributor

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	lokipb "github.com/strataobs/strata/proto/loki/v1"
)

// pushText renders a decoded push compactly for comparisons:
// labels|labelErr: ts line {meta}; ...
func pushText(p *lokiPush) string {
	var sb strings.Builder
	for i, s := range p.streams {
		if i > 0 {
			sb.WriteString(" / ")
		}
		sb.WriteString(labelsText(s.labels))
		if s.labelErr != nil {
			sb.WriteString("!" + s.labelErr.Error())
		}
		sb.WriteString(":")
		for _, e := range s.entries {
			fmt.Fprintf(&sb, " %d %q", e.ts, e.line)
			for _, a := range e.meta {
				fmt.Fprintf(&sb, " %s=%s", a.Key, a.Value)
			}
			sb.WriteString(";")
		}
	}
	return sb.String()
}

func TestDecodeLokiJSON(t *testing.T) {
	cases := []struct {
		name, body, want, err string
	}{
		{name: "values", body: `{"streams":[{"stream":{"job":"api","env":"prod"},"values":[["1700000000000000001","hello"],["1700000000000000002","bye",{"user":"bob","trace_id":"abc"}]]}]}`,
			want: `env=prod,job=api: 1700000000000000001 "hello"; 1700000000000000002 "bye" trace_id=abc user=bob;`},
		{name: "two streams", body: `{"streams":[{"stream":{"a":"1"},"values":[["5","x"]]},{"stream":{"a":"2"},"values":[]}]}`,
			want: `a=1: 5 "x"; / a=2:`},
		{name: "empty", body: `{"streams":[]}`, want: ``},
		{name: "no streams key", body: `{}`, want: ``},
		{name: "unknown fields ignored", body: `{"streams":[{"stream":{"a":"1"},"values":[["5","x"]],"extra":1}],"x":true}`, want: `a=1: 5 "x";`},
		{name: "legacy labels and entries", body: `{"streams":[{"labels":"{a=\"1\"}","entries":[{"ts":"2024-01-02T03:04:05.123456789Z","line":"old"}]}]}`,
			want: fmt.Sprintf(`a=1: %d "old";`, time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC).UnixNano())},
		{name: "bad label name is per stream", body: `{"streams":[{"stream":{"a.b":"1"},"values":[["5","x"]]}]}`,
			want: `!invalid stream label name "a.b": names must match [a-zA-Z_][a-zA-Z0-9_]*: 5 "x";`},
		{name: "bad legacy label string is per stream", body: `{"streams":[{"labels":"{a=1}","entries":[]}]}`,
			want: `!invalid stream labels "{a=1}": at offset 3: label a: expected a quoted label value, found '1':`},
		{name: "no labels", body: `{"streams":[{"values":[["5","x"]]}]}`, want: `!at least one label pair is required per stream: 5 "x";`},

		{name: "truncated", body: `{"streams":[`, err: "malformed Loki push JSON: unexpected end of JSON input"},
		{name: "not an object", body: `[1]`, err: "malformed Loki push JSON: json: cannot unmarshal array"},
		{name: "label value not a string", body: `{"streams":[{"stream":{"a":1}}]}`, err: "malformed Loki push JSON: json: cannot unmarshal number into Go struct field jsonStream.streams.stream of type string"},
		{name: "numeric timestamp", body: `{"streams":[{"stream":{"a":"1"},"values":[[5,"x"]]}]}`, err: "streams[0].values[0][0]: timestamp must be a string of unix nanoseconds, got \"5\""},
		{name: "timestamp not a number", body: `{"streams":[{"stream":{"a":"1"},"values":[["ok","x"]]}]}`, err: `streams[0].values[0][0]: timestamp "ok" is not unix nanoseconds`},
		{name: "one element", body: `{"streams":[{"stream":{"a":"1"},"values":[["5"]]}]}`, err: `streams[0].values[0]: want ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {structured metadata}], got 1 elements`},
		{name: "four elements", body: `{"streams":[{"stream":{"a":"1"},"values":[["5","x",{},1]]}]}`, err: `got 4 elements`},
		{name: "line not a string", body: `{"streams":[{"stream":{"a":"1"}},{"stream":{"a":"1"},"values":[["5",{"x":1}]]}]}`, err: `streams[1].values[0][1]: log line must be a string`},
		{name: "metadata value not a string", body: `{"streams":[{"stream":{"a":"1"},"values":[["5","x",{"n":1}]]}]}`, err: `streams[0].values[0][2]: structured metadata must be an object of string values`},
		{name: "trailing garbage", body: `{"streams":[]} x`, err: "malformed Loki push JSON: invalid character 'x' after top-level value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeLokiJSON([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || asError(err).HTTPStatus != http.StatusBadRequest {
					t.Fatalf("error = %v, want a 400 containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pushText(p); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func snappyProto(t testing.TB, req *lokipb.PushRequest) []byte {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func TestDecodeLokiProto(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	entry := func(line string, meta ...string) *lokipb.EntryAdapter {
		e := &lokipb.EntryAdapter{Timestamp: timestamppb.New(ts), Line: line}
		for i := 0; i+1 < len(meta); i += 2 {
			e.StructuredMetadata = append(e.StructuredMetadata, &lokipb.LabelPairAdapter{Name: meta[i], Value: meta[i+1]})
		}
		return e
	}
	tsn := ts.UnixNano()
	uncompressed, err := proto.Marshal(&lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"}`}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want, err string
		req             *lokipb.PushRequest
		body            []byte
		limit           int
	}{
		{name: "entries and metadata", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{job="api", env="prod"}`, Entries: []*lokipb.EntryAdapter{entry("a"), entry("b", "z", "1", "k", "2")}}}},
			want: fmt.Sprintf(`env=prod,job=api: %d "a"; %d "b" k=2 z=1;`, tsn, tsn)},
		{name: "repeated metadata key keeps the last", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"}`, Entries: []*lokipb.EntryAdapter{entry("x", "k", "1", "k", "2")}}}},
			want: fmt.Sprintf(`a=1: %d "x" k=2;`, tsn)},
		{name: "bad labels are per stream", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"`, Entries: []*lokipb.EntryAdapter{entry("x")}}, {Labels: `{b="2"}`}}},
			want: fmt.Sprintf(`!invalid stream labels "{a=\"1\"": at offset 6: expected ',' or '}', found end of input: %d "x"; / b=2:`, tsn)},
		{name: "invalid UTF-8 line is kept for the validator", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"}`, Entries: []*lokipb.EntryAdapter{entry("\xff")}}}},
			want: fmt.Sprintf(`a=1: %d "\xff";`, tsn)},
		{name: "missing timestamp is 1970", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"}`, Entries: []*lokipb.EntryAdapter{{Line: "x"}}}}},
			want: `a=1: 0 "x";`},
		{name: "year 9999 saturates", req: &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{a="1"}`, Entries: []*lokipb.EntryAdapter{{Timestamp: &timestamppb.Timestamp{Seconds: 253402300799}, Line: "x"}}}}},
			want: fmt.Sprintf(`a=1: %d "x";`, int64(math.MaxInt64))},

		{name: "not snappy", body: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, err: "malformed Loki push protobuf: body is not snappy block-compressed"},
		{name: "snappy of garbage", body: snappy.Encode(nil, []byte{0xff, 0xff, 0x01}), err: "malformed Loki push protobuf: "},
		{name: "uncompressed protobuf", body: uncompressed, err: "malformed Loki push protobuf"},
		{name: "decompresses past the limit", body: snappy.Encode(nil, make([]byte, 2000)), limit: 1000, err: "max_recv_msg_size=1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, limit := tc.body, tc.limit
			if tc.req != nil {
				body = snappyProto(t, tc.req)
			}
			if limit == 0 {
				limit = 1 << 20
			}
			p, err := decodeLokiProto(body, limit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pushText(p); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDecodeLokiProtoOversizeIs413(t *testing.T) {
	_, err := decodeLokiProto(snappy.Encode(nil, make([]byte, 2000)), 1000)
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != http.StatusRequestEntityTooLarge {
		t.Fatalf("error = %v, want 413", err)
	}
}

// FuzzDecodeLoki: neither decoder panics on any body, and whatever decodes converts
// without panicking, every entry either accepted or rejected.
func FuzzDecodeLoki(f *testing.F) {
	f.Add(true, []byte(`{"streams":[{"stream":{"job":"api"},"values":[["1700000000000000000","level=warn x",{"k":"v"}]]}]}`))
	f.Add(true, []byte(`{"streams":[{"labels":"{a=\"1\"}","entries":[{"ts":"2024-01-02T03:04:05Z","line":"x"}]}]}`))
	f.Add(true, []byte(`{"streams":[{"stream":{},"values":[["1","x"]]}]}`))
	f.Add(false, snappyProto(f, &lokipb.PushRequest{Streams: []*lokipb.StreamAdapter{{Labels: `{job="api"}`, Entries: []*lokipb.EntryAdapter{
		{Timestamp: timestamppb.Now(), Line: `{"level":"error"}`, StructuredMetadata: []*lokipb.LabelPairAdapter{{Name: "level", Value: "info"}}}}}}}))
	f.Add(false, []byte{0})
	v := testValidator()
	f.Fuzz(func(t *testing.T, isJSON bool, body []byte) {
		var p *lokiPush
		var err error
		if isJSON {
			p, err = decodeLokiJSON(body)
		} else {
			p, err = decodeLokiProto(body, 1<<20)
		}
		if err != nil {
			if s := asError(err).HTTPStatus; s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge {
				t.Fatalf("decode error %v has status %d, want 400 or 413", err, s)
			}
			return
		}
		c := convertLoki("t", v, p)
		if c.accepted+len(c.rejected) != p.entryCount() {
			t.Fatalf("accepted %d + rejected %d != %d entries", c.accepted, len(c.rejected), p.entryCount())
		}
	})
}
