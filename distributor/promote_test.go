package distributor

import (
	"maps"
	"reflect"
	"testing"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// Only records the failed ingester owns (rank 0) are promoted, to each other replica.
func TestPromotions(t *testing.T) {
	c := &converted{
		streams: []*pb.LogStream{
			{Records: []*pb.LogRecord{{Id: 1}, {Id: 2}}}, // owned by a
			{Records: []*pb.LogRecord{{Id: 3}}},          // a is rank 1: not promoted
		},
		traces: []*pb.Trace{{Spans: []*pb.Span{{Id: 10}, {Id: 11}}}}, // owned by a
	}
	sets := [][]string{{"a", "b", "c"}, {"b", "a", "c"}, {"a", "c", "b"}}
	got := promotions(c, sets, "a", []int{0, 1, 2})
	want := map[string][]uint64{"b": {1, 2, 10, 11}, "c": {1, 2, 10, 11}}
	if !maps.EqualFunc(got, want, func(x, y []uint64) bool { return reflect.DeepEqual(x, y) }) {
		t.Fatalf("promotions = %v, want %v", got, want)
	}
	if got := promotions(c, sets, "b", []int{1}); len(got) != 2 || len(got["a"]) != 1 || got["a"][0] != 3 {
		t.Fatalf("owner b of stream 1: %v", got)
	}
}
