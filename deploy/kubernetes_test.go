package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/strataobs/strata/cmd/strata/app"
	"github.com/strataobs/strata/limits"
)

// The subset of Kubernetes objects the checks below read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		// Service
		ClusterIP                string           `yaml:"clusterIP"`
		PublishNotReadyAddresses bool             `yaml:"publishNotReadyAddresses"`
		Selector                 yaml.Node        `yaml:"selector"`
		Ports                    []k8sServicePort `yaml:"ports"`
		// Deployment, StatefulSet
		Replicas             int    `yaml:"replicas"`
		ServiceName          string `yaml:"serviceName"`
		Template             k8sPod `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
		// PodDisruptionBudget
		MaxUnavailable *int `yaml:"maxUnavailable"`
	} `yaml:"spec"`
}

type k8sServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
}

type k8sPod struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		SecurityContext struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    int   `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Containers []k8sContainer `yaml:"containers"`
		Volumes    []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func (c k8sContainer) port(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func (c k8sContainer) mount(name string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m.MountPath
		}
	}
	return ""
}

// flagValue returns the value of -name=value in args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v
		}
	}
	return ""
}

var k8sDir = filepath.Join("kubernetes")

// loadManifests parses every YAML file of deploy/kubernetes (multi-document) and returns
// the objects by file.
func loadManifests(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	out := map[string][]k8sObject{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var obj k8sObject
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s does not parse: %v", f, err)
			}
			if obj.Kind == "" || obj.APIVersion == "" {
				t.Errorf("%s: a document without kind or apiVersion", f)
				continue
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], obj)
		}
	}
	return out
}

func allObjects(m map[string][]k8sObject) []k8sObject {
	var all []k8sObject
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		all = append(all, m[f]...)
	}
	return all
}

func findObject(t *testing.T, objs []k8sObject, kind, name string) k8sObject {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o
		}
	}
	t.Fatalf("no %s %s in deploy/kubernetes", kind, name)
	return k8sObject{}
}

func selectorLabels(t *testing.T, o k8sObject) map[string]string {
	t.Helper()
	var sel struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if err := o.Spec.Selector.Decode(&sel); err == nil && sel.MatchLabels != nil {
		return sel.MatchLabels
	}
	var plain map[string]string
	if err := o.Spec.Selector.Decode(&plain); err != nil {
		t.Fatalf("%s %s: selector: %v", o.Kind, o.Metadata.Name, err)
	}
	return plain
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(k.Resources, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}

// strataWorkloads returns the Deployments and StatefulSets that run strata, by -target.
func strataWorkloads(t *testing.T, objs []k8sObject) map[string]k8sObject {
	t.Helper()
	out := map[string]k8sObject{}
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			if c.Image == strataImage(t) {
				out[flagValue(c.Args, "target")] = o
			}
		}
	}
	return out
}

// strataImage is the image docker-compose.yml builds; the manifests run the same one.
func strataImage(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Strata struct {
			Image string `yaml:"image"`
		} `yaml:"x-strata"`
	}
	if err := yaml.Unmarshal(data, &cf); err != nil || cf.Strata.Image == "" {
		t.Fatalf("docker-compose.yml: no x-strata image (%v)", err)
	}
	return cf.Strata.Image
}

