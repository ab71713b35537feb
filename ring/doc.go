// Package ring wires grafana/dskit's hash ring for Strata: the operator-facing ring
// config (converted into dskit's larger structs), the KV store (memberlist by default,
// consul/etcd through dskit's kv config, in-memory for a single process), the ingester
// lifecycler with its tokens file, and the placement helper that tells each replica its
// rank in a key's replication set (the basis of the flush-ownership protocol,
// ingester/doc.go).
package ring
