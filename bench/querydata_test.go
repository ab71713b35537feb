package bench

import (
	"testing"

	"github.com/strataobs/strata/storage/clickhouse"
)

func TestQueryDataNeedles(t *testing.T) {
	d := DefaultQueryData(100000, 1000)
	g := d.NewLogGen()
	total, needles := 0, 0
	for from := 0; from < d.Lines; from += 30000 {
		b := &clickhouse.LogBatch{}
		needles += g.Fill(b, from, from+30000, 1)
		total += b.Len()
	}
	if total != d.Lines || needles != d.NeedleLines {
		t.Fatalf("filled %d lines with %d needles, want %d and %d", total, needles, d.Lines, d.NeedleLines)
	}
	sf := d.NewSpanFiller()
	b := &clickhouse.SpanBatch{}
	if n := sf.Fill(b, 5000, 1); n != d.Spans || !sf.Done() {
		t.Fatalf("filled %d spans, want %d", n, d.Spans)
	}
}

func BenchmarkLogFiller(b *testing.B) {
	d := DefaultQueryData(b.N, 0)
	g := d.NewLogGen()
	b.ReportAllocs()
	for from := 0; from < b.N; from += 10000 {
		g.Fill(&clickhouse.LogBatch{}, from, from+10000, 1)
	}
}
