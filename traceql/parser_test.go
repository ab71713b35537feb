package traceql

import (
	"errors"
	"strings"
	"testing"
)

// forEachParseCase calls f with each query of the table and its canonical
// String(), or the exact error when the query must fail.
func forEachParseCase(f func(q, want string)) {
	// What Grafana's Tempo datasource sends (grafana-api-contract.md §5).
	f(`{}`, `{}`)
	f(`{ }`, `{}`)
	f(`{resource.service.name="checkout" && name="POST /pay" && status=error && duration>1s && span.http.status_code>=500}`,
		`{ resource.service.name = "checkout" && name = "POST /pay" && status = error && duration > 1s && span.http.status_code >= 500 }`)
	f(`{(resource.service.name="a" || resource.service.name="b") && traceDuration<2m}`,
		`{ (resource.service.name = "a" || resource.service.name = "b") && traceDuration < 2m }`)
	f(`{.http.method="GET"}`, `{ .http.method = "GET" }`)
	f(`{ .http.status_code >= 500 }`, `{ .http.status_code >= 500 }`)
	f(`{status=error}`, `{ status = error }`)
	f(`{status=ok}`, `{ status = ok }`)
	f(`{status!=unset}`, `{ status != unset }`)
	f(`{kind=server}`, `{ kind = server }`)
	f(`{kind=client || kind=producer || kind=consumer || kind=internal || kind=unspecified}`,
		`{ kind = client || kind = producer || kind = consumer || kind = internal || kind = unspecified }`)
	f(`{statusMessage=~".*timeout.*"}`, `{ statusMessage =~ ".*timeout.*" }`)
	f("{\n  name = \"x\"\n}", `{ name = "x" }`)

	// Durations.
	f(`{duration>100ms}`, `{ duration > 100ms }`)
	f(`{duration > 1.5s}`, `{ duration > 1.5s }`)
	f(`{duration > 1500ms}`, `{ duration > 1.5s }`)
	f(`{duration < 2h}`, `{ duration < 2h }`)
	f(`{duration > 1h30m}`, `{ duration > 90m }`)
	f(`{duration >= 10us}`, `{ duration >= 10us }`)
	f(`{duration >= 10µs}`, `{ duration >= 10us }`)
	f(`{duration >= 250ns}`, `{ duration >= 250ns }`)
	f(`{traceDuration > 1d}`, `{ traceDuration > 24h }`)
	f(`{duration > 1h0m0.5s}`, `{ duration > 1h0m0.5s }`)
	f(`{duration > -1s}`, `{ duration > -1s }`)

	// Intrinsics, colon forms become the short canonical spelling.
	f(`{span:name="x" && span:status=error && span:kind=server && span:duration>1s}`,
		`{ name = "x" && status = error && kind = server && duration > 1s }`)
	f(`{trace:rootName="GET /" && trace:rootService="frontend" && trace:duration>5s}`,
		`{ rootName = "GET /" && rootServiceName = "frontend" && traceDuration > 5s }`)
	f(`{span:statusMessage!="" && span:childCount>2 && childCount<10}`,
		`{ statusMessage != "" && childCount > 2 && childCount < 10 }`)
	f(`{span:id="00f067aa0ba902b7" || span:parentID="" || trace:id="4bf92f3577b34da6a3ce929d0e0e4736"}`,
		`{ span:id = "00f067aa0ba902b7" || span:parentID = "" || trace:id = "4bf92f3577b34da6a3ce929d0e0e4736" }`)
	f(`{rootName="GET /" && rootServiceName="frontend"}`, `{ rootName = "GET /" && rootServiceName = "frontend" }`)

	// Attributes and quoting.
	f(`{span."a b"="c"}`, `{ span."a b" = "c" }`)
	f(`{resource."k8s pod" != nil}`, `{ resource."k8s pod" != nil }`)
	f(`{."plain"=1}`, `{ .plain = 1 }`)
	f(`{span.foo-bar/baz:1=1}`, `{ span.foo-bar/baz:1 = 1 }`)
	f(`{span."quote\"d"=1}`, `{ span."quote\"d" = 1 }`)
	f(`{resource.service.name != nil && span.db.system = nil}`, `{ resource.service.name != nil && span.db.system = nil }`)

	// Statics.
	f(`{.a='single' && .b="esc\"aped\n" && .c=`+"`raw\\d`"+`}`,
		`{ .a = "single" && .b = "esc\"aped\n" && .c = "raw\\d" }`)
	f(`{.a = 1.5 || .a = 1e3 || .a = 2.0 || .a = 1.5e-7}`, `{ .a = 1.5 || .a = 1000.0 || .a = 2.0 || .a = 1.5e-07 }`)
	f(`{.a = -1 || .a = - 1.5 || .a = -(2)}`, `{ .a = -1 || .a = -1.5 || .a = -2 }`)
	f(`{.a = true && .b != false}`, `{ .a = true && .b != false }`)
	f(`{ true }`, `{ true }`)

	// Regexes.
	f(`{.deployment.environment =~ "prod-.*"}`, `{ .deployment.environment =~ "prod-.*" }`)
	f(`{name !~ "GET .*|HEAD .*"}`, `{ name !~ "GET .*|HEAD .*" }`)

	// Arithmetic and precedence.
	f(`{.a + .b>3}`, `{ .a + .b > 3 }`)
	f(`{.a * 2 + 1 > .b / 2}`, `{ .a * 2 + 1 > .b / 2 }`)
	f(`{(.a + 1) * 2 > 3}`, `{ (.a + 1) * 2 > 3 }`)
	f(`{.a - (.b - .c) > 0}`, `{ .a - (.b - .c) > 0 }`)
	// As in Tempo, an unquoted attribute name runs until a space or one of
	// {}()=~!<>&|^, so these are names, not arithmetic.
	f(`{.a+.b>3}`, `{ .a+.b > 3 }`)
	f(`{.a-(.b) > 0}`, `parse error at line 1, col 5: expected "}" or an operator, got "("`)
	f(`{.a % 2 = 0}`, `{ .a % 2 = 0 }`)
	f(`{2^3^2 = 512}`, `{ 2 ^ 3 ^ 2 = 512 }`)
	f(`{(2^3)^2 = 64}`, `{ (2 ^ 3) ^ 2 = 64 }`)
	f(`{-2^2 = -4}`, `{ -2 ^ 2 = -4 }`)
	f(`{(-2)^2 = 4}`, `{ (-2) ^ 2 = 4 }`)
	f(`{.a ^ -1 > 0}`, `{ .a ^ (-1) > 0 }`)
	f(`{-.a > 0}`, `{ -.a > 0 }`)

	// Boolean structure; && and || share one precedence level, as in Tempo.
	f(`{.a || .b && .c}`, `{ (.a || .b) && .c }`)
	f(`{.a && .b || .c}`, `{ (.a && .b) || .c }`)
	f(`{.a && (.b || .c)}`, `{ .a && (.b || .c) }`)
	f(`{.a && .b && .c}`, `{ .a && .b && .c }`)
	f(`{!(.a = 1)}`, `{ !(.a = 1) }`)
	f(`{!.flag && !!.other}`, `{ !.flag && !!.other }`)
	f(`{(((name = "x")))}`, `{ name = "x" }`)

	// Spanset operators.
	f(`{.a=1} && {.b=2}`, `{ .a = 1 } && { .b = 2 }`)
	f(`{.a=1}||{.b=2}`, `{ .a = 1 } || { .b = 2 }`)
	f(`{.a=1} >> {.b=2}`, `{ .a = 1 } >> { .b = 2 }`)
	f(`{.a=1} > {.b=2}`, `{ .a = 1 } > { .b = 2 }`)
	f(`{.a=1} << {.b=2}`, `{ .a = 1 } << { .b = 2 }`)
	f(`{.a=1} < {.b=2}`, `{ .a = 1 } < { .b = 2 }`)
	f(`{.a=1} ~ {.b=2}`, `{ .a = 1 } ~ { .b = 2 }`)
	f(`{.a=1} !>> {.b=2} !> {} !<< {} !< {} !~ {}`, `{ .a = 1 } !>> { .b = 2 } !> {} !<< {} !< {} !~ {}`)
	f(`{.a=1} &>> {.b=2} &> {} &<< {} &< {} &~ {}`, `{ .a = 1 } &>> { .b = 2 } &> {} &<< {} &< {} &~ {}`)
	f(`({.a=1} || {.b=1}) && {.c=1}`, `({ .a = 1 } || { .b = 1 }) && { .c = 1 }`)
	f(`{.a=1} || {.b=1} && {.c=1}`, `({ .a = 1 } || { .b = 1 }) && { .c = 1 }`)
	f(`{.a=1} && ({.b=1} || {.c=1})`, `{ .a = 1 } && ({ .b = 1 } || { .c = 1 })`)
	f(`{.a=1} && {.b=1} >> {.c=1}`, `{ .a = 1 } && { .b = 1 } >> { .c = 1 }`)
	f(`({.a=1} && {.b=1}) >> {.c=1}`, `({ .a = 1 } && { .b = 1 }) >> { .c = 1 }`)
	f(`{.a=1} >> ({.b=1} >> {.c=1})`, `{ .a = 1 } >> ({ .b = 1 } >> { .c = 1 })`)

	// Pipelines.
	f(`{}|count()>2`, `{} | count() > 2`)
	f(`{ } | avg(duration) > 1s`, `{} | avg(duration) > 1s`)
	f(`{status=error} | min(duration) < 10ms | max(span.bytes) >= 1000 | sum(.x) = 10`,
		`{ status = error } | min(duration) < 10ms | max(span.bytes) >= 1000 | sum(.x) = 10`)
	f(`{} | by(resource.service.name) | count() > 2`, `{} | by(resource.service.name) | count() > 2`)
	f(`{} | select(span.http.url, duration, .x)`, `{} | select(span.http.url, duration, .x)`)
	f(`{} | by(.x) | count() > 1 | coalesce()`, `{} | by(.x) | count() > 1 | coalesce()`)
	f(`{.a=1} | {.b=2}`, `{ .a = 1 } | { .b = 2 }`)
	f(`{} | (count() + 1) * 2 > 10`, `{} | (count() + 1) * 2 > 10`)
	f(`{} | 2 < count()`, `{} | 2 < count()`)
	f(`{} | count() > -1`, `{} | count() > -1`)
	f(`count() > 2`, `count() > 2`)
	f(`({.a=1} | count() > 1) && {.b=2}`, `({ .a = 1 } | count() > 1) && { .b = 2 }`)
	f(`{.a=1} | {.b=2} && {.c=3}`, `{ .a = 1 } | { .b = 2 } && { .c = 3 }`)

	// Errors, with their positions.
	f(``, `parse error at line 1, col 1: empty query; use {} to match all spans`)
	f(`{`, `parse error at line 1, col 2: expected a field expression, got end of query`)
	f(`{ name = "x"`, `parse error at line 1, col 13: expected "}" or an operator, got end of query`)
	f(`{ name = }`, `parse error at line 1, col 10: expected a field expression, got "}"`)
	f(`{ name = "x" } extra`, `parse error at line 1, col 16: unexpected "extra"`)
	f(`{ foo = 1 }`, `parse error at line 1, col 3: unknown identifier "foo" (attributes need a scope: span.foo, resource.foo or .foo)`)
	f(`{ name = 1 }`, `parse error at line 1, col 8: operator = cannot compare string with int`)
	f(`{ status = "error" }`, `parse error at line 1, col 10: operator = cannot compare status with string`)
	f(`{ status > error }`, `parse error at line 1, col 10: operator > needs numbers, durations or strings, got status and status`)
	f(`{ kind = error }`, `parse error at line 1, col 8: operator = cannot compare kind with status`)
	f(`{ duration > "1s" }`, `parse error at line 1, col 12: operator > cannot compare duration with string`)
	f(`{ duration > 1x }`, `parse error at line 1, col 14: invalid duration "1x" (units: ns, us, ms, s, m, h, d, w, y)`)
	f(`{ .a =~ 1 }`, `parse error at line 1, col 6: operator =~ needs a string literal on the right, got int`)
	f(`{ duration =~ "1" }`, `parse error at line 1, col 12: operator =~ needs a string on the left, got duration`)
	f(`{ .a =~ "(" }`, "parse error at line 1, col 6: invalid regular expression \"(\": error parsing regexp: missing closing ): `(`")
	f(`{ name }`, `parse error at line 1, col 1: a spanset filter needs a boolean expression, got string`)
	f(`{ 1 + 1 }`, `parse error at line 1, col 1: a spanset filter needs a boolean expression, got int`)
	f(`{ .a = "unterminated }`, `parse error at line 1, col 8: unterminated string`)
	f(`{ .a = "bad \q" }`, `parse error at line 1, col 13: invalid escape sequence in string`)
	f(`{ .a && 1 }`, `parse error at line 1, col 6: operator && needs boolean operands, got attribute and int`)
	f(`{ !name }`, `parse error at line 1, col 3: operator ! needs a boolean operand, got string`)
	f(`{ -name > 1 }`, `parse error at line 1, col 3: unary - needs a number or duration, got string`)
	f(`{ !.a = 1 }`, `parse error at line 1, col 7: operator = cannot compare bool with int (! binds tighter than comparisons: write !(a = b))`)
	f(`{ .a < nil }`, `parse error at line 1, col 6: operator < needs numbers, durations or strings, got attribute and nil`)
	f(`{ span. = 1 }`, `parse error at line 1, col 3: expected an attribute name after "span."`)
	f(`{ . = 1 }`, `parse error at line 1, col 3: expected an attribute name after "."`)
	f(`{ event.name = "x" }`, `parse error at line 1, col 3: the event scope is not supported`)
	f(`{ parent.x = 1 }`, `parse error at line 1, col 3: the parent scope is not supported`)
	f(`{ span:foo = 1 }`, `parse error at line 1, col 3: unknown or unsupported intrinsic "span:foo"`)
	f(`{ event:name = "x" }`, `parse error at line 1, col 3: unknown or unsupported intrinsic "event:name"`)
	f(`{ count() > 1 }`, `parse error at line 1, col 3: count() is an aggregate: use it after a pipe, as in { ... } | count(...) > 1`)
	f(`{} | count(duration) > 1`, `parse error at line 1, col 12: expected ")" (count takes no arguments), got "duration"`)
	f(`{} | avg(name) > 1`, `parse error at line 1, col 6: avg() needs a number or duration, got string`)
	f(`{} | avg(duration)`, `parse error at line 1, col 19: expected a comparison (= != < <= > >=) after avg(duration), got end of query`)
	f(`{} | count() =~ 1`, `parse error at line 1, col 14: expected a comparison (= != < <= > >=) after count(), got "=~"`)
	f(`{} |`, `parse error at line 1, col 5: expected a spanset filter such as { status = error }, got end of query`)
	f(`{} && `, `parse error at line 1, col 7: expected a spanset filter such as { status = error }, got end of query`)
	f(`{} & {}`, `parse error at line 1, col 4: unexpected character '&'`)
	f(`{ .a = 99999999999999999999 }`, `parse error at line 1, col 8: invalid integer "99999999999999999999" (out of range)`)
	f(`{ .a = 1e400 }`, `parse error at line 1, col 8: invalid number "1e400"`)
	f(`{ .a = 1 }}`, `parse error at line 1, col 11: unexpected "}"`)
	f(`@`, `parse error at line 1, col 1: unexpected character '@'`)
	f("{\n  name = 1\n}", `parse error at line 2, col 8: operator = cannot compare string with int`)
	f(`{ name = "é" && foo }`, `parse error at line 1, col 17: unknown identifier "foo" (attributes need a scope: span.foo, resource.foo or .foo)`)
	f(`{} | by()`, `parse error at line 1, col 9: expected a field expression, got ")"`)
	f(`{} | select(1)`, `parse error at line 1, col 13: select() takes attributes or intrinsics, got "1"`)
	f(`{} | coalesce(1)`, `parse error at line 1, col 15: expected ")" (coalesce takes no arguments), got "1"`)
	f(`{ by(.x) }`, `parse error at line 1, col 3: by() is a pipeline stage: use it after a pipe`)
	f(`{ .a = 1 } | rate()`, `parse error at line 1, col 14: expected a spanset filter such as { status = error }, got "rate"`)
	f(`{ parent = 1 }`, `parse error at line 1, col 3: intrinsic "parent" is not supported`)
	f(`{ span."a"b = 1 }`, `parse error at line 1, col 11: unexpected 'b' after quoted attribute name`)
	f(`{ `+strings.Repeat("(", 300)+`true`+strings.Repeat(")", 300)+` }`,
		`parse error at line 1, col 201: query is nested too deeply (more than 200 levels)`)
}

