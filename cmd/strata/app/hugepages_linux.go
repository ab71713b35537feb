package app

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePageBytes = 2 << 20

// thpMode is the kernel's transparent huge page mode (always, madvise or never), or ""
// when it cannot be read.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	// The file lists the modes with the one in force in brackets: "always [madvise] never".
	i, j := bytes.IndexByte(b, '['), bytes.IndexByte(b, ']')
	if i < 0 || j < i {
		return ""
	}
	return string(b[i+1 : j])
}

// adviseHeapHugePages maps up to n bytes of Go heap at once, asks Linux to back them
// with transparent huge pages (MADV_HUGEPAGE), and gives them back to the runtime, which
// never unmaps heap memory: the spans it later carves from them fault in 2 MiB at a
// time instead of 4 KiB. The runtime maps heap in pieces as it grows and gives no such
// advice itself, so with THP in madvise mode its heap otherwise never gets huge pages.
// Nothing is touched here: the memory is counted in the process's RSS only once used.
// It returns the advised range, or why nothing was advised.
func adviseHeapHugePages(n int64) (start, end uintptr, why string) {
	switch mode := thpMode(); mode {
	case "madvise":
	case "always":
		return 0, 0, "transparent huge pages are always on: the heap gets them unasked"
	case "":
		return 0, 0, "the kernel has no transparent huge pages"
	default:
		return 0, 0, "transparent huge pages are " + mode
	}
	if b, err := os.ReadFile("/proc/sys/vm/overcommit_memory"); err == nil && bytes.HasPrefix(b, []byte("2")) {
		return 0, 0, "strict overcommit (vm.overcommit_memory=2) would charge the whole mapping at once"
	}
	// Half the machine's memory at most, so that the mapping never meets the kernel's
	// overcommit check, whatever the memory limit says.
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		n = min(n, int64(si.Totalram)*int64(si.Unit)/2)
	}
	if n < 2*hugePageBytes {
		return 0, 0, fmt.Sprintf("%d bytes is less than two huge pages", n)
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start = (p + hugePageBytes - 1) &^ (hugePageBytes - 1)
	end = (p + uintptr(n)) &^ (hugePageBytes - 1)
	err := unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	b = nil
	runtime.GC() // the heap takes the memory back now, not at the first collection
	if err != nil {
		return 0, 0, fmt.Sprintf("madvise: %v", err)
	}
	return start, end, ""
}