func TestKubernetesWorkloads(t *testing.T) {
	objs := allObjects(loadManifests(t))
	workloads := strataWorkloads(t, objs)
	for _, target := range []string{"ingester", "distributor", "querier"} {
		w, ok := workloads[target]
		if !ok {
			t.Errorf("no workload runs -target=%s", target)
			continue
		}
		where := w.Kind + " " + w.Metadata.Name
		if target == "ingester" && w.Kind != "StatefulSet" {
			t.Errorf("%s: ingesters must be a StatefulSet (stable ids and WAL volumes)", where)
		}
		if target != "ingester" && w.Kind != "Deployment" {
			t.Errorf("%s: %ss should be a Deployment", where, target)
		}
		pod := w.Spec.Template
		if !matches(selectorLabels(t, w), pod.Metadata.Labels) {
			t.Errorf("%s: selector does not match the pod labels", where)
		}
		sc := pod.Spec.SecurityContext
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == 0 {
			t.Errorf("%s: pod must run as a non-root user", where)
		}
		for _, c := range pod.Spec.Containers {
			cw := where + " container " + c.Name
			if c.Image != strataImage(t) {
				t.Errorf("%s: image %s, want %s", cw, c.Image, strataImage(t))
			}
			if len(c.Args) == 0 || c.Args[0] != "-target="+target {
				t.Errorf("%s: args should start with -target=%s", cw, target)
			}
			checkFlags(t, cw, c.Args)
			if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation must be false", cw)
			}
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s: needs cpu and memory requests and a memory limit", cw)
			}
			if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/ready" {
				t.Errorf("%s: readiness probe must GET /ready", cw)
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil {
				t.Errorf("%s: needs an HTTP liveness probe", cw)
			}
			for _, p := range []*k8sProbe{c.ReadinessProbe, c.LivenessProbe} {
				if p != nil && p.HTTPGet != nil && c.port(p.HTTPGet.Port) != 3100 {
					t.Errorf("%s: probe port %q is not the container's HTTP port 3100", cw, p.HTTPGet.Port)
				}
			}
			want := map[string]int{"http": 3100, "grpc": 9095, "memberlist": 7946}
			if target == "distributor" {
				want["otlp-grpc"], want["otlp-http"] = 4317, 4318
			}
			for name, port := range want {
				if got := c.port(name); got != port {
					t.Errorf("%s: port %s is %d, want %d", cw, name, got, port)
				}
			}
			// The config file named in the args is the ConfigMap key mounted there.
			cfgFile := flagValue(c.Args, "config.file")
			if cfgFile == "" || c.mount("config") != path.Dir(cfgFile) {
				t.Errorf("%s: -config.file=%s is not in the mounted config volume", cw, cfgFile)
			}
			for _, v := range pod.Spec.Volumes {
				if v.Name == "config" && (v.ConfigMap == nil || v.ConfigMap.Name != "strata-config") {
					t.Errorf("%s: config volume should be the strata-config ConfigMap", cw)
				}
			}
			if target == "ingester" {
				if len(w.Spec.VolumeClaimTemplates) == 0 {
					t.Fatalf("%s: no volumeClaimTemplates for the WAL", where)
				}
				walMount := c.mount(w.Spec.VolumeClaimTemplates[0].Metadata.Name)
				cfg := loadStrataConfig(t, objs, c.Args)
				if walMount == "" || !strings.HasPrefix(cfg.Ingester.WAL.Dir+"/", walMount+"/") {
					t.Errorf("%s: WAL dir %s is not on the claimed volume (mounted at %q)", cw, cfg.Ingester.WAL.Dir, walMount)
				}
			}
		}
	}
}

// loadStrataConfig loads the ConfigMap's strata.yaml the way the container does.
func loadStrataConfig(t *testing.T, objs []k8sObject, args []string) *app.Config {
	t.Helper()
	cm := findObject(t, objs, "ConfigMap", "strata-config")
	dir := t.TempDir()
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Only the config flags: checkFlags reports unknown ones, and the flag package would
	// print the whole usage here.
	var local []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-config.file="); ok {
			local = append(local, "-config.file="+filepath.Join(dir, path.Base(v)))
		} else if strings.HasPrefix(a, "-config.") {
			local = append(local, a)
		}
	}
	t.Setenv("CLICKHOUSE_PASSWORD", "secret")
	cfg, err := app.Load(local)
	if err != nil {
		t.Fatalf("strata-config does not load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("strata-config does not validate: %v", err)
	}
	return cfg
}

