package traceql

import "testing"

var fuzzSeeds = []string{
	`{}`,
	`{resource.service.name="checkout" && name="POST /pay" && status=error && duration>1s && span.http.status_code>=500}`,
	`{(resource.service.name="a" || resource.service.name="b") && traceDuration<2m}`,
	`{ .http.status_code >= 500 }`, `{kind=server}`, `{ span."a b" = 'x' }`, "{ .a = `raw` }",
	`{ name =~ "GET.*" } >> { status = error } | count() > 2`,
	`{} | by(resource.service.name) | avg(duration) > 1.5s | coalesce() | select(span.x)`,
	`({ .a = 1 } | count() > 1) && { .b = -2.5e3 } !~ {} &>> {}`,
	`{ -2 ^ 2 = -4 && !(.x % 3 = 0) || span:id != nil }`,
	`{ duration > 1h30m && trace:duration < 1d }`,
	`count() > 2`, `{ .a = 1 } || { .b = 2 } && { .c = 3 }`,
}

// FuzzParse checks that no input makes Parse, String, Pushdown or Eval
// panic, and that canonical forms round-trip.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	trace := testTrace()
	f.Fuzz(func(t *testing.T, in string) {
		q, err := Parse(in)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q): error %T is not a *ParseError", in, err)
			}
			return
		}
		s := q.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %s", in, s, err)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("canonical form is not stable:\n in  %q\n 1st %q\n 2nd %q", in, s, s2)
		}
		q.Pushdown()
		q.Eval(trace)
		q.EvalSpansets(trace)
	})
}
