package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	segmentExt = ".wal"
	// spareExt names a flushed segment's file kept to be overwritten by a
	// later segment (Config.RecycleSegments).
	spareExt = ".spare"
)

// numberedName is the file name of segment or spare seg: the number, zero-padded, and ext.
func numberedName(seg int, ext string) string { return fmt.Sprintf("%08d%s", seg, ext) }

func segmentName(seg int) string { return numberedName(seg, segmentExt) }

func segmentPath(dir string, seg int) string {
	return filepath.Join(dir, segmentName(seg))
}

func sparePath(dir string, seg int) string {
	return filepath.Join(dir, numberedName(seg, spareExt))
}

// parseSegmentName accepts only names segmentName produces, so "1.wal" and
// "00000001.wal" can never both count as segment 1.
func parseSegmentName(name string) (int, bool) { return parseNumbered(name, segmentExt) }

func parseSpareName(name string) (int, bool) { return parseNumbered(name, spareExt) }

func parseNumbered(name, ext string) (int, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok {
		return 0, false
	}
	seg, err := strconv.Atoi(digits)
	if err != nil || seg <= 0 || numberedName(seg, ext) != name {
		return 0, false
	}
	return seg, true
}

// listFiles returns the numbers of the regular files in dir that parse
// accepts, ascending, ignoring other files.
func listFiles(dir string, parse func(string) (int, bool)) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list segments: %w", err)
	}
	var segs []int
	for _, e := range entries {
		if seg, ok := parse(e.Name()); ok && e.Type().IsRegular() {
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
