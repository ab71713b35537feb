// Package querier serves Strata's read APIs over HTTP with gin: Loki-compatible,
// Tempo-compatible and the UI's JSON API. It plans each query by time (ingesters for what
// they may still hold, ClickHouse for what was flushed), fans out over the ring, and
// merges exactly.
package querier