func TestKubernetesConfigMapLoads(t *testing.T) {
	objs := allObjects(loadManifests(t))
	workloads := strataWorkloads(t, objs)
	ing := workloads["ingester"].Spec.Template.Spec.Containers[0]
	cfg := loadStrataConfig(t, objs, ing.Args)
	if cfg.ClickHouse.Password.String() != "secret" {
		t.Errorf("clickhouse password %q: want ${CLICKHOUSE_PASSWORD} expanded", cfg.ClickHouse.Password.String())
	}
	if cfg.Ring.ReplicationFactor != 3 {
		t.Errorf("replication factor %d, want 3", cfg.Ring.ReplicationFactor)
	}
	// Memberlist joins through a headless service that publishes not-ready pods.
	if len(cfg.Memberlist.JoinMembers) != 1 {
		t.Fatalf("join_members %v: want the memberlist service", cfg.Memberlist.JoinMembers)
	}
	join := strings.TrimPrefix(cfg.Memberlist.JoinMembers[0], "dns+")
	host, port, err := net.SplitHostPort(join)
	if err != nil {
		t.Fatal(err)
	}
	svc := findObject(t, objs, "Service", host)
	if svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: want headless with publishNotReadyAddresses", host)
	}
	if p, _ := strconv.Atoi(port); len(svc.Spec.Ports) == 0 || svc.Spec.Ports[0].Port != p || p != cfg.Memberlist.TCPTransport.BindPort {
		t.Errorf("Service %s ports %+v: want %s, the memberlist bind port %d", host, svc.Spec.Ports, port, cfg.Memberlist.TCPTransport.BindPort)
	}
	for target, w := range workloads {
		if !matches(selectorLabels(t, svc), w.Spec.Template.Metadata.Labels) {
			t.Errorf("memberlist service does not select the %s pods", target)
		}
	}
	// The runtime overrides file is in the same ConfigMap and parses.
	cm := findObject(t, objs, "ConfigMap", "strata-config")
	if path.Base(cfg.RuntimeConfig) != "overrides.yaml" || cm.Data["overrides.yaml"] == "" {
		t.Fatalf("runtime_config_file %s: want overrides.yaml from strata-config", cfg.RuntimeConfig)
	}
	f := filepath.Join(t.TempDir(), "overrides.yaml")
	os.WriteFile(f, []byte(cm.Data["overrides.yaml"]), 0o644)
	o := limits.NewOverrides(cfg.Limits)
	if err := o.LoadFile(f); err != nil {
		t.Fatal(err)
	}
	if o.For("team-a").RetentionDays != 7 {
		t.Errorf("team-a retention %d, want 7", o.For("team-a").RetentionDays)
	}
}

func TestKubernetesServicesAndBudgets(t *testing.T) {
	objs := allObjects(loadManifests(t))
	workloads := strataWorkloads(t, objs)
	var pods []k8sPod
	for _, o := range objs {
		if o.Kind == "Deployment" || o.Kind == "StatefulSet" {
			pods = append(pods, o.Spec.Template)
		}
	}
	for _, o := range objs {
		switch o.Kind {
		case "Service":
			sel := selectorLabels(t, o)
			n := 0
			for _, p := range pods {
				if !matches(sel, p.Metadata.Labels) {
					continue
				}
				n++
				for _, sp := range o.Spec.Ports {
					if p.Spec.Containers[0].port(sp.TargetPort) == 0 {
						t.Errorf("Service %s port %s: target %q is not a port of the pods it selects", o.Metadata.Name, sp.Name, sp.TargetPort)
					}
				}
			}
			if n == 0 {
				t.Errorf("Service %s selects no pods", o.Metadata.Name)
			}
		case "PodDisruptionBudget":
			sel := selectorLabels(t, o)
			n := 0
			for _, p := range pods {
				if matches(sel, p.Metadata.Labels) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("PodDisruptionBudget %s selects %d workloads, want 1", o.Metadata.Name, n)
			}
			if o.Spec.MaxUnavailable == nil || *o.Spec.MaxUnavailable != 1 {
				t.Errorf("PodDisruptionBudget %s: want maxUnavailable 1", o.Metadata.Name)
			}
		}
	}
	for target, w := range workloads {
		found := false
		for _, o := range objs {
			if o.Kind == "PodDisruptionBudget" && matches(selectorLabels(t, o), w.Spec.Template.Metadata.Labels) {
				found = true
			}
		}
		if !found {
			t.Errorf("no PodDisruptionBudget for the %s pods", target)
		}
	}
	ing := workloads["ingester"]
	if svc := findObject(t, objs, "Service", ing.Spec.ServiceName); svc.Spec.ClusterIP != "None" {
		t.Errorf("StatefulSet serviceName %s must be a headless service", ing.Spec.ServiceName)
	}
	if ing.Spec.Replicas < 3 {
		t.Errorf("%d ingesters: RF=3 needs at least 3", ing.Spec.Replicas)
	}
}

func TestKubernetesGrafanaDatasources(t *testing.T) {
	objs := allObjects(loadManifests(t))
	cm := findObject(t, objs, "ConfigMap", "strata-grafana-datasources")
	querier := findObject(t, objs, "Service", "strata-querier")
	checkDatasources(t, "strata-grafana-datasources", []byte(cm.Data["strata.yaml"]), func(url string) bool {
		return strings.HasPrefix(url, "http://"+querier.Metadata.Name+".") && strings.HasSuffix(url, ":"+strconv.Itoa(querier.Spec.Ports[0].Port))
	})
}
