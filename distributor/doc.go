// Package distributor is Strata's stateless front door. It receives OTLP logs and traces
// (gRPC and HTTP, protobuf and JSON, gzip), resolves the tenant, validates every record
// against the tenant's limits, builds log streams from resource attributes, gives each
// record its deterministic id, and writes each stream (logs) or trace (spans) to its
// replication set on the ingester ring, acknowledging only after a quorum of replicas
// stored it in their write-ahead logs.
//
// Start reading at distributor.go (Push), then convert.go (OTLP to Strata records),
// otlp_grpc.go and otlp_http.go (the edges) and errors.go (status mapping).
//
// Each replica is told its rank in the key's replication set (ring.PlacementRing); the
// ingesters' flush-ownership protocol uses the rank so that one copy reaches storage.
package distributor
