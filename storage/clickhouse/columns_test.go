package clickhouse

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ClickHouse/ch-go/proto"
)

// A strColumn holds the bytes ch-go's String column encoding sends, so a wireStrColumn
// sends what clickhouse-go would have; at reads each row back, lengths of one uvarint
// byte and of several alike.
func TestStrColumnEncodesAsChGo(t *testing.T) {
	rows := []string{"", "a", strings.Repeat("x", 127), strings.Repeat("y", 128), "ünïcode", strings.Repeat("z", 70000), ""}
	var c strColumn
	var want proto.ColStr
	for _, s := range rows {
		c.add(s)
		want.Append(s)
	}
	ids := [][]byte{nil, {0xab, 0x01}, bytes.Repeat([]byte{0xfe}, 16)}
	for _, id := range ids {
		c.addHex(id)
		want.Append(hexOf(id))
	}
	var buf proto.Buffer
	want.EncodeColumn(&buf)
	var sent proto.Buffer
	(&wireStrColumn{c: &c}).Encode(&sent)
	if !bytes.Equal(sent.Buf, buf.Buf) {
		t.Fatalf("sent %d bytes that differ from ch-go's %d", len(sent.Buf), len(buf.Buf))
	}
	if c.Rows() != len(rows)+len(ids) {
		t.Fatalf("%d rows, want %d", c.Rows(), len(rows)+len(ids))
	}
	for i := range c.Rows() {
		if got := c.at(i); got != want.Row(i) {
			t.Fatalf("row %d read back as %.20q (%d bytes), want %.20q", i, got, len(got), want.Row(i))
		}
	}
	c.reset()
	c.add("again")
	if c.Rows() != 1 || c.at(0) != "again" {
		t.Fatalf("after reset: %d rows, row 0 %q", c.Rows(), c.at(0))
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}
