package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentExt = ".wal"

func segmentName(seg int) string {
	return fmt.Sprintf("%08d%s", seg, segmentExt)
}

func segmentPath(dir string, seg int) string {
	return filepath.Join(dir, segmentName(seg))
}

// parseSegmentName accepts only names segmentName produces, so "1.wal" and
// "00000001.wal" can never both count as segment 1.
func parseSegmentName(name string) (int, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok {
		return 0, false
	}
	seg, err := strconv.Atoi(digits)
	if err != nil || seg <= 0 || segmentName(seg) != name {
		return 0, false
	}
	return seg, true
}

// listSegments returns the segment numbers in dir, ascending, ignoring
// other files.
func listSegments(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list segments: %w", err)
	}
	var segs []int
	for _, e := range entries {
		if seg, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, seg)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// syncDir makes creations and deletions of files in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
