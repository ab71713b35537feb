package distributor

import (
	"slices"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/strataobs/strata/ingester/client"
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

// pushEncoder marshals a converted request for ingesters: a protobuf message is its
// fields one after another, so a replica's request is the tenant and resources, then each
// of its streams and traces followed by its own placement, and decodes to the request
// buildRequest would make. Log streams are encoded by appendLogStream, traces by
// proto.Marshal. Safe for the concurrent calls of one DoBatch.
//
// For remote replicas (request) each stream and trace is marshalled once, into one
// buffer, however many replicas receive it, and copied into each request: marshalling
// each replica's request whole cost the distributor three marshals per record with RF=3,
// a quarter of its CPU. For an ingester in this process (direct) the request is written
// in one pass, as nothing else needs the streams' bytes: every byte written is memory
// the ingester then holds, and writing the streams first and copying them after doubled
// the fresh memory an all-in-one process faulted in for a push.
type pushEncoder struct {
	c    *converted
	head []byte // tenant and resources

	once   sync.Once
	bodies [][]byte // stream or trace i without its placement
	err    error

	// Streams are measured once for every replica, and their records' sizes kept for
	// writing them: measured again, they were a tenth of the encoding's time.
	sized       sync.Once
	streamSizes []int   // stream i without its placement
	recordSizes [][]int // stream i's records
}

func (e *pushEncoder) measure() {
	n := 0
	for _, s := range e.c.streams {
		n += len(s.Records)
	}
	flat := make([]int, n)
	e.streamSizes = make([]int, len(e.c.streams))
	e.recordSizes = make([][]int, len(e.c.streams))
	for i, s := range e.c.streams {
		e.recordSizes[i], flat = flat[:len(s.Records):len(s.Records)], flat[len(s.Records):]
		e.streamSizes[i] = sizeLogStream(s, e.recordSizes[i])
	}
}

func newPushEncoder(tenant string, c *converted) (*pushEncoder, error) {
	head, err := proto.Marshal(&pb.PushRequest{Tenant: tenant, Resources: c.resources})
	if err != nil {
		return nil, err
	}
	return &pushEncoder{c: c, head: head}, nil
}

func (e *pushEncoder) trace(i int) *pb.Trace {
	t := e.c.traces[i-len(e.c.streams)]
	return &pb.Trace{TraceId: t.TraceId, Spans: t.Spans}
}

// bodySize is the size of stream or trace i without its placement.
func (e *pushEncoder) bodySize(i int) int {
	if i < len(e.c.streams) {
		e.sized.Do(e.measure)
		return e.streamSizes[i]
	}
	return proto.Size(e.trace(i))
}

// appendBody appends stream or trace i without its placement.
func (e *pushEncoder) appendBody(b []byte, i int) ([]byte, error) {
	if i < len(e.c.streams) {
		e.sized.Do(e.measure)
		return appendLogStream(b, e.c.streams[i], e.recordSizes[i], nil), nil
	}
	return proto.MarshalOptions{}.MarshalAppend(b, e.trace(i))
}

func (e *pushEncoder) marshalBodies() {
	n := len(e.c.streams) + len(e.c.traces)
	e.bodies = make([][]byte, n)
	size := 0
	for i := range n {
		size += e.bodySize(i)
	}
	buf := make([]byte, 0, size)
	for i := range n {
		from := len(buf)
		if buf, e.err = e.appendBody(buf, i); e.err != nil {
			return
		}
		e.bodies[i] = buf[from:len(buf):len(buf)]
	}
}

// placementSize is the size of the placement of stream or trace i for addr, with its rank.
func placementSize(sets [][]string, addr string, i int) (uint64, int) {
	rank := uint64(max(ring.Rank(sets[i], addr), 0))
	size := sizeVarintField(rank)
	for _, r := range sets[i] {
		size += protowire.SizeTag(wPlacementReplicas) + protowire.SizeBytes(len(r))
	}
	return rank, size
}

// appendEntry appends stream or trace i, whose body (without placement) is bodyLen bytes
// written by body, with its placement for addr.
func (e *pushEncoder) appendEntry(out []byte, sets [][]string, addr string, i, bodyLen int, body func([]byte) ([]byte, error)) ([]byte, error) {
	field, plField := fieldPushStreams, fieldStreamPlacement
	if i >= len(e.c.streams) {
		field, plField = fieldPushTraces, fieldTracePlacement
	}
	rank, plSize := placementSize(sets, addr, i)
	out = appendMessageHeader(out, field, bodyLen+protowire.SizeTag(plField)+protowire.SizeBytes(plSize))
	out, err := body(out)
	if err != nil {
		return nil, err
	}
	out = appendMessageHeader(out, plField, plSize)
	out = appendVarintField(out, wPlacementRank, rank)
	for _, r := range sets[i] {
		out = appendUvarint(appendTag(out, wPlacementReplicas, protowire.BytesType), uint64(len(r)))
		out = append(out, r...)
	}
	return out, nil
}

// entrySize bounds what appendEntry writes for stream or trace i beyond its body: two
// tags, two lengths of at most 5 bytes each, and the placement.
func entrySize(sets [][]string, addr string, i int) int {
	_, plSize := placementSize(sets, addr, i)
	return 12 + plSize
}

// request appends addr's request (the streams and traces at idx) to buf[:0], growing it
// when it is too small, from bodies marshalled once for all replicas.
func (e *pushEncoder) request(buf []byte, sets [][]string, addr string, idx []int) ([]byte, error) {
	e.once.Do(e.marshalBodies)
	if e.err != nil {
		return nil, e.err
	}
	size := len(e.head)
	for _, i := range idx {
		size += len(e.bodies[i]) + entrySize(sets, addr, i)
	}
	out := buf[:0]
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	out = append(out, e.head...)
	var err error
	for _, i := range idx {
		b := e.bodies[i]
		out, err = e.appendEntry(out, sets, addr, i, len(b), func(out []byte) ([]byte, error) { return append(out, b...), nil })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// direct returns addr's request in new memory, each stream and trace encoded in place.
func (e *pushEncoder) direct(sets [][]string, addr string, idx []int) ([]byte, error) {
	return e.write(sets, addr, idx, nil, nil)
}

// located is direct for a share of log streams alone, with its records located for an
// ingester in this process, written into memory from buffer (the ingester's) when it is
// set; ok is false when idx names a trace.
func (e *pushEncoder) located(sets [][]string, addr string, idx []int, buffer func(size int) []byte) (lp *client.LocatedPush, ok bool, err error) {
	records := 0
	for _, i := range idx {
		if i >= len(e.c.streams) {
			return nil, false, nil
		}
		records += len(e.c.streams[i].Records)
	}
	lp = &client.LocatedPush{
		HeadLen: len(e.head),
		Streams: make([]*pb.LogStream, 0, len(idx)),
		Records: make([]client.LocatedRecord, 0, records),
	}
	if lp.Raw, err = e.write(sets, addr, idx, lp, buffer); err != nil {
		return nil, false, err
	}
	return lp, true, nil
}

// write encodes addr's request into memory from buffer, or new memory; with loc, it
// also locates the records of its streams in loc.
func (e *pushEncoder) write(sets [][]string, addr string, idx []int, loc *client.LocatedPush, buffer func(size int) []byte) ([]byte, error) {
	sizes := make([]int, len(idx))
	size := len(e.head)
	for k, i := range idx {
		sizes[k] = e.bodySize(i)
		size += sizes[k] + entrySize(sets, addr, i)
	}
	var out []byte
	if buffer != nil {
		out = buffer(size)
	}
	if cap(out) < size {
		out = make([]byte, 0, size)
	}
	out = append(out[:0], e.head...)
	var err error
	for k, i := range idx {
		body := func(out []byte) ([]byte, error) { return e.appendBody(out, i) }
		if loc != nil {
			// The ingester keeps the stream for as long as it holds a record of it: a
			// copy without the records, which are the converted request's memory.
			s := e.c.streams[i]
			loc.Streams = append(loc.Streams, &pb.LogStream{StreamId: s.StreamId, Labels: s.Labels,
				Placement: &pb.Placement{Rank: uint32(max(ring.Rank(sets[i], addr), 0)), Replicas: slices.Clone(sets[i])}})
			body = func(out []byte) ([]byte, error) { return appendLogStream(out, s, e.recordSizes[i], loc), nil }
		}
		out, err = e.appendEntry(out, sets, addr, i, sizes[k], body)
		if err != nil {
			return nil, err
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
