package distributor

import (
	"sync"

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
)

func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

// pushEncoder marshals a converted request for remote ingesters. Each stream and trace is
// marshalled once however many replicas receive it, and each replica's request is those
// bytes joined with its own placements: a protobuf message is its fields one after
// another, so the join is the marshalled request buildRequest would make. Marshalling
// each replica's request whole cost the distributor three marshals per record with RF=3,
// a quarter of its CPU. Safe for the concurrent calls of one DoBatch.
type pushEncoder struct {
	c      *converted
	tenant string

	headOnce sync.Once
	head     []byte // tenant and resources
	headErr  error

	once   []sync.Once
	bodies [][]byte // stream or trace i without its placement
	errs   []error
}

func newPushEncoder(tenant string, c *converted) *pushEncoder {
	n := len(c.streams) + len(c.traces)
	return &pushEncoder{c: c, tenant: tenant, once: make([]sync.Once, n), bodies: make([][]byte, n), errs: make([]error, n)}
}

func (e *pushEncoder) body(i int) ([]byte, error) {
	e.once[i].Do(func() {
		var m proto.Message
		if i < len(e.c.streams) {
			s := e.c.streams[i]
			m = &pb.LogStream{StreamId: s.StreamId, Labels: s.Labels, Records: s.Records}
		} else {
			t := e.c.traces[i-len(e.c.streams)]
			m = &pb.Trace{TraceId: t.TraceId, Spans: t.Spans}
		}
		e.bodies[i], e.errs[i] = proto.Marshal(m)
	})
	return e.bodies[i], e.errs[i]
}

// request appends the marshalled buildRequest(tenant, c, sets, addr, idx) to buf[:0],
// growing it when it is too small.
func (e *pushEncoder) request(buf []byte, sets [][]string, addr string, idx []int) ([]byte, error) {
	e.headOnce.Do(func() {
		e.head, e.headErr = proto.Marshal(&pb.PushRequest{Tenant: e.tenant, Resources: e.c.resources})
	})
	if e.headErr != nil {
		return nil, e.headErr
	}
	size := len(e.head)
	for _, i := range idx {
		b, err := e.body(i)
		if err != nil {
			return nil, err
		}
		size += len(b) + 32
		for _, r := range sets[i] {
			size += len(r) + 2
		}
	}
	out := buf[:0]
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	out = append(out, e.head...)
	var pl []byte
	for _, i := range idx {
		field, plField := fieldPushStreams, fieldStreamPlacement
		if i >= len(e.c.streams) {
			field, plField = fieldPushTraces, fieldTracePlacement
		}
		var err error
		pl, err = proto.MarshalOptions{}.MarshalAppend(pl[:0], &pb.Placement{Rank: uint32(max(ring.Rank(sets[i], addr), 0)), Replicas: sets[i]})
		if err != nil {
			return nil, err
		}
		b := e.bodies[i]
		out = protowire.AppendTag(out, field, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(len(b)+protowire.SizeTag(plField)+protowire.SizeBytes(len(pl))))
		out = append(out, b...)
		out = protowire.AppendTag(out, plField, protowire.BytesType)
		out = protowire.AppendBytes(out, pl)
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
