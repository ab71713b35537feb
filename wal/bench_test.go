package wal

import (
	"fmt"
	"syscall"
	"testing"
)

// processCPU is the CPU time this process has used, user and kernel, in ns.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkAppend measures one record per Append call. The parallel cases
// run 8 goroutines per CPU, like concurrent pushes, and report how many
// Append calls each group commit served. Segments are truncated as they
// fill, as an ingester's are after flushes, and their files deleted
// (recycle=0) or kept for new segments (recycle=2, the default); the CPU
// the process spent per record, kernel included, is cpu-ns/op.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []SyncMode{SyncAlways, SyncNone} {
		for _, size := range []int{256, 64 << 10} {
			for _, recycle := range []int{0, DefaultRecycleSegments} {
				name := fmt.Sprintf("sync=%s/size=%d/recycle=%d", mode, size, recycle)
				cfg := Config{SyncMode: mode, SegmentSize: 8 << 20, RecycleSegments: recycle}
				b.Run(name+"/sequential", func(b *testing.B) { benchAppend(b, cfg, size, false) })
				b.Run(name+"/parallel", func(b *testing.B) { benchAppend(b, cfg, size, true) })
			}
		}
	}
}

func benchAppend(b *testing.B, cfg Config, size int, parallel bool) {
	cfg.Dir = b.TempDir()
	w, _, _ := openReplayed(b, cfg)
	payload := makePayload("bench", size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := processCPU(b)
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
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
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
