// Package wal is the ingester's write-ahead log: every accepted batch is
// appended here before the push is acknowledged, and replayed into memory
// on restart, so that kill -9 loses no acknowledged record.
//
// # Use
//
// [Open] the directory, [WAL.Replay] it once (this also repairs a torn
// tail), then [WAL.Append] from any number of goroutines. Append returns the
// segment that holds the records; once everything in segments below some
// number is flushed to storage, [WAL.Truncate] deletes them. [WAL.Size],
// [WAL.Segments] and [ReplayStats] are what the ingester reports as
// metrics and logs; the package itself neither logs nor registers metrics.
//
// # Format
//
// The directory holds segment files named by an increasing number,
// 00000001.wal, 00000002.wal and so on, up to [Config.RecycleSegments]
// spare files (00000007.spare: a flushed segment's file, kept to be written
// over), plus a LOCK file held while the WAL is open. A segment is a
// 16-byte file header, then a plain sequence of records with no padding:
//
//	+------------------------+---------------------+
//	| "STRATAW\xff"          | segment number      |   file header
//	+------------------------+---------------------+
//	  8 bytes                  uint64 little-endian
//
//	+----------------+----------------+-------------------+
//	| CRC-32C uint32 | length uint32  | payload           |   each record
//	+----------------+----------------+-------------------+
//	  little-endian: 8-byte header      length bytes
//
// The checksum (Castagnoli) covers the 4 length bytes and the payload, so a
// damaged length is caught directly, and is stored XOR the segment's mask
// (its number shifted left by one): a record validates only in the segment
// it was written to, and an all-zero header never does. The payload is
// opaque. Records from one Append call are consecutive and in one segment.
// A new segment starts when the next Append call would take the current one
// past [Config.SegmentSize]; a call bigger than that is alone in its
// segment. No record exceeds [Config.MaxRecordSize].
//
// Segments written before the file header existed start with their first
// record and store plain checksums. They are replayed as such; appends
// after them start a new segment, and truncating them deletes them.
//
// # Recycling
//
// Truncate renames a flushed segment's file to a spare instead of deleting
// it, and a new segment is started by renaming a spare and writing its
// header and records over the older content: the kernel neither allocates
// nor frees blocks, and an fdatasync of overwritten blocks writes no
// metadata, which halves the CPU and the time a segment costs
// (BenchmarkAppend). Past the new records the file still holds the older
// segment's; their checksums carry that segment's mask, so replay ends the
// segment there and cuts it, without reporting damage. A finished segment is
// cut to its own length before the next starts.
//
// # Durability
//
// With [SyncAlways] (the default), Append returns only after its records
// are written and fdatasync'ed; new segment files are made durable by
// syncing the directory, and a segment is synced before the next one
// starts. An acknowledged record therefore survives kill -9 and power loss.
// [SyncNone] only writes to the page cache: it survives the process dying
// but not the machine.
//
// A write or sync error makes the WAL refuse all further appends: after a
// failed fsync the kernel may have dropped the dirty pages, so the only
// safe repair is a restart that replays what is really on disk.
//
// # Group commit
//
// A sync costs milliseconds, and an ingester receives many concurrent
// pushes, so appends share syncs. Appenders encode their records into a
// shared queue under a mutex. If nobody is writing, the appender becomes
// the leader: it takes the whole queue, writes it with one write call and
// syncs once, without holding the mutex, while the next appenders queue
// into a second buffer. When it finishes it wakes the waiters; those whose
// records it wrote return, and one of the rest leads the next round. There
// is no background goroutine: Close leads the last round itself.
//
// # Recovery
//
// Replay reads the segments in order and trusts a record only if it lies
// wholly inside the file and its checksum matches under the segment's mask.
// A whole record of an earlier segment, or a file header naming one (a
// spare renamed just before a crash), is a recycled file's older content:
// the segment ends there, as if at the end of the file. The first bad record
// (zero fill, partial header or payload, length past the end of the file,
// checksum mismatch) ends the segment too:
//
//   - In the last segment it is the torn tail of a crash (in a recycled
//     file, the older content from the middle of one of its records on).
//     The file is cut at the end of the last good record, synced, and
//     appending resumes there (in a new segment after a legacy one).
//     Anything after the bad record is lost, even if valid: with SyncAlways
//     none of it was acknowledged unless the disk itself is damaged.
//   - In an earlier segment it can only be damage (that segment was synced
//     before the next one started). The rest of the segment is skipped and
//     left on disk; Replay goes on with the next segment.
//   - A missing segment number (a gap) is reported and skipped.
//
// Each case is reported in [ReplayStats.Corruptions]; none is fatal. Only
// I/O errors and the callback's errors fail Replay.
//
// A batch whose Append never returned may be replayed in part (its first
// records written, the rest torn). Such a push was not acknowledged and the
// client retries it, so replay must tolerate duplicates, which the
// ingester's deterministic record ids make harmless.
//
// Start reading at append.go (group commit) and replay.go (recovery).
package wal
