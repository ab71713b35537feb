// Package deploy holds Strata's deployment files (Kubernetes manifests, Grafana
// provisioning and dashboard, Prometheus and ClickHouse configs) and the tests that keep
// them honest: every file parses, every strata command line uses flags the binary really
// has, the Kubernetes objects fit together (ports, probes, selectors, config keys), and
// every metric the dashboard queries is one a running strata process exports.
package deploy
