package clickhouse_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// quoteCorpus holds strings that have broken SQL quoting somewhere.
var quoteCorpus = []string{
	"", "plain", "it's", `back\slash`, `\'`, `'\`, `\\'`, "''", `\x41`, `\0`, "?", "$1", "@p", "{x:String}",
	"new\nline", "tab\tcr\r", "nul\x00byte", "\x7f", "\x01\x1f", "ünïcödé ✓ 日本", "\xff\xfe", "a\xc3", "\xc3\x28",
	"'; DROP TABLE logs; --", "' OR 1=1 --", "\\\\''\\", "%_like_%", "\u2028\u2029", "emoji 😀", "\xed\xa0\x80",
}

// unquote parses a ClickHouse string literal with the server's rules: the reference the
// fuzzer checks Quote against without a server.
func unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\'':
			return "", false // an unescaped quote would end the literal early
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(body) {
			return "", false
		}
		switch e := body[i]; e {
		case 'x':
			if i+3 > len(body) {
				return "", false
			}
			v, ok := hexByte(body[i+1 : i+3])
			if !ok {
				return "", false
			}
			b.WriteByte(v)
			i += 2
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		default:
			b.WriteByte(e)
		}
	}
	return b.String(), true
}

func hexByte(s string) (byte, bool) {
	if len(s) != 2 {
		return 0, false
	}
	var v byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

func checkQuoted(t *testing.T, s string) {
	t.Helper()
	q := clickhouse.Quote(s)
	if !utf8.ValidString(q) {
		t.Fatalf("Quote(%q) = %q is not valid UTF-8", s, q)
	}
	for i := 0; i < len(q); i++ {
		if q[i] < 0x20 || q[i] == 0x7f {
			t.Fatalf("Quote(%q) = %q holds control byte %#x", s, q, q[i])
		}
	}
	got, ok := unquote(q)
	if !ok || got != s {
		t.Fatalf("Quote(%q) = %q parses back as %q (ok=%v)", s, q, got, ok)
	}
}

// FuzzQuote checks, without a server, that every quoted literal parses back to the input
// under ClickHouse's literal rules, stays one literal, and holds no raw control bytes.
func FuzzQuote(f *testing.F) {
	for _, s := range quoteCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkQuoted(t, s) })
}

// TestQuoteRoundTripsThroughServer sends quoted literals to the real server: SELECT of
// each literal must return the original bytes, and a WHERE built from them must match
// exactly the row it names.
func TestQuoteRoundTripsThroughServer(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	corpus := append([]string(nil), quoteCorpus...)
	for i := 0; i < 300; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		corpus = append(corpus, string(b))
	}
	for _, s := range corpus {
		checkQuoted(t, s)
		var got string
		if err := c.Conn().QueryRow(ctx, "SELECT "+clickhouse.Quote(s)).Scan(&got); err != nil {
			t.Fatalf("SELECT %s: %v", clickhouse.Quote(s), err)
		}
		if got != s {
			t.Errorf("SELECT %s = %q, want %q", clickhouse.Quote(s), got, s)
		}
		var n uint64
		q := "SELECT count() FROM (SELECT arrayJoin([" + clickhouse.Quote(s) + ", 'other', " + clickhouse.Quote(s+"x") + "]) AS v) WHERE v = " + clickhouse.Quote(s)
		if err := c.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		want := uint64(1)
		if s == "other" {
			want = 2
		}
		if n != want {
			t.Errorf("WHERE v = %s matched %d rows, want %d", clickhouse.Quote(s), n, want)
		}
	}
}
