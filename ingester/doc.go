// Package ingester keeps recent records in memory behind a write-ahead log and flushes
// them to ClickHouse in large batches, once.
//
// # Epochs
//
// Accepted records are grouped into epochs: an epoch is open for at most
// -ingester.max-epoch-age or -ingester.max-epoch-records (a full epoch closes at the next
// push), or until it holds a full INSERT while half of -ingester.max-memory-bytes is in
// use, then closed and flushed. The epoch id is the flush id stored with every row it
// inserts, so the querier can exclude from ClickHouse exactly the epochs an ingester
// still holds in memory with records of the query's tenant and range (querier/doc.go).
// An epoch is retired (its memory freed, its WAL segments released) once every record in
// it is flushed or released, plus -ingester.flushed-retention (1 s). Queries need no
// more: they ask the ingesters before ClickHouse and leave out the flush ids named, so
// an epoch retired before the ask is already in ClickHouse. The retention covers a
// replicated ClickHouse whose other replicas receive a flush later (docs/scaling.md);
// every second of it holds a second of ingest in memory.
//
// # Records in memory
//
// A push is held as the bytes it arrived in (held.go): scanning it finds each record's
// id, time and place without decoding it, and only what records share (tenant,
// resources, stream labels, placement) is decoded. A record is decoded when a flush
// writes it or a query returns it. Decoded records were a dozen small objects each,
// which every garbage collection scanned again, and with RF=3 each record was decoded
// by three ingesters to be flushed by one.
//
// # One copy in storage (flush ownership)
//
// With RF=3 every record reaches three ingesters. The distributor tells each replica its
// rank in the record's replication set (proto Placement). Rank 0, the owner, flushes at
// epoch close and then sends Release(ids) to the other replicas, which drop their copies.
// A rank-k replica flushes what was not released k × -ingester.release-grace after its
// epoch closed (covering records the owner never got, and owners that died), then
// releases to the others, so a record the owner missed is flushed once, not k times.
// The fallback clock only runs while this ingester's own storage writes succeed, so a
// ClickHouse outage does not make every replica flush everything when it ends.
// Under failure this is at-least-once; the deterministic record ids make repeats
// harmless (ReplacingMergeTree, read-time dedup). For queries, a record this ingester
// stored is "flushed" (answered from memory while the epoch is held, since the querier
// excludes the epoch's rows from storage) even when a release crossed its flush; only a
// record someone else stored is "released" (not answered: storage has it elsewhere).
//
// # Durability
//
// Every push is appended to the WAL (group-committed, fsynced) before it is acknowledged.
// Flush and release events are logged too, so replay restores which records are still
// pending. A torn WAL tail is truncated, not fatal (package wal).
//
// Start reading at ingester.go (service, Push, Release), then epoch.go (memory),
// flush.go (flush loop and ownership) and recovery.go (WAL records and replay).
package ingester
