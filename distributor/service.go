package distributor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/log/level"
	"google.golang.org/grpc"
)

// receivers are the OTLP listeners; they run for the lifetime of the distributor service.
type receivers struct {
	grpc    *grpc.Server
	http    *http.Server
	grpcLis net.Listener
	httpLis net.Listener
}

func (d *Distributor) startReceivers(_ context.Context) error {
	var err error
	if d.cfg.OTLPGRPCAddr != "" {
		if d.recv.grpcLis, err = net.Listen("tcp", d.cfg.OTLPGRPCAddr); err != nil {
			return fmt.Errorf("OTLP gRPC listen %s: %w", d.cfg.OTLPGRPCAddr, err)
		}
		d.recv.grpc = d.newGRPCServer()
		go d.recv.grpc.Serve(d.recv.grpcLis)
	}
	if d.cfg.OTLPHTTPAddr != "" {
		if d.recv.httpLis, err = net.Listen("tcp", d.cfg.OTLPHTTPAddr); err != nil {
			return fmt.Errorf("OTLP HTTP listen %s: %w", d.cfg.OTLPHTTPAddr, err)
		}
		d.recv.http = &http.Server{Handler: d.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := d.recv.http.Serve(d.recv.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				level.Error(d.logger).Log("msg", "OTLP HTTP server failed", "err", err)
			}
		}()
	}
	level.Info(d.logger).Log("msg", "OTLP receivers listening", "grpc", d.cfg.OTLPGRPCAddr, "http", d.cfg.OTLPHTTPAddr)
	return nil
}

func (d *Distributor) stopReceivers(_ error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.recv.http != nil {
		d.recv.http.Shutdown(ctx)
	}
	if d.recv.grpc != nil {
		done := make(chan struct{})
		go func() { d.recv.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			d.recv.grpc.Stop()
		}
	}
	return nil
}

// GRPCAddr is the address the OTLP gRPC receiver listens on (useful with port 0).
func (d *Distributor) GRPCAddr() string {
	if d.recv.grpcLis == nil {
		return ""
	}
	return d.recv.grpcLis.Addr().String()
}

// HTTPAddr is the address the OTLP HTTP receiver listens on.
func (d *Distributor) HTTPAddr() string {
	if d.recv.httpLis == nil {
		return ""
	}
	return d.recv.httpLis.Addr().String()
}
