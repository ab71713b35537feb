package wal

import (
	"errors"
	"flag"
	"fmt"
)

// SyncMode says when appended records are made durable.
type SyncMode string

const (
	// SyncAlways flushes every group commit to stable storage (fdatasync)
	// before Append returns: an acknowledged record survives kill -9 and
	// power loss.
	SyncAlways SyncMode = "always"
	// SyncNone writes to the OS page cache and never syncs until Close. An
	// acknowledged record survives kill -9 of the process but not a machine
	// crash. Meant for tests and benchmarks.
	SyncNone SyncMode = "none"
)

const (
	// DefaultSegmentSize is the size at which a new segment file starts.
	DefaultSegmentSize = 64 << 20
	// DefaultRecycleSegments is how many flushed segments' files are kept
	// for new segments.
	DefaultRecycleSegments = 2
	// DefaultMaxRecordSize bounds one record; it is larger than a segment so
	// that one oversized push still fits, alone, in its own segment.
	DefaultMaxRecordSize = 128 << 20
	// maxRecordSizeLimit caps MaxRecordSize: the length field is 32 bits and
	// a record is held whole in memory on both append and replay.
	maxRecordSizeLimit = 1 << 30
)

// Config configures a WAL. Zero values of SegmentSize, SyncMode and
// MaxRecordSize mean the defaults.
type Config struct {
	// Dir holds the segment files. It is created if missing and must be
	// used by one WAL at a time (Open takes a lock on it).
	Dir string `yaml:"dir"`
	// SegmentSize in bytes; a new segment starts when the next batch would
	// take the current one past it.
	SegmentSize int64 `yaml:"segment_size"`
	// SyncMode is "always" (the default) or "none".
	SyncMode SyncMode `yaml:"sync_mode"`
	// MaxRecordSize in bytes; Append rejects bigger records.
	MaxRecordSize int `yaml:"max_record_size"`
	// RecycleSegments is how many flushed segments' files Truncate keeps, to
	// be overwritten by new segments instead of deleting them and creating
	// new ones. 0 deletes them.
	RecycleSegments int `yaml:"recycle_segments"`
}

// RegisterFlagsWithPrefix registers the flags under prefix, for example
// "ingester.wal.".
func (cfg *Config) RegisterFlagsWithPrefix(prefix string, f *flag.FlagSet) {
	f.StringVar(&cfg.Dir, prefix+"dir", "wal", "Directory of the write-ahead log. Each ingester needs its own, on a persistent volume.")
	f.Int64Var(&cfg.SegmentSize, prefix+"segment-size", DefaultSegmentSize, "Size in bytes at which the write-ahead log starts a new segment file. Whole segments are deleted once flushed, or kept as spares (-ingester.wal-recycle-segments).")
	f.StringVar((*string)(&cfg.SyncMode), prefix+"sync-mode", string(SyncAlways), `When appended records are synced to disk: "always" (before acknowledging, survives power loss) or "none" (page cache only, for tests and benchmarks).`)
	f.IntVar(&cfg.MaxRecordSize, prefix+"max-record-size", DefaultMaxRecordSize, "Largest record in bytes the write-ahead log accepts; one record is one push batch.")
	f.IntVar(&cfg.RecycleSegments, prefix+"recycle-segments", DefaultRecycleSegments, "Flushed write-ahead log segments whose files are kept (as NNNNNNNN.spare, on top of -ingester.max-wal-bytes) and overwritten by new segments: writing over a file's blocks costs the kernel about 60% of what a new file's do (BenchmarkAppend), and no block is allocated or freed. 0 deletes flushed segments.")
}

// Validate reports the first invalid field.
func (cfg Config) Validate() error {
	switch {
	case cfg.Dir == "":
		return errors.New("wal: dir is required")
	case cfg.SegmentSize < 0:
		return fmt.Errorf("wal: segment size %d is negative", cfg.SegmentSize)
	case cfg.RecycleSegments < 0:
		return fmt.Errorf("wal: recycle segments %d is negative", cfg.RecycleSegments)
	case cfg.MaxRecordSize < 0 || cfg.MaxRecordSize > maxRecordSizeLimit:
		return fmt.Errorf("wal: max record size %d is outside [0, %d]", cfg.MaxRecordSize, maxRecordSizeLimit)
	}
	switch cfg.SyncMode {
	case "", SyncAlways, SyncNone:
		return nil
	}
	return fmt.Errorf("wal: sync mode %q is not %q or %q", cfg.SyncMode, SyncAlways, SyncNone)
}

func (cfg Config) withDefaults() Config {
	if cfg.SegmentSize == 0 {
		cfg.SegmentSize = DefaultSegmentSize
	}
	if cfg.SyncMode == "" {
		cfg.SyncMode = SyncAlways
	}
	if cfg.MaxRecordSize == 0 {
		cfg.MaxRecordSize = DefaultMaxRecordSize
	}
	return cfg
}
