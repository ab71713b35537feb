package app

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// vmaFlags reads /proc/self/smaps: each mapping's address range and VmFlags.
func vmaFlags(t *testing.T) (ranges [][2]uintptr, flags [][]string) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			flags[len(flags)-1] = strings.Fields(rest)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue // a field line ("Rss: ...")
		}
		ranges = append(ranges, [2]uintptr{uintptr(a), uintptr(b)})
		flags = append(flags, nil)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ranges, flags
}

// vmRSS is the process's resident memory, from /proc/self/status.
func vmRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("/proc/self/status: no VmRSS")
	return 0
}

func TestAdviseHeapHugePages(t *testing.T) {
	const n = 64 << 20
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rss := vmRSS(t)
	start, end, why := adviseHeapHugePages(n)
	// Nothing is touched: the mapping is not resident memory until the heap uses it.
	if grown := vmRSS(t) - rss; grown > n/4 {
		t.Errorf("RSS grew by %d bytes advising %d: the memory was touched", grown, n)
	}

	if mode := thpMode(); mode != "madvise" {
		if why == "" || start != 0 || end != 0 {
			t.Fatalf("THP mode %q: advised [%#x, %#x) (%q); want nothing advised and a reason", mode, start, end, why)
		}
		t.Logf("THP mode %q: %s", mode, why)
		return
	}
	if why != "" {
		t.Fatalf("THP mode madvise: nothing advised: %s", why)
	}
	if start%hugePageBytes != 0 || end%hugePageBytes != 0 || end-start < n-hugePageBytes {
		t.Fatalf("advised [%#x, %#x): want %d bytes or more, aligned to huge pages", start, end, n-hugePageBytes)
	}
	// Every mapping over the range carries the advice (hg), and they cover all of it.
	ranges, flags := vmaFlags(t)
	covered := uintptr(0)
	for k, r := range ranges {
		lo, hi := max(r[0], start), min(r[1], end)
		if lo >= hi {
			continue
		}
		covered += hi - lo
		if !strings.Contains(" "+strings.Join(flags[k], " ")+" ", " hg ") {
			t.Errorf("mapping %#x-%#x over the advised range has VmFlags %v, no hg", r[0], r[1], flags[k])
		}
	}
	if covered != end-start {
		t.Errorf("mappings cover %d of the %d advised bytes", covered, end-start)
	}
	// The memory went back to the heap: it is not held in use.
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.HeapInuse > before.HeapInuse+n/4 {
		t.Errorf("heap in use grew from %d to %d bytes: the advised memory was not freed", before.HeapInuse, after.HeapInuse)
	}
}
