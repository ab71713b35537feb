// Package distributor is Strata's stateless front door. It receives OTLP logs and traces
// (gRPC and HTTP, protobuf and JSON, gzip) and Loki pushes (JSON and snappy protobuf, on
// the main HTTP server), resolves the tenant, validates every record against the
// tenant's limits, builds log streams from resource attributes (Loki: stream labels),
// gives each record its deterministic id, and writes each stream (logs) or trace (spans)
// to its replication set on the ingester ring, acknowledging only after a quorum of
// replicas stored it in their write-ahead logs.
//
// Start reading at distributor.go (Push), then convert.go (OTLP to Strata records),
// otlp_grpc.go and otlp_http.go (the edges) and errors.go (status mapping). The Loki push
// API is loki_http.go (the edge), loki_decode.go and loki_labels.go (JSON, protobuf and
// label strings) and loki_convert.go (to Strata records, with the same validator).
//
// Each replica is told its rank in the key's replication set (ring.PlacementRing); the
// ingesters' flush-ownership protocol uses the rank so that one copy reaches storage.
package distributor
