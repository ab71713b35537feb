package distributor

import (
	"strings"
	"testing"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

func labelsText(ls []*pb.Label) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, l.Name+"="+l.Value)
	}
	return strings.Join(parts, ",")
}

func TestParseLabels(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{in: `{app="api", env="prod"}`, want: "app=api,env=prod"},
		{in: `{env="prod",app="api"}`, want: "app=api,env=prod"},
		{in: "  {\n\tapp = \"api\" ,env=\"prod\"\n}  ", want: "app=api,env=prod"},
		{in: `{}`, want: ""},
		{in: `{a=""}`, want: ""},
		{in: `{a="", b="x"}`, want: "b=x"},
		{in: `{_a9="x"}`, want: "_a9=x"},
		{in: `{msg="say \"hi\"\n\\ \u00e9"}`, want: "msg=say \"hi\"\n\\ é"},
		{in: "{raw=`a\\b\"c`}", want: `raw=a\b"c`},
		{in: `{a="}{,="}`, want: "a=}{,="},

		{in: ``, err: `at offset 0: expected '{', found end of input`},
		{in: `app="api"`, err: `at offset 0: expected '{', found 'a'`},
		{in: `{app="api"`, err: `at offset 10: expected ',' or '}', found end of input`},
		{in: `{app="api",}`, err: `at offset 11: expected a label name, found '}'`},
		{in: `{app="api" env="prod"}`, err: `expected ',' or '}', found 'e'`},
		{in: `{app=api}`, err: `label app: expected a quoted label value, found 'a'`},
		{in: `{app="api}`, err: `label app: unterminated quoted value`},
		{in: `{app=~"api"}`, err: `label app: only '=' is allowed in stream labels, found '=~'`},
		{in: `{app!="api"}`, err: `label app: only '=' is allowed in stream labels, found '!='`},
		{in: `{app "api"}`, err: `expected '=' after label name app, found '"'`},
		{in: `{9app="x"}`, err: `expected a label name, found '9'`},
		{in: `{service.name="x"}`, err: `expected '=' after label name service, found '.'`},
		{in: `{é="x"}`, err: `expected a label name, found 'é'`},
		{in: `{a="1", a="2"}`, err: `duplicate label name a`},
		{in: `{a="x"} extra`, err: `unexpected 'e' after '}'`},
		{in: `{a="x"}{b="y"}`, err: `unexpected '{' after '}'`},
		{in: `{a="\q"}`, err: `label a: invalid quoted value "\q": invalid syntax`},
		{in: "{a=\"\xff\"}", err: `label a: value is not valid UTF-8`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseLabels(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseLabels(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "invalid stream labels ") {
					t.Errorf("error %q does not say what was invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLabels(%q): %v", tc.in, err)
			}
			if labelsText(got) != tc.want {
				t.Errorf("parseLabels(%q) = %s, want %s", tc.in, labelsText(got), tc.want)
			}
		})
	}
}

func TestParseLabelsLongInputIsCutInMessage(t *testing.T) {
	_, err := parseLabels(`{a="` + strings.Repeat("x", 10000))
	if err == nil || len(err.Error()) > 400 {
		t.Fatalf("error = %.500v, want a short message", err)
	}
}

func TestLabelsFromMap(t *testing.T) {
	cases := []struct {
		in        map[string]string
		want, err string
	}{
		{in: map[string]string{"b": "2", "a": "1"}, want: "a=1,b=2"},
		{in: map[string]string{"a": "", "b": "2"}, want: "b=2"},
		{in: map[string]string{"service.name": "x"}, err: `invalid stream label name "service.name"`},
		{in: map[string]string{"": "x"}, err: `invalid stream label name ""`},
	}
	for _, tc := range cases {
		got, err := labelsFromMap(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("labelsFromMap(%v) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || labelsText(got) != tc.want {
			t.Errorf("labelsFromMap(%v) = %s, %v; want %s", tc.in, labelsText(got), err, tc.want)
		}
	}
}

// FuzzParseLabels: the parser never panics, and whatever it accepts it reads back the
// same from its canonical rendering.
func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{`{app="api", env="prod"}`, `{}`, `{a="\"\\\n"}`, "{a=`x`}", `{a="1",a="2"}`, `{a=~"x"}`, `{`, `{a="é\u00e9\x41"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := parseLabels(s)
		if err != nil {
			return
		}
		text := formatLabels(ls)
		again, err := parseLabels(text)
		if err != nil {
			t.Fatalf("parseLabels(%q) = %s, which does not parse back: %v", s, text, err)
		}
		if formatLabels(again) != text {
			t.Fatalf("round trip of %q: %s != %s", s, formatLabels(again), text)
		}
		for i, l := range ls {
			if !validLabelName(l.Name) || l.Value == "" || (i > 0 && ls[i-1].Name >= l.Name) {
				t.Fatalf("parseLabels(%q) = %s: names must be valid, sorted and unique, values non-empty", s, text)
			}
		}
	})
}
