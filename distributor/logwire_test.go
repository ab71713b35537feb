package distributor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// TestLogWireMatchesProtoMarshal: the hand-written stream encoding is byte for byte what
// proto.Marshal writes, for streams with every field set, none set, and sizes on both
// sides of each varint length boundary.
func TestLogWireMatchesProtoMarshal(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		switch rnd.IntN(5) {
		case 0:
			return ""
		case 1:
			return "é☃" + strings.Repeat("x", rnd.IntN(200))
		case 2:
			return strings.Repeat("y", 16300+rnd.IntN(200)) // two- and three-byte lengths
		default:
			return strings.Repeat("z", rnd.IntN(10))
		}
	}
	id := func(n int) []byte {
		switch rnd.IntN(3) {
		case 0:
			return nil
		default:
			b := make([]byte, n)
			for k := range b {
				b[k] = byte(rnd.IntN(256))
			}
			return b
		}
	}
	num := func() uint64 {
		switch rnd.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.MaxUint64 - rnd.Uint64N(3)
		default:
			return rnd.Uint64N(1 << (rnd.IntN(63) + 1))
		}
	}
	for k := range 300 {
		s := &pb.LogStream{StreamId: num()}
		for range rnd.IntN(4) {
			s.Labels = append(s.Labels, &pb.Label{Name: str(), Value: str()})
		}
		for range rnd.IntN(5) {
			r := &pb.LogRecord{
				Id: num(), Timestamp: int64(num()), ObservedTimestamp: -int64(num() >> 1),
				SeverityNumber: uint32(num()), SeverityText: str(), Level: str(), Body: str(),
				TraceId: id(16), SpanId: id(8), Flags: uint32(num()), Resource: uint32(num()),
				ScopeName: str(), ScopeVersion: str(), EventName: str(),
			}
			for range rnd.IntN(4) {
				r.Attributes = append(r.Attributes, &pb.Attr{Key: str(), Value: str(), Type: pb.AttrType(rnd.IntN(8))})
			}
			s.Records = append(s.Records, r)
		}
		want, err := proto.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("kept")
		got := appendLogStream(bytes.Clone(prefix), s, nil, nil)
		if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("stream %d: encoded %d bytes, proto.Marshal %d; they differ", k, len(got)-len(prefix), len(want))
		}
		if n := sizeLogStream(s, nil); n != len(want) {
			t.Fatalf("stream %d: sizeLogStream = %d, encoding is %d bytes", k, n, len(want))
		}
	}
}
