package app

import (
	"flag"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// hostDependentDefaults names flags whose default is computed from the machine, so the
// generated reference says where the value comes from instead of this machine's value.
var hostDependentDefaults = map[string]string{
	"ring.instance-id": "(the host name)",
}

// ConfigReference renders every flag as a Markdown configuration reference: name, YAML key,
// type, default and usage, grouped by the flag's prefix. docs/configuration.md is its output
// (`make docs` rewrites it, and a test fails when it is stale).
func ConfigReference() string {
	var cfg Config
	var file string
	var expand bool
	fs := newFlagSet(&cfg, &file, &expand)
	keys := yamlKeys(&cfg, fs)

	groups := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) {
		g := "general"
		if i := strings.IndexByte(f.Name, '.'); i > 0 && f.Name != "runtime-config.file" {
			g = f.Name[:i]
		}
		groups[g] = append(groups[g], f)
	})
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Slice(names, func(i, j int) bool {
		// "general" first: -target and -runtime-config.file belong on top.
		if (names[i] == "general") != (names[j] == "general") {
			return names[i] == "general"
		}
		return names[i] < names[j]
	})

	var b strings.Builder
	b.WriteString("<!-- Generated from the flag definitions by `make docs` (cmd/strata/app/reference.go). Do not edit. -->\n\n")
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("Every setting is a command-line flag with a default. The same setting can be given in the\n")
	b.WriteString("YAML file named by `-config.file` under the key in the *YAML key* column (nested maps:\n")
	b.WriteString("`clickhouse.address` is `clickhouse: {address: ...}`); flags given on the command line win\n")
	b.WriteString("over the file, and `-config.expand-env` expands `${VAR}` in the file. Settings marked *flag\n")
	b.WriteString("only* have no YAML key. Per-tenant overrides of the `limits` settings go in the runtime\n")
	b.WriteString("file (`-runtime-config.file`), keyed by the same YAML names without the `limits.` prefix.\n\n")
	b.WriteString("Sections: ")
	for i, g := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "[%s](#%s)", g, g)
	}
	b.WriteString(".\n")
	for _, g := range names {
		fmt.Fprintf(&b, "\n## %s\n\n", g)
		b.WriteString("| flag | YAML key | type | default | description |\n| --- | --- | --- | --- | --- |\n")
		for _, f := range groups[g] {
			key := keys[f.Name]
			if key == "" {
				key = "*flag only*"
			} else {
				key = "`" + key + "`"
			}
			_, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, "| `-%s` | %s | %s | %s | %s |\n", f.Name, key, flagType(f), cell(defaultOf(f), true), cell(usage, false))
		}
	}
	return b.String()
}

func defaultOf(f *flag.Flag) string {
	if d, ok := hostDependentDefaults[f.Name]; ok {
		return d
	}
	switch f.DefValue {
	case "", "0", "0s", "false", "[]":
		return ""
	}
	return f.DefValue
}

// cell makes text safe inside a Markdown table cell.
func cell(s string, code bool) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
	if code && !strings.HasPrefix(s, "(") {
		return "`" + s + "`"
	}
	return s
}

// flagType names a flag's value type in operator terms: the standard library's value
// types are unexported, dskit's are named after their Go types.
func flagType(f *flag.Flag) string {
	t := reflect.TypeOf(f.Value)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Name() {
	case "boolValue":
		return "bool"
	case "intValue", "int64Value":
		return "int"
	case "uintValue", "uint64Value":
		return "uint"
	case "float64Value":
		return "float"
	case "stringValue":
		return "string"
	case "durationValue":
		return "duration"
	case "StringSliceCSV":
		return "list (comma-separated)"
	case "StringSliceCSVMulti", "StringSlice":
		return "list (repeat the flag or comma-separate)"
	case "Secret":
		return "string (secret)"
	case "Level":
		return "string"
	}
	return "string"
}

// yamlKeys maps each flag to the dotted YAML path of the Config field it sets. A flag's
// Value points at its field (the standard library's values are typed pointers to the
// field; f.Var gets the field's address), so matching addresses finds the field without
// a hand-written table that could drift.
func yamlKeys(cfg *Config, fs *flag.FlagSet) map[string]string {
	byAddr := map[uintptr]string{}
	walkYAML(reflect.ValueOf(cfg).Elem(), "", func(key string, fv reflect.Value) { byAddr[fv.Addr().Pointer()] = key })
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		v := reflect.ValueOf(f.Value)
		if v.Kind() != reflect.Pointer {
			return
		}
		if key, ok := byAddr[v.Pointer()]; ok {
			out[f.Name] = key
		}
	})
	return out
}

var flagValueType = reflect.TypeOf((*flag.Value)(nil)).Elem()

// walkYAML calls leaf for every leaf field reachable through YAML keys. Types that parse
// themselves (flag values, YAML unmarshalers) are leaves, so a struct and its first field
// never compete for one address.
func walkYAML(v reflect.Value, prefix string, leaf func(key string, fv reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		key := prefix
		if opts != "inline" {
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			if key != "" {
				key += "."
			}
			key += name
		}
		pt := reflect.PointerTo(sf.Type)
		_, unmarshals := pt.MethodByName("UnmarshalYAML")
		if sf.Type.Kind() == reflect.Struct && !pt.Implements(flagValueType) && !unmarshals {
			walkYAML(fv, key, leaf)
			continue
		}
		switch sf.Type.Kind() {
		case reflect.Interface, reflect.Func, reflect.Chan, reflect.Pointer:
			continue
		}
		leaf(key, fv)
	}
}
