//go:build !linux

package app

func adviseHeapHugePages(int64) (start, end uintptr, why string) {
	return 0, 0, "huge pages are advised on Linux only"
}
