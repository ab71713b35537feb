package distributor

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/ring"
)

// Field numbers the encoder writes, read from the generated descriptors so that they
// follow the .proto file.
var (
	fieldPushStreams     = fieldNumber(&pb.PushRequest{}, "streams")
	fieldPushTraces      = fieldNumber(&pb.PushRequest{}, "traces")
	fieldStreamPlacement = fieldNumber(&pb.LogStream{}, "placement")
	fieldTracePlacement  = fieldNumber(&pb.Trace{}, "placement")
	wPlacementRank       = fieldNumber(&pb.Placement{}, "rank")
	wPlacementReplicas   = fieldNumber(&pb.Placement{}, "replicas")
)

func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

// pushEncoder marshals a converted request for ingesters. Each stream and trace is
// marshalled once however many replicas receive it, and each replica's request is those
// bytes joined with its own placements: a protobuf message is its fields one after
// another, so the join is the marshalled request buildRequest would make. Marshalling
// each replica's request whole cost the distributor three marshals per record with RF=3,
// a quarter of its CPU. Streams and traces are marshalled when the encoder is made, into
// one buffer (log streams by appendLogStream); request is safe for the concurrent calls of
// one DoBatch.
type pushEncoder struct {
	c      *converted
	head   []byte   // tenant and resources
	bodies [][]byte // stream or trace i without its placement
}

func newPushEncoder(tenant string, c *converted) (*pushEncoder, error) {
	e := &pushEncoder{c: c, bodies: make([][]byte, len(c.streams)+len(c.traces))}
	head := &pb.PushRequest{Tenant: tenant, Resources: c.resources}
	size := proto.Size(head)
	for _, s := range c.streams {
		size += sizeLogStream(s)
	}
	traces := make([]*pb.Trace, len(c.traces))
	for k, t := range c.traces {
		traces[k] = &pb.Trace{TraceId: t.TraceId, Spans: t.Spans}
		size += proto.Size(traces[k])
	}
	buf, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, 0, size), head)
	if err != nil {
		return nil, err
	}
	e.head = buf[:len(buf):len(buf)]
	for k, s := range c.streams {
		from := len(buf)
		buf = appendLogStream(buf, s)
		e.bodies[k] = buf[from:len(buf):len(buf)]
	}
	for k, t := range traces {
		from := len(buf)
		if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf, t); err != nil {
			return nil, err
		}
		e.bodies[len(c.streams)+k] = buf[from:len(buf):len(buf)]
	}
	return e, nil
}

// request appends the marshalled buildRequest(tenant, c, sets, addr, idx) to buf[:0],
// growing it when it is too small.
func (e *pushEncoder) request(buf []byte, sets [][]string, addr string, idx []int) ([]byte, error) {
	size := len(e.head)
	for _, i := range idx {
		size += len(e.bodies[i]) + 32
		for _, r := range sets[i] {
			size += len(r) + 2
		}
	}
	out := buf[:0]
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	out = append(out, e.head...)
	for _, i := range idx {
		field, plField := fieldPushStreams, fieldStreamPlacement
		if i >= len(e.c.streams) {
			field, plField = fieldPushTraces, fieldTracePlacement
		}
		rank := uint64(max(ring.Rank(sets[i], addr), 0))
		plSize := sizeVarintField(rank)
		for _, r := range sets[i] {
			plSize += protowire.SizeTag(wPlacementReplicas) + protowire.SizeBytes(len(r))
		}
		b := e.bodies[i]
		out = appendMessageHeader(out, field, len(b)+protowire.SizeTag(plField)+protowire.SizeBytes(plSize))
		out = append(out, b...)
		out = appendMessageHeader(out, plField, plSize)
		out = appendVarintField(out, wPlacementRank, rank)
		for _, r := range sets[i] {
			out = protowire.AppendTag(out, wPlacementReplicas, protowire.BytesType)
			out = protowire.AppendString(out, r)
		}
	}
	return out, nil
}

// requestBuffers keeps the memory of sent requests for the next ones. A request for a
// remote ingester is the size of the push (hundreds of KB), made three times per push
// with RF=3: fresh each time, it was zeroed and its pages faulted in, an eighth of a
// distributor's CPU. gRPC's codec copies a request before sending it, so its buffer
// is free again as soon as the call returns, however the call ended. At most 64 buffers
// of at most maxKeptRequest are kept.
type requestBuffers chan []byte

func (b requestBuffers) get() []byte {
	select {
	case buf := <-b:
		return buf
	default:
		return nil
	}
}

// maxKeptRequest bounds the buffers kept: a rare huge push is not held on to.
const maxKeptRequest = 4 << 20

func (b requestBuffers) put(buf []byte) {
	if cap(buf) > maxKeptRequest {
		return
	}
	select {
	case b <- buf[:0]:
	default:
	}
}
