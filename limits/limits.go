// Package limits holds every per-tenant knob in one Limits struct: its flags are the
// global defaults, and a runtime file (reloaded without restart) overrides them per tenant.
// Consumers depend on *Overrides and ask one getter per limit, passing the tenant.
package limits

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/grafana/dskit/flagext"
)

// Limits are the per-tenant limits. YAML names match the flags without the prefix.
type Limits struct {
	IngestionRateRecords  float64                `yaml:"ingestion_rate_records"`
	IngestionBurstRecords int                    `yaml:"ingestion_burst_records"`
	MaxLineSize           int                    `yaml:"max_line_size"`
	MaxAttributes         int                    `yaml:"max_attributes"`
	MaxAttributeKeyLen    int                    `yaml:"max_attribute_key_length"`
	MaxAttributeValueLen  int                    `yaml:"max_attribute_value_length"`
	MaxStreams            int                    `yaml:"max_streams_per_tenant"`
	RejectOlderThan       time.Duration          `yaml:"reject_older_than"`
	CreationGracePeriod   time.Duration          `yaml:"creation_grace_period"`
	IndexLabels           flagext.StringSliceCSV `yaml:"index_labels"`
	RetentionDays         int                    `yaml:"retention_days"`
}

// DefaultIndexLabels follows Loki 3's OTLP defaults: these resource attributes form the
// stream; everything else is structured metadata.
const DefaultIndexLabels = "service.name,service.namespace,service.instance.id,deployment.environment,deployment.environment.name,cloud.region,cloud.availability_zone,k8s.cluster.name,k8s.namespace.name,k8s.pod.name,k8s.container.name,container.name,k8s.replicaset.name,k8s.deployment.name,k8s.statefulset.name,k8s.daemonset.name,k8s.cronjob.name,k8s.job.name"

// RegisterFlags registers the global defaults.
func (l *Limits) RegisterFlags(f *flag.FlagSet) {
	f.Float64Var(&l.IngestionRateRecords, "limits.ingestion-rate", 500000, "Per-tenant ingestion rate limit in records (log records plus spans) per second, per distributor.")
	f.IntVar(&l.IngestionBurstRecords, "limits.ingestion-burst", 1000000, "Per-tenant ingestion burst size in records.")
	f.IntVar(&l.MaxLineSize, "limits.max-line-size", 256*1024, "Maximum size in bytes of one log body. Larger records are rejected.")
	f.IntVar(&l.MaxAttributes, "limits.max-attributes", 128, "Maximum number of attributes on one record, span, event, link or resource.")
	f.IntVar(&l.MaxAttributeKeyLen, "limits.max-attribute-key-length", 1024, "Maximum length in bytes of an attribute key.")
	f.IntVar(&l.MaxAttributeValueLen, "limits.max-attribute-value-length", 64*1024, "Maximum length in bytes of an attribute value.")
	f.IntVar(&l.MaxStreams, "limits.max-streams-per-tenant", 100000, "Maximum number of active log streams per tenant (a stream is active until an hour after its last record); records of new streams beyond it are rejected. 0 disables the limit.")
	f.DurationVar(&l.RejectOlderThan, "limits.reject-older-than", 7*24*time.Hour, "Records with a timestamp older than this are rejected.")
	f.DurationVar(&l.CreationGracePeriod, "limits.creation-grace-period", 10*time.Minute, "Records with a timestamp further than this in the future are rejected.")
	l.IndexLabels = flagext.StringSliceCSV(splitCSV(DefaultIndexLabels))
	f.Var(&l.IndexLabels, "limits.index-labels", "Comma-separated resource attributes that form a log stream's labels (dots become underscores).")
	f.IntVar(&l.RetentionDays, "limits.retention-days", 30, "Retention in days for the tenant's data.")
}

func splitCSV(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// Validate checks the defaults.
func (l *Limits) Validate() error {
	if l.MaxLineSize <= 0 || l.MaxAttributes <= 0 {
		return fmt.Errorf("limits: max-line-size and max-attributes must be positive")
	}
	if l.RetentionDays < 1 || l.RetentionDays > 65535 {
		return fmt.Errorf("limits.retention-days %d: must be between 1 and 65535", l.RetentionDays)
	}
	return nil
}

// Overrides answers per-tenant limits: the tenant's entry in the runtime file, else defaults.
type Overrides struct {
	defaults Limits
	mu       sync.RWMutex
	tenants  map[string]*Limits
}

// NewOverrides returns overrides with only the defaults.
func NewOverrides(defaults Limits) *Overrides {
	return &Overrides{defaults: defaults, tenants: map[string]*Limits{}}
}

// runtimeFile is the layout of the runtime overrides file.
type runtimeFile struct {
	Overrides map[string]yaml.Node `yaml:"overrides"`
}

// LoadFile replaces the per-tenant overrides with the content of a YAML file of the form
// `overrides: {tenant: {max_line_size: 1000}}`. Fields a tenant leaves out keep the defaults.
func (o *Overrides) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read overrides %s: %w", path, err)
	}
	var rf runtimeFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		return fmt.Errorf("parse overrides %s: %w", path, err)
	}
	tenants := make(map[string]*Limits, len(rf.Overrides))
	for tenant, node := range rf.Overrides {
		l := o.defaults // per-tenant YAML starts from the flag defaults, not from zero
		if err := node.Decode(&l); err != nil {
			return fmt.Errorf("parse overrides %s: tenant %s: %w", path, tenant, err)
		}
		tenants[tenant] = &l
	}
	o.mu.Lock()
	o.tenants = tenants
	o.mu.Unlock()
	return nil
}

// For returns the limits that apply to a tenant.
func (o *Overrides) For(tenant string) *Limits {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if l, ok := o.tenants[tenant]; ok {
		return l
	}
	return &o.defaults
}
