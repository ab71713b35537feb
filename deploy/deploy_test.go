package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/strataobs/strata/cmd/strata/app"
)

type composeFile struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
	} `yaml:"services"`
}

// checkFlags fails for every -flag in args that strata does not define.
func checkFlags(t *testing.T, where string, args []string) {
	t.Helper()
	fs := app.Flags()
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if fs.Lookup(name) == nil {
			t.Errorf("%s: strata has no flag -%s", where, name)
		}
	}
}

func TestComposeFileUsesRealFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	strata := 0
	for name, svc := range cf.Services {
		if svc.Image != "strata:latest" {
			continue
		}
		strata++
		if len(svc.Command) == 0 || !strings.HasPrefix(svc.Command[0], "-target=") {
			t.Errorf("service %s: command should start with -target=", name)
		}
		checkFlags(t, "docker-compose.yml service "+name, svc.Command)
	}
	if strata != 7 {
		t.Errorf("found %d strata services, want 7 (3 ingesters, 2 distributors, 2 queriers)", strata)
	}
	for _, want := range []string{"clickhouse", "grafana", "loadgen"} {
		if _, ok := cf.Services[want]; !ok {
			t.Errorf("docker-compose.yml lacks service %s", want)
		}
	}
}

func TestCheckFlagsCatchesUnknownFlags(t *testing.T) {
	ft := &testing.T{}
	checkFlags(ft, "x", []string{"-target=all", "-no.such-flag=1"})
	if !ft.Failed() {
		t.Fatal("checkFlags accepted -no.such-flag")
	}
}

func TestGrafanaProvisioningParses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("grafana", "provisioning", "datasources", "strata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct{ Name, Type, URL, UID string } `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(data, &ds); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, d := range ds.Datasources {
		types[d.Type] = true
	}
	if !types["loki"] || !types["tempo"] {
		t.Fatalf("datasources %+v: want a loki and a tempo datasource", ds.Datasources)
	}
}
