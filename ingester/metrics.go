package ingester

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	records       prometheus.Counter
	duplicates    prometheus.Counter
	released      prometheus.Counter
	promoted      prometheus.Counter
	replayed      prometheus.Counter
	refused       *prometheus.CounterVec
	pushWait      prometheus.Histogram
	walErrors     prometheus.Counter
	flushed       *prometheus.CounterVec
	flushErrors   prometheus.Counter
	releaseErrors prometheus.Counter
	flushDur      prometheus.Histogram
	batchSize     prometheus.Histogram
	epochs        prometheus.Counter
	memBytes      prometheus.Gauge

	fallbackAlreadyStored prometheus.Counter
	walBytes              prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		records:    f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_received_records_total", Help: "Records stored in memory and WAL (duplicates excluded)."}),
		duplicates: f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_duplicate_records_total", Help: "Records dropped because a record with the same id is already held."}),
		promoted:   f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_promoted_records_total", Help: "Records this replica was told to flush without waiting, because their owner refused them."}),
		released:   f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_released_records_total", Help: "Records dropped because another replica flushed them."}),
		replayed:   f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_wal_replayed_records_total", Help: "Records restored from the WAL at start-up."}),
		refused:    f.NewCounterVec(prometheus.CounterOpts{Name: "strata_ingester_refused_pushes_total", Help: "Pushes refused with a retryable error because a limit was reached."}, []string{"reason"}),
		pushWait: f.NewHistogram(prometheus.HistogramOpts{Name: "strata_ingester_push_wait_seconds", Help: "Time pushes that found the ingester at its memory or WAL limit waited for room (-ingester.push-wait), whether they were then kept or refused.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 10)}),
		walErrors:     f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_wal_errors_total", Help: "Failed WAL appends."}),
		flushed:       f.NewCounterVec(prometheus.CounterOpts{Name: "strata_ingester_flushed_records_total", Help: "Records inserted into ClickHouse by this ingester."}, []string{"signal"}),
		flushErrors:   f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_flush_errors_total", Help: "Failed flushes (retried with backoff)."}),
		releaseErrors: f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_release_errors_total", Help: "Releases that did not reach a replica."}),
		// Flushes of 10k-200k rows take tens of milliseconds to seconds.
		flushDur:              f.NewHistogram(prometheus.HistogramOpts{Name: "strata_ingester_flush_duration_seconds", Help: "Time to insert one flush batch.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		batchSize:             f.NewHistogram(prometheus.HistogramOpts{Name: "strata_ingester_flush_batch_records", Help: "Records per flush batch.", Buckets: prometheus.ExponentialBuckets(100, 4, 8)}),
		epochs:                f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_epochs_closed_total", Help: "Flush epochs closed."}),
		fallbackAlreadyStored: f.NewCounter(prometheus.CounterOpts{Name: "strata_ingester_fallback_already_stored_records_total", Help: "Records a fallback replica found already stored by another replica, and so did not flush again."}),
		memBytes:              f.NewGauge(prometheus.GaugeOpts{Name: "strata_ingester_memory_bytes", Help: "Approximate bytes of records held in memory."}),
		walBytes:              f.NewGauge(prometheus.GaugeOpts{Name: "strata_ingester_wal_bytes", Help: "Bytes of WAL on disk."}),
	}
}
