package ingester

import (
	"testing"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

func TestFlushWorkChunks(t *testing.T) {
	w := &flushWork{}
	for k := 0; k < 60000; k++ {
		w.logView = append(w.logView, logEntry{rec: &pb.LogRecord{Timestamp: int64(1000 + k)}})
		w.logIdx = append(w.logIdx, int32(k))
	}
	for k := 0; k < 10000; k++ {
		w.spanView = append(w.spanView, spanEntry{span: &pb.Span{Start: int64(500 + k)}})
		w.spanIdx = append(w.spanIdx, int32(k))
	}
	cs := w.chunks(25000)
	if len(cs) != 3 {
		t.Fatalf("%d chunks, want 3", len(cs))
	}
	want := []struct{ logs, spans, min, max int }{{25000, 0, 1000, 25999}, {25000, 0, 26000, 50999}, {10000, 10000, 500, 60999}}
	for k, c := range cs {
		if len(c.logIdx) != want[k].logs || len(c.spanIdx) != want[k].spans || c.minTS != int64(want[k].min) || c.maxTS != int64(want[k].max) {
			t.Errorf("chunk %d: %d logs, %d spans, ts [%d, %d]; want %+v", k, len(c.logIdx), len(c.spanIdx), c.minTS, c.maxTS, want[k])
		}
	}
	// Chunks must not share backing arrays beyond their length: build appends nothing to
	// them, but a capped slice keeps it that way.
	if cap(cs[0].logIdx) != 25000 {
		t.Errorf("chunk capacity %d, want 25000", cap(cs[0].logIdx))
	}
	if one := (&flushWork{logIdx: []int32{0}}).chunks(25000); len(one) != 1 {
		t.Errorf("small work split into %d", len(one))
	}
}
