// Package deploy holds Strata's deployment files (Kubernetes manifests, Grafana
// provisioning, ClickHouse configs) and the tests that keep them honest: every file
// parses and every strata command line in it uses flags the binary really has.
package deploy
