package distributor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP exporters compress with gzip by default
	"google.golang.org/grpc/metadata"

	"github.com/strataobs/strata/ingester/client"
)

// otlpGRPC serves OTLP over gRPC with pdata's server types, which (unlike the collector's
// embedded receiver) let us answer with partial success.
type otlpGRPC struct {
	plogotlp.UnimplementedGRPCServer
	d *Distributor
}

type otlpTraceGRPC struct {
	ptraceotlp.UnimplementedGRPCServer
	d *Distributor
}

func (d *Distributor) newGRPCServer() *grpc.Server {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(d.cfg.MaxRecvMsgSize), grpc.InTapHandle(d.tapPushBack))
	plogotlp.RegisterGRPCServer(s, &otlpGRPC{d: d})
	ptraceotlp.RegisterGRPCServer(s, &otlpTraceGRPC{d: d})
	return s
}

func (d *Distributor) grpcTenant(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var h string
	if v := md.Get(client.TenantHeader); len(v) > 0 {
		h = v[0]
	}
	return d.resolveTenant(h)
}

func (s *otlpGRPC) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	resp := plogotlp.NewExportResponse()
	tenant, err := s.d.grpcTenant(ctx)
	if err != nil {
		return resp, err
	}
	res, err := s.d.PushLogs(ctx, tenant, req.Logs())
	if err != nil {
		return resp, err
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.Message)
	}
	return resp, nil
}

func (s *otlpTraceGRPC) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	resp := ptraceotlp.NewExportResponse()
	tenant, err := s.d.grpcTenant(ctx)
	if err != nil {
		return resp, err
	}
	res, err := s.d.PushTraces(ctx, tenant, req.Traces())
	if err != nil {
		return resp, err
	}
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.Message)
	}
	return resp, nil
}