// TestParse checks the canonical form of valid queries and the exact error
// of invalid ones. want is the canonical String(), or the error text.
func TestParse(t *testing.T) {
	n := 0
	forEachParseCase(func(q, want string) {
		t.Helper()
		n++
		got, err := Parse(q)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%q): error %T is not a *ParseError", q, err)
			}
			if err.Error() != want {
				t.Errorf("Parse(%q):\n got error %s\nwant       %s", q, err, want)
			}
			return
		}
		s := got.String()
		if s != want {
			t.Errorf("Parse(%q).String():\n got %s\nwant %s", q, s, want)
			return
		}
		again, err := Parse(s)
		if err != nil {
			t.Errorf("canonical form %q does not parse: %s", s, err)
			return
		}
		if again.String() != s {
			t.Errorf("round trip of %q gave %q", s, again.String())
		}
	})
	if n < 60 {
		t.Fatalf("only %d parse cases", n)
	}
}

func TestParseErrorType(t *testing.T) {
	_, err := Parse(`{ name = 1 }`)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %T", err)
	}
	if pe.Line != 1 || pe.Col != 8 {
		t.Errorf("position: got line %d col %d, want 1 and 8", pe.Line, pe.Col)
	}
}

func TestSelects(t *testing.T) {
	q, err := Parse(`({} | select(span.a, name)) && {} | select(name, resource.b)`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range q.Selects() {
		got = append(got, a.String())
	}
	if want := "span.a name resource.b"; strings.Join(got, " ") != want {
		t.Errorf("Selects: got %q, want %q", got, want)
	}
}
