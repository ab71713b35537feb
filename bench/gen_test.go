package bench

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// TestTemplateFill: a filled template decodes to the configured number of records, each
// stamped with its own timestamp, and the wire size is in the realistic range.
func TestTemplateFill(t *testing.T) {
	cfg := DefaultGenConfig()
	g := NewGenerator(cfg)
	tpl, err := g.Template()
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UnixNano()
	ld, err := tpl.Logs(base, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if ld.LogRecordCount() != cfg.BatchRecords || ld.ResourceLogs().Len() != cfg.ResourcesPerBatch {
		t.Fatalf("%d records in %d resources, want %d in %d", ld.LogRecordCount(), ld.ResourceLogs().Len(), cfg.BatchRecords, cfg.ResourcesPerBatch)
	}
	seen := map[int64]bool{}
	i := int64(0)
	forEach(ld, func(lr plog.LogRecord) {
		want := base + (5000+i)*int64(RecordSpacing)
		if got := int64(lr.Timestamp()); got != want {
			t.Fatalf("record %d: timestamp %d, want %d", i, got, want)
		}
		if got := int64(lr.ObservedTimestamp()); got != want+int64(3*time.Millisecond) {
			t.Fatalf("record %d: observed %d, want %d", i, got, want+int64(3*time.Millisecond))
		}
		seen[want] = true
		i++
	})
	if per := tpl.WireBytes() / tpl.Records(); per < 230 || per > 310 {
		t.Errorf("%d wire bytes per record, want about 270", per)
	}
	t.Logf("%d records, %d wire bytes, %.1f bytes/record", tpl.Records(), tpl.WireBytes(), float64(tpl.WireBytes())/float64(tpl.Records()))
}

func forEach(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
				f(sls.At(j).LogRecords().At(k))
			}
		}
	}
}

// BenchmarkTemplateFill is the sender's per-request cost: copy and stamp one template.
func BenchmarkTemplateFill(b *testing.B) {
	tpl, err := NewGenerator(DefaultGenConfig()).Template()
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.SetBytes(int64(tpl.WireBytes()))
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		buf = tpl.Fill(buf, 0, n)
		n += int64(tpl.Records())
	}
	if len(buf) != tpl.WireBytes() {
		b.Fatalf("filled %d bytes, want %d", len(buf), tpl.WireBytes())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}
