package logql

import (
	"strings"
	"testing"
)

// testEntry has stream labels {app="foo", env="prod"} and metadata
// {trace_id="abc"}.
func testEntry(line string) Entry {
	return Entry{Timestamp: 1700000000123456789, Line: line, Stream: FromStrings("app", "foo", "env", "prod"), Metadata: FromStrings("trace_id", "abc")}
}

func TestPipeline(t *testing.T) {
	// f runs q over e; wantLabels "DROP" means the entry must be filtered out.
	f := func(q string, e Entry, wantLine, wantLabels string) {
		t.Helper()
		lq, err := ParseLogQuery(q)
		if err != nil {
			t.Fatalf("ParseLogQuery(%q): %v", q, err)
		}
		p, err := NewPipeline(lq)
		if err != nil {
			t.Fatalf("NewPipeline(%q): %v", q, err)
		}
		line, ls, ok := p.Process(e)
		if wantLabels == "DROP" {
			if ok {
				t.Errorf("%s on %q: kept as %q %s, want dropped", q, e.Line, line, ls)
			}
			return
		}
		if !ok {
			t.Errorf("%s on %q: dropped, want %q %s", q, e.Line, wantLine, wantLabels)
			return
		}
		if line != wantLine || ls.String() != wantLabels {
			t.Errorf("%s on %q:\n got %q %s\nwant %q %s", q, e.Line, line, ls, wantLine, wantLabels)
		}
	}
	base := `{app="foo", env="prod", trace_id="abc"}`

	// line filters
	f(`{app="foo"}`, testEntry("x"), "x", base)
	f(`{app="foo"} |= "err"`, testEntry("an error"), "an error", base)
	f(`{app="foo"} |= "err"`, testEntry("ok"), "", "DROP")
	f(`{app="foo"} != "err"`, testEntry("ok"), "ok", base)
	f(`{app="foo"} |~ "e.r"`, testEntry("error"), "error", base)
	f(`{app="foo"} !~ "^d"`, testEntry("debug"), "", "DROP")
	f(`{app="foo"} |= "a" or "b"`, testEntry("xbx"), "xbx", base)
	f(`{app="foo"} |= "a" or "b"`, testEntry("xyz"), "", "DROP")
	f(`{app="foo"} != "a" or "b"`, testEntry("xbx"), "", "DROP")
	f(`{app="foo"} != "a" or "b"`, testEntry("xyz"), "xyz", base)
	f(`{app="foo"} |= "x" |= "z"`, testEntry("x only"), "", "DROP")
	f(`{app="foo"} |= ip("10.0.0.0/8")`, testEntry("client 10.1.2.3:443 connected"), "client 10.1.2.3:443 connected", base)
	f(`{app="foo"} |= ip("10.0.0.0/8")`, testEntry("client 11.0.0.1 connected"), "", "DROP")
	f(`{app="foo"} != ip("192.168.1.1-192.168.1.9")`, testEntry("from 192.168.1.5"), "", "DROP")
	f(`{app="foo"} |= ip("::1")`, testEntry("from [::1]:80"), "from [::1]:80", base)
	f(`{app="foo"} |> "<_> error <_>"`, testEntry("a error b"), "a error b", base)
	f(`{app="foo"} |> "<_> error <_>"`, testEntry("error b"), "", "DROP")
	f(`{app="foo"} !> "GET <_>"`, testEntry("GET /"), "", "DROP")

	// json
	f(`{app="foo"} | json`, testEntry(`{"a":{"b":1},"c":"x","arr":[1,2],"n":null,"t":true}`), `{"a":{"b":1},"c":"x","arr":[1,2],"n":null,"t":true}`, `{a_b="1", app="foo", c="x", env="prod", t="true", trace_id="abc"}`)
	f(`{app="foo"} | json`, testEntry(`{"app":"bar","x y":"1","9z":"2","e":"a\"b\u00e9"}`), `{"app":"bar","x y":"1","9z":"2","e":"a\"b\u00e9"}`, `{_9z="2", app="foo", app_extracted="bar", e="a\"bé", env="prod", trace_id="abc", x_y="1"}`)
	f(`{app="foo"} | json`, testEntry(`{"trace_id":"zzz"}`), `{"trace_id":"zzz"}`, `{app="foo", env="prod", trace_id="zzz"}`)
	f(`{app="foo"} | json`, testEntry(`{"a":1,"a":2}`), `{"a":1,"a":2}`, `{a="1", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | json`, testEntry(`not json`), `not json`, `{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | json`, testEntry(`{"a":"b", oops}`), `{"a":"b", oops}`, `{__error__="JSONParserErr", __error_details__="Malformed JSON error", a="b", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | json | __error__=""`, testEntry(`not json`), "", "DROP")
	f(`{app="foo"} | json | drop __error__, __error_details__`, testEntry(`not json`), `not json`, base)
	f(`{app="foo"} | json x="a.b", y="arr[1]", z="missing", w="o"`, testEntry(`{"a":{"b":"q"},"arr":[1,2],"o":{"k":[]}}`), `{"a":{"b":"q"},"arr":[1,2],"o":{"k":[]}}`, `{app="foo", env="prod", trace_id="abc", w="{\"k\":[]}", x="q", y="2", z=""}`)
	f(`{app="foo"} | json app="a"`, testEntry(`{"a":"x"}`), `{"a":"x"}`, `{app="foo", app_extracted="x", env="prod", trace_id="abc"}`)

	// logfmt
	f(`{app="foo"} | logfmt`, testEntry(`level=info msg="hello world" dur=5ms empty= bare`), `level=info msg="hello world" dur=5ms empty= bare`, `{app="foo", dur="5ms", env="prod", level="info", msg="hello world", trace_id="abc"}`)
	f(`{app="foo"} | logfmt --keep-empty`, testEntry(`a=1 empty= bare`), `a=1 empty= bare`, `{a="1", app="foo", bare="", empty="", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | logfmt`, testEntry(`a=1 =b c=2`), `a=1 =b c=2`, `{a="1", app="foo", c="2", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | logfmt --strict`, testEntry(`a=1 =b c=2`), `a=1 =b c=2`, `{__error__="LogfmtParserErr", __error_details__="logfmt syntax error at pos 5 : unexpected '='", a="1", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | logfmt`, testEntry(`msg="a \"quoted\" word" app=x`), `msg="a \"quoted\" word" app=x`, `{app="foo", app_extracted="x", env="prod", msg="a \"quoted\" word", trace_id="abc"}`)
	f(`{app="foo"} | logfmt m="msg", missing`, testEntry(`msg=hi level=info`), `msg=hi level=info`, `{app="foo", env="prod", m="hi", missing="", trace_id="abc"}`)

	// regexp, pattern, unpack
	f(`{app="foo"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`, testEntry("GET /api 200"), "GET /api 200", `{app="foo", env="prod", method="GET", path="/api", trace_id="abc"}`)
	f(`{app="foo"} | regexp "(?P<method>\\w+) (?P<path>\\S+)"`, testEntry("-"), "-", base)
	f(`{app="foo"} | regexp "(?P<env>\\w+)"`, testEntry("dev"), "dev", `{app="foo", env="prod", env_extracted="dev", trace_id="abc"}`)
	f(`{app="foo"} | pattern "<ip> - <_> \"<method> <path>\" <status>"`, testEntry(`1.2.3.4 - frank "GET /x" 200`), `1.2.3.4 - frank "GET /x" 200`, `{app="foo", env="prod", ip="1.2.3.4", method="GET", path="/x", status="200", trace_id="abc"}`)
	f(`{app="foo"} | pattern "<a> <b>"`, testEntry("onlyone"), "onlyone", `{a="onlyone", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | unpack`, testEntry(`{"_entry":"original line","k":"v","n":1}`), "original line", `{app="foo", env="prod", k="v", trace_id="abc"}`)

	// label filters, structured metadata as labels
	f(`{app="foo"} | logfmt | status >= 500`, testEntry("status=503"), "status=503", `{app="foo", env="prod", status="503", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | status >= 500`, testEntry("status=200"), "", "DROP")
	f(`{app="foo"} | logfmt | status >= 500`, testEntry("other=1"), "", "DROP")
	f(`{app="foo"} | logfmt | status >= 500`, testEntry("status=abc"), "status=abc", `{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", app="foo", env="prod", status="abc", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | status == 200`, testEntry("status=200.0"), "status=200.0", `{app="foo", env="prod", status="200.0", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | latency > 250ms`, testEntry("latency=300ms"), "latency=300ms", `{app="foo", env="prod", latency="300ms", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | latency > 250ms`, testEntry("latency=100ms"), "", "DROP")
	f(`{app="foo"} | logfmt | latency > 250ms`, testEntry("latency=1s"), "latency=1s", `{app="foo", env="prod", latency="1s", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | size > 1KB`, testEntry("size=2KB"), "size=2KB", `{app="foo", env="prod", size="2KB", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | size > 1KB`, testEntry("size=500B"), "", "DROP")
	f(`{app="foo"} | logfmt | size <= 1KiB`, testEntry("size=1024"), "size=1024", `{app="foo", env="prod", size="1024", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | level="error" or status >= 500`, testEntry("level=info status=502"), "level=info status=502", `{app="foo", env="prod", level="info", status="502", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | level="error" and status >= 500`, testEntry("level=info status=502"), "", "DROP")
	f(`{app="foo"} | logfmt | level=~"warn|error", status != 200`, testEntry("level=warn status=404"), "level=warn status=404", `{app="foo", env="prod", level="warn", status="404", trace_id="abc"}`)
	f(`{app="foo"} | trace_id="abc"`, testEntry("x"), "x", base)
	f(`{app="foo"} | trace_id!="abc"`, testEntry("x"), "", "DROP")
	f(`{app="foo"} | env="prod"`, testEntry("x"), "x", base)
	f(`{app="foo"} | missing=""`, testEntry("x"), "x", base)
	f(`{app="foo"} | logfmt | addr=ip("10.0.0.0/8")`, testEntry("addr=10.9.8.7"), "addr=10.9.8.7", `{addr="10.9.8.7", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | addr!=ip("10.0.0.0/8")`, testEntry("addr=10.9.8.7"), "", "DROP")
	f(`{app="foo"} | json | x > 1`, testEntry("not json"), "not json", `{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="foo", env="prod", trace_id="abc"}`)

	// formatting
	f(`{app="foo"} | logfmt | line_format "{{.level | ToUpper}}: {{.msg}}"`, testEntry(`level=info msg="hello world"`), "INFO: hello world", `{app="foo", env="prod", level="info", msg="hello world", trace_id="abc"}`)
	f(`{app="foo"} | line_format "{{ __line__ }} @ {{ __timestamp__ | unixEpoch }} {{ .missing }}|"`, testEntry("x"), "x @ 1700000000 |", base)
	f(`{app="foo"} | logfmt | line_format "{{ add .a 2 }} {{ mulf .a 1.5 }} {{ default \"none\" .b }} {{ printf \"%05d\" (int .a) }}"`, testEntry("a=3"), "5 4.5 none 00003", `{a="3", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | line_format "{{ .app | trunc 2 }} {{ regexReplaceAll \"o+\" .app \"0\" }} {{ title \"a b\" }} {{ if eq .env \"prod\" }}P{{ end }}"`, testEntry("x"), "fo f0 A B P", base)
	f(`{app="foo"} | line_format "{{ div 1 0 }}"`, testEntry("x"), "x", `{__error__="TemplateFormatErr", __error_details__="template: :1:3: executing \"\" at <div 1 0>: error calling div: division by zero", app="foo", env="prod", trace_id="abc"}`)
	f(`{app="foo"} | line_format "{{.env}}" |= "prod"`, testEntry("x"), "prod", base)
	f(`{app="foo"} | logfmt | label_format lvl=level`, testEntry("level=info"), "level=info", `{app="foo", env="prod", lvl="info", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | label_format short="{{ trunc 3 .msg }}", app="{{.app}}-x"`, testEntry("msg=abcdef"), "msg=abcdef", `{app="foo-x", env="prod", msg="abcdef", short="abc", trace_id="abc"}`)
	f(`{app="foo"} | label_format environment=env`, testEntry("x"), "x", `{app="foo", environment="prod", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | label_format level="x"`, testEntry("level=info"), "level=info", `{app="foo", env="prod", level="x", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | regexp "(?P<level>\\w+)"`, testEntry("level=info"), "level=info", `{app="foo", env="prod", level="info", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | drop level, msg="hello"`, testEntry("level=info msg=hello"), "level=info msg=hello", base)
	f(`{app="foo"} | logfmt | drop msg="other", env`, testEntry("msg=hello"), "msg=hello", `{app="foo", msg="hello", trace_id="abc"}`)
	f(`{app="foo"} | logfmt | keep level, app`, testEntry("level=info msg=hello"), "level=info msg=hello", `{app="foo", level="info"}`)
	f(`{app="foo"} | logfmt | keep level="warn"`, testEntry("level=info"), "level=info", `{}`)
	f(`{app="foo"} | json | keep app`, testEntry("oops"), "oops", `{__error__="JSONParserErr", __error_details__="Value looks like object, but can't find closing '}' symbol", app="foo"}`)
	f(`{app="foo"} | decolorize`, testEntry("\x1b[31mred\x1b[0m text"), "red text", base)

	// structured metadata that clashes with a stream label
	f(`{app="foo"}`, Entry{Line: "x", Stream: FromStrings("app", "foo"), Metadata: FromStrings("app", "meta")}, "x", `{app="foo", app_extracted="meta"}`)
}

func TestPipelineCategorized(t *testing.T) {
	lq, err := ParseLogQuery(`{app="foo"} | logfmt | drop env`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(lq)
	if err != nil {
		t.Fatal(err)
	}
	_, c, ok := p.ProcessCategorized(testEntry("level=info trace_id=xyz"))
	if !ok {
		t.Fatal("dropped")
	}
	got := c.Stream.String() + " " + c.StructuredMetadata.String() + " " + c.Parsed.String()
	want := `{app="foo"} {} {level="info", trace_id="xyz"}`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestPipelineReusesLabels(t *testing.T) {
	lq, err := ParseLogQuery(`{app="foo"} | logfmt`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(lq)
	if err != nil {
		t.Fatal(err)
	}
	_, a, _ := p.Process(testEntry("level=info"))
	_, b, _ := p.Process(testEntry("level=info"))
	_, c, _ := p.Process(testEntry("level=warn"))
	if &a[0] != &b[0] {
		t.Errorf("equal label sets are not shared")
	}
	if strings.Contains(a.String(), "warn") || !strings.Contains(c.String(), "warn") {
		t.Errorf("label sets overwrite each other: %s %s", a, c)
	}
}
