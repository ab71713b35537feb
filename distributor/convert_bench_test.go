package distributor

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/protobuf/proto"

	"github.com/strataobs/strata/bench"
)

// BenchmarkConvertLogs is the distributor's per-request CPU on the OTLP hot path, for one
// request of the load harness's realistic records (~270 wire bytes each):
//
//	convert          convertLogs alone: validation, attribute flattening, stream and record ids
//	convert-reused   the same with one validator reset between requests, as the
//	                 distributor reuses them (Distributor.recycle)
//	decode+convert   plus decoding the OTLP protobuf, as the gRPC receiver does
//	+push-marshal    plus encoding the ingester PushRequest (RF=1: one request, for an
//	                 ingester in the same process)
//	+located-reused  the same as an all-in-one process runs it: a reused validator, and
//	                 the request written into the memory of an earlier one
//	push-rf3/*       encoding the requests of 3 replicas: each built as objects and
//	                 marshalled whole by proto.Marshal, or by pushEncoder (each stream
//	                 encoded once, joined per replica)
func BenchmarkConvertLogs(b *testing.B) {
	tpl, err := bench.NewGenerator(bench.DefaultGenConfig()).Template()
	if err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-time.Minute).UnixNano()
	wire := tpl.Fill(nil, base, 0)
	n := tpl.Records()
	decode := func(b *testing.B) plogotlp.ExportRequest {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(wire); err != nil {
			b.Fatal(err)
		}
		return req
	}
	convert := func(b *testing.B, req plogotlp.ExportRequest) *converted {
		c := convertLogs("bench", testValidator(), req.Logs())
		if c.accepted != n || len(c.rejected) != 0 {
			b.Fatalf("accepted %d, rejected %d of %d", c.accepted, len(c.rejected), n)
		}
		return c
	}
	run := func(name string, body func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				body(b)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
	req := decode(b)
	run("convert", func(b *testing.B) { convert(b, req) })
	v := testValidator()
	run("convert-reused", func(b *testing.B) {
		v.reset(v.lim, v.nowNanos)
		if c := convertLogs("bench", v, req.Logs()); c.accepted != n {
			b.Fatalf("accepted %d of %d", c.accepted, n)
		}
	})
	run("decode+convert", func(b *testing.B) { convert(b, decode(b)) })
	// An encoder of c's streams, all for one ingester.
	local := func(b *testing.B, c *converted) (*pushEncoder, [][]string, []int) {
		idx := make([]int, len(c.streams))
		sets := make([][]string, len(c.streams))
		for i := range idx {
			idx[i], sets[i] = i, []string{"ingester-1:9095"}
		}
		enc, err := newPushEncoder("bench", c)
		if err != nil {
			b.Fatal(err)
		}
		return enc, sets, idx
	}
	run("decode+convert+push-marshal", func(b *testing.B) {
		enc, sets, idx := local(b, convert(b, decode(b)))
		out, err := enc.direct(sets, "ingester-1:9095", idx)
		if err != nil || len(out) == 0 {
			b.Fatalf("marshal push: %d bytes, %v", len(out), err)
		}
	})
	// As an all-in-one process runs: a reused validator, and the request for the ingester
	// in the process written into the memory of an earlier one.
	var held []byte
	run("decode+convert+located-reused", func(b *testing.B) {
		v.reset(v.lim, v.nowNanos)
		enc, sets, idx := local(b, convertLogs("bench", v, decode(b).Logs()))
		lp, ok, err := enc.located(sets, "ingester-1:9095", idx, func(int) []byte { return held })
		if !ok || err != nil {
			b.Fatalf("located: %v, %v", ok, err)
		}
		held = lp.Raw
	})
	c := convert(b, req)
	addrs := []string{"ingester-1:9095", "ingester-2:9095", "ingester-3:9095"}
	idx := make([]int, len(c.streams))
	sets := make([][]string, len(c.streams))
	for i := range idx {
		idx[i], sets[i] = i, addrs
	}
	run("push-rf3/marshal-each", func(b *testing.B) {
		for _, a := range addrs {
			if _, err := proto.Marshal(buildRequest("bench", c, sets, a, idx)); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("push-rf3/encoder", func(b *testing.B) {
		enc, err := newPushEncoder("bench", c)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range addrs {
			if _, err := enc.request(nil, sets, a, idx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As the distributor sends: each request built into the buffer of a sent one.
	bufs := make(requestBuffers, len(addrs))
	run("push-rf3/encoder-reused", func(b *testing.B) {
		enc, err := newPushEncoder("bench", c)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range addrs {
			raw, err := enc.request(bufs.get(), sets, a, idx)
			if err != nil {
				b.Fatal(err)
			}
			bufs.put(raw)
		}
	})
}
