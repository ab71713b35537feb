package clickhouse

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"
)

func randomLines(rng *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`10.0.%d.%d - - "GET /api/v1/orders/%d HTTP/1.1" %d %d rid=%08x user=u-%06d`,
			rng.IntN(8), rng.IntN(250), rng.IntN(1000000), 200+rng.IntN(4)*100, rng.IntN(20000), rng.Uint32(), rng.IntN(1000000))
	}
	return out
}

func allRows(n int) []int32 {
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i)
	}
	return rows
}

func gramsOf(lit string) []uint64 {
	var out []uint64
	for i := 0; i+gramLen <= len(lit); i++ {
		out = append(out, gramHash(gramAt(lit, i)))
	}
	return out
}

// A bloom never loses a substring of a line it was built from: a block is skipped only
// when some 4-gram of the literal is in none of its lines.
func TestBloomHasEverySubstring(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 7, 100, 3000} {
		lines := randomLines(rng, n)
		bloom, _ := bloomOf(lineList(lines), allRows(n), nil)
		for k := 0; k < 2000; k++ {
			l := lines[rng.IntN(n)]
			i := rng.IntN(len(l) - gramLen)
			j := i + gramLen + rng.IntN(min(20, len(l)-i-gramLen+1))
			if !bloomHas(string(bloom), gramsOf(l[i:j])) {
				t.Fatalf("%d lines: bloom lost %q of %q", n, l[i:j], l)
			}
		}
	}
}

// setGrams reads five 4-grams per 8-byte load: for lines of every length around the
// load's edges it sets exactly the bits of a hash per position.
func TestSetGramsSetsEveryPosition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const mask = 1<<12 - 1
	for n := 0; n <= 40; n++ {
		for k := 0; k < 20; k++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			s := string(b)
			got := make([]uint64, (mask+1)/64)
			setGrams(got, mask, s)
			want := make([]uint64, len(got))
			for i := 0; i+gramLen <= len(s); i++ {
				p := gramHash(gramAt(s, i)) & mask
				want[p>>6] |= 1 << (p & 63)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("line of %d bytes %q: bits differ from one hash per position", n, s)
			}
		}
	}
}

// Blooms shrink with repetition and stay at most half full, so a 14-byte literal that
// is in no line passes only a small share of blocks.
func TestBloomSizeAndFalsePositives(t *testing.T) {
	same := make([]string, 1000)
	for i := range same {
		same[i] = "GET /healthz 200 ok"
	}
	if b, _ := bloomOf(lineList(same), allRows(len(same)), nil); len(b) != minBloomBits/8 {
		t.Errorf("1000 identical lines: bloom of %d bytes, want the minimum %d", len(b), minBloomBits/8)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	blocks, passed := 300, 0
	for k := 0; k < blocks; k++ {
		lines := randomLines(rng, 500)
		bloom, _ := bloomOf(lineList(lines), allRows(len(lines)), nil)
		set := 0
		for _, c := range bloom {
			for ; c != 0; c &= c - 1 {
				set++
			}
		}
		if fill := float64(set) / float64(8*len(bloom)); fill > maxBloomFill {
			t.Fatalf("bloom of 500 lines is %.2f full, want at most %.2f", fill, maxBloomFill)
		}
		// Absent literals: random ones, and a fixed word whose 4-grams are each rare but
		// share bytes with the lines (a weak hash lets those collide together).
		for _, lit := range []string{fmt.Sprintf("k%013x", rng.Uint64()), "k7q2needle9zx4"} {
			if bloomHas(string(bloom), gramsOf(lit)) {
				passed++
			}
		}
	}
	// Half-full filters pass an absent 11-gram literal with odds 2^-11.
	if passed > 3 {
		t.Errorf("absent 14-byte literals passed %d of %d bloom tests", passed, 2*blocks)
	}
	if bloomHas("", nil) != true || bloomHas("abc", gramsOf("abcd")) != true {
		t.Error("a bloom this version did not write must keep its block")
	}
}

func TestMergeRanges(t *testing.T) {
	got := mergeRanges([]lineRange{{"b", 5, 9}, {"a", 10, 20}, {"a", 1, 3}, {"a", 3, 4}, {"a", 15, 30}, {"b", 10, 11}})
	want := []lineRange{{"a", 1, 4}, {"a", 10, 30}, {"b", 5, 9}, {"b", 10, 11}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged = %v, want %v", got, want)
	}
}

// BenchmarkBloomOf is the flush path's bloom cost per line: 200 blocks of 100 access
// lines, as a 20,000-record flush of 200 streams makes.
func BenchmarkBloomOf(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	lines := randomLines(rng, 20000)
	var bytes int
	for _, l := range lines {
		bytes += len(l)
	}
	b.SetBytes(int64(bytes))
	var scratch []uint64
	for b.Loop() {
		for k := 0; k < 200; k++ {
			rows := make([]int32, 100)
			for i := range rows {
				rows[i] = int32(k*100 + i)
			}
			_, scratch = bloomOf(lineList(lines), rows, scratch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}

// A regexp's required literals are substrings of every line it matches: only those
// narrow a read, so alternations, optional parts and (?i) give none.
func TestRequiredLiterals(t *testing.T) {
	for re, want := range map[string]string{
		`k7q2needle9zx4`:            `[k7q2needle9zx4]`,
		`rid=[0-9a-f]{4}beef`:       `[rid= beef]`,
		`error.*(timeout|refused)`:  `[error]`,
		`(connect(ion)?)+ reset`:    `[connect  reset]`,
		`(?:abcd){2,}x`:             `[abcd abcd x]`,
		`(?i)needle`:                `[]`,
		`(?i:abc)defg`:              `[defg]`,
		`needle|haystack`:           `[]`,
		`(needle)?`:                 `[]`,
		`a*needle`:                  `[needle]`,
		`^GET /api/v1/orders/\d+ 5`: `[GET /api/v1/orders/  5]`,
	} {
		r, err := syntax.Parse(re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(requiredLiterals(r.Simplify())); got != want {
			t.Errorf("requiredLiterals(%q) = %s, want %s", re, got, want)
		}
	}
	// Every line a regexp matches holds each literal it requires.
	rng := rand.New(rand.NewPCG(7, 8))
	for _, line := range randomLines(rng, 200) {
		for _, re := range []string{`rid=[0-9a-f]{8}`, `GET /api/v1/orders/\d+ HTTP`, `(\d+\.){2}\d+ - -`} {
			r, _ := syntax.Parse(re, syntax.Perl)
			if !regexp.MustCompile(re).MatchString(line) {
				continue
			}
			for _, lit := range requiredLiterals(r.Simplify()) {
				if !strings.Contains(line, lit) {
					t.Errorf("%q matches %q but lacks its required literal %q", re, line, lit)
				}
			}
		}
	}
}
