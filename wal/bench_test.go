package wal

import (
	"fmt"
	"testing"
)

// BenchmarkAppend measures one record per Append call. The parallel cases
// run 8 goroutines per CPU, like concurrent pushes, and report how many
// Append calls each group commit served.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []SyncMode{SyncAlways, SyncNone} {
		for _, size := range []int{256, 64 << 10} {
			name := fmt.Sprintf("sync=%s/size=%d", mode, size)
			b.Run(name+"/sequential", func(b *testing.B) { benchAppend(b, mode, size, false) })
			b.Run(name+"/parallel", func(b *testing.B) { benchAppend(b, mode, size, true) })
		}
	}
}

func benchAppend(b *testing.B, mode SyncMode, size int, parallel bool) {
	w, _, _ := openReplayed(b, Config{Dir: b.TempDir(), SyncMode: mode})
	payload := makePayload("bench", size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				appendTrimmed(b, w, payload)
			}
		})
	} else {
		for b.Loop() {
			appendTrimmed(b, w, payload)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/float64(w.flushes.Load()), "appends/flush")
}

// appendTrimmed appends and, when a segment fills, deletes the older ones
// so that long runs do not fill the disk, as an ingester does after flushes.
func appendTrimmed(b *testing.B, w *WAL, payload []byte) {
	seg, err := w.Append(payload)
	if err != nil || seg < 1 {
		b.Fatalf("Append = %d, %v", seg, err)
	}
	if first, _ := w.Segments(); seg > first+1 {
		if err := w.Truncate(seg); err != nil {
			b.Fatalf("Truncate: %v", err)
		}
	}
}
