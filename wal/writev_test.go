//go:build unix

package wal

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

func TestConsumed(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{0, []string{"ab", "", "cde", "f"}},
		{1, []string{"b", "", "cde", "f"}},
		{2, []string{"cde", "f"}}, // the empty buffer goes with the one before it
		{4, []string{"e", "f"}},
		{5, []string{"f"}},
		{6, nil},
	} {
		bufs := [][]byte{[]byte("ab"), {}, []byte("cde"), []byte("f")}
		var got []string
		for _, b := range consumed(bufs, tc.n) {
			got = append(got, string(b))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("consumed(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestWriteVectorsManyBuffers writes more buffers than one writev takes.
func TestWriteVectorsManyBuffers(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "v")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bufs [][]byte
	var want []byte
	for i := range 3*maxIOV + 7 {
		b := bytes.Repeat([]byte{byte(i)}, i%5)
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	n, err := writeVectors(f, bufs)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("writeVectors = %d, %v; want %d bytes", n, err, len(want))
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, not the %d written in order", len(got), len(want))
	}
}
