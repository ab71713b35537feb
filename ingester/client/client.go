// Package client is the ingester's wire API as other components see it: a pool of gRPC
// clients keyed by ingester address. Distributors, queriers and ingesters (for releases)
// import this package, never the ingester itself.
package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// TenantHeader carries the tenant on every internal call, as in Loki and Mimir.
const TenantHeader = "x-scope-orgid"

// WithTenant returns a context that sends the tenant to the ingester.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, TenantHeader, tenant)
}

// Pool keeps one connection per ingester address.
type Pool struct {
	mu      sync.Mutex
	clients map[string]*conn
	maxMsg  int
	local   map[string]LocalIngester
}

// LocalIngester is an ingester running in this process. A distributor hands it the
// bytes of the request it built, without gRPC in between.
type LocalIngester interface {
	PushRaw(ctx context.Context, req *pb.RawPushRequest) (*pb.PushResponse, error)
	// PushLocated is PushRaw for a request of log streams whose writer located its
	// records.
	PushLocated(ctx context.Context, req *LocatedPush) (*pb.PushResponse, error)
	// PushBuffer returns empty memory of at least size bytes to write a LocatedPush into:
	// a push's the ingester no longer holds, or new memory it will reuse in turn. Nil
	// leaves the writer to allocate.
	PushBuffer(size int) []byte
	// Admit returns the error a push arriving now would get for the ingester's state
	// (memory or WAL limit, with no room left to wait for a flush or after a wait in
	// vain; not running), or nil.
	Admit() error
}

// LocatedPush is a marshalled PushRequest of log streams (no traces) with its records
// located by the encoder that wrote it, for an ingester in the same process, which would
// otherwise scan the bytes again to find them (a twelfth of an all-in-one process's CPU).
// The writer vouches for what the scan checks: the wire format and valid UTF-8 in every
// string of a record.
type LocatedPush struct {
	// Raw is the request's memory alone: the ingester keeps it, and reuses it once it no
	// longer holds the records.
	Raw []byte
	// HeadLen is the length of the request's head: its tenant and resources, which come
	// before every stream.
	HeadLen int
	// Streams have their id, labels and placement, and no records.
	Streams []*pb.LogStream
	Records []LocatedRecord // in the order of Raw
}

// LocatedRecord is one log record of a LocatedPush: Raw[Off:Off+Len] is its LogRecord
// message, and the other fields repeat the record's own.
type LocatedRecord struct {
	Off, Len uint32
	Stream   uint32 // index in Streams
	Resource uint32
	ID       uint64
	Time     int64
}

// SetLocal registers the ingester at addr as running in this process.
func (p *Pool) SetLocal(addr string, in LocalIngester) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.local == nil {
		p.local = map[string]LocalIngester{}
	}
	p.local[addr] = in
}

// Local returns the ingester at addr if it runs in this process, else nil. Pushes to it
// must not change the request afterwards: the ingester keeps its records.
func (p *Pool) Local(addr string) LocalIngester {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local[addr]
}

type conn struct {
	cc *grpc.ClientConn
	pb.IngesterClient
}

// NewPool returns an empty pool; maxMsgSize bounds request and response sizes.
func NewPool(maxMsgSize int) *Pool {
	return &Pool{clients: map[string]*conn{}, maxMsg: maxMsgSize}
}

// Get returns the client for addr, dialling on first use. Dialling is lazy in gRPC, so
// Get never blocks on the network.
func (p *Pool) Get(addr string) (pb.IngesterClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(p.maxMsg), grpc.MaxCallSendMsgSize(p.maxMsg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial ingester %s: %w", addr, err)
	}
	c := &conn{cc: cc, IngesterClient: pb.NewIngesterClient(cc)}
	p.clients[addr] = c
	return c, nil
}

// Retain closes connections to addresses not in keep (ingesters that left the ring).
func (p *Pool) Retain(keep map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.clients {
		if !keep[addr] {
			c.cc.Close()
			delete(p.clients, addr)
		}
	}
}

// Close closes every connection.
func (p *Pool) Close() {
	p.Retain(nil)
}
