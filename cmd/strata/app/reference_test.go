package app

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the flag definitions")

var referencePath = filepath.Join("..", "..", "..", "docs", "configuration.md")

func TestConfigurationReferenceIsCurrent(t *testing.T) {
	want := ConfigReference()
	if *update {
		if err := os.WriteFile(referencePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v: run `make docs` to generate docs/configuration.md", err)
	}
	if string(got) != want {
		t.Fatal("docs/configuration.md differs from the flag definitions: run `make docs` and commit the result")
	}
}

func TestConfigurationReferenceListsEveryFlag(t *testing.T) {
	ref := ConfigReference()
	Flags().VisitAll(func(f *flag.Flag) {
		if !strings.Contains(ref, "| `-"+f.Name+"` |") {
			t.Errorf("reference lacks -%s", f.Name)
		}
	})
	if h, err := os.Hostname(); err == nil && strings.Contains(ref, "| `"+h+"` |") {
		t.Errorf("reference contains this machine's host name %q as a default; add the flag to hostDependentDefaults", h)
	}
}

// TestYAMLKeysAreReal writes every flag's YAML key with its default value into one
// config file and loads it with unknown keys forbidden, so a wrong key in the reference
// fails here.
func TestYAMLKeysAreReal(t *testing.T) {
	var cfg Config
	var file string
	var expand bool
	fs := newFlagSet(&cfg, &file, &expand)
	keys := yamlKeys(&cfg, fs)
	doc := map[string]any{}
	leaves := map[string]any{}
	walkYAML(reflect.ValueOf(&cfg).Elem(), "", func(key string, fv reflect.Value) { leaves[key] = fv.Interface() })
	fs.VisitAll(func(f *flag.Flag) {
		key, ok := keys[f.Name]
		if !ok {
			// dskit tags a few of its fields yaml:"-"; Strata's own settings all have a key.
			if !strings.HasPrefix(f.Name, "server.") && !strings.HasPrefix(f.Name, "memberlist.") && !strings.HasPrefix(f.Name, "config.") {
				t.Errorf("-%s has no YAML key", f.Name)
			}
			return
		}
		val, ok := leaves[key]
		if !ok {
			t.Fatalf("no value for key %s", key)
		}
		m := doc
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = val
	})
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "all.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{"-config.file=" + path}); err != nil {
		t.Fatalf("a config file with every reference key does not load: %v\n%s", err, data)
	}
	if keys["clickhouse.address"] != "clickhouse.address" || keys["memberlist.join"] != "memberlist.join_members" || keys["ingester.wal-dir"] != "ingester.wal.dir" {
		t.Errorf("unexpected keys: %q %q %q", keys["clickhouse.address"], keys["memberlist.join"], keys["ingester.wal-dir"])
	}
}
