package integration

import (
	"testing"
	"time"
)

// TestGracefulShutdownFlushes: records acknowledged just before SIGTERM are flushed by
// the stopping ingester, which exits cleanly without waiting for its normal flush age.
func TestGracefulShutdownFlushes(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db, "-ingester.max-epoch-age=1h")
	sendLogsGRPC(t, grpcConn(t, p.OTLPGRPCAddr()), "t1", sampleLogs("shutdown", "bye", 500, time.Now()))
	if n := db.count(t, "SELECT count() FROM %s.logs"); n != 0 {
		t.Fatalf("%d rows before shutdown; the flush age should have held them", n)
	}
	if err := p.Stop(time.Minute); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Tail(30))
	}
	if n := db.count(t, "SELECT count() FROM %s.logs WHERE service_name = 'shutdown'"); n != 500 {
		t.Fatalf("%d rows after a graceful stop, want 500", n)
	}
}
