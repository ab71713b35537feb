package distributor

import (
	"context"

	dsring "github.com/grafana/dskit/ring"
	"google.golang.org/grpc/tap"
)

// pushBack returns the refusal of the ingester running in this process when it is the
// only ingester in the ring and is refusing writes (at its memory or WAL limit with no
// room left for pushes to wait in or after a wait in vain, or stopping), else nil.
// Every push would end in that refusal, so the receivers answer it before reading the
// request: a single-process Strata under more load than its flushes keep up with had
// decoded, validated and encoded a fifth of its requests only for its ingester to turn
// them away. With other ingesters in the ring a push may still reach a quorum, and this
// is nil.
func (d *Distributor) pushBack() error {
	if d.ring == nil || d.pool == nil || d.ring.InstancesCount() != 1 {
		return nil
	}
	rs, err := d.ring.Get(0, dsring.Write, nil, nil, nil)
	if err != nil || len(rs.Instances) != 1 {
		return nil
	}
	in := d.pool.Local(rs.Instances[0].Addr)
	if in == nil {
		return nil
	}
	if err := in.Admit(); err != nil {
		d.m.pushedBack.Inc()
		return wrapIngesterError(err)
	}
	return nil
}

// tapPushBack refuses OTLP gRPC calls while pushBack does, before their messages are
// read and decoded.
func (d *Distributor) tapPushBack(ctx context.Context, _ *tap.Info) (context.Context, error) {
	if err := d.pushBack(); err != nil {
		return nil, err
	}
	return ctx, nil
}
