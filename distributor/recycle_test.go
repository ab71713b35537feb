package distributor

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/flagext"
	dsring "github.com/grafana/dskit/ring"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/protobuf/proto"

	"github.com/strataobs/strata/bench"
	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// quorumRing puts every key on all its instances and tolerates one failure, as a ring
// of three with RF=3 does.
type quorumRing []dsring.InstanceDesc

func (r quorumRing) Get(uint32, dsring.Operation, []dsring.InstanceDesc, []string, []string) (dsring.ReplicationSet, error) {
	return dsring.ReplicationSet{Instances: r, MaxErrors: 1}, nil
}
func (r quorumRing) ReplicationFactor() int { return len(r) }
func (r quorumRing) InstancesCount() int    { return len(r) }

// gatedIngester acknowledges pushes, once gate is closed if it has one.
type gatedIngester struct{ gate chan struct{} }

func (g *gatedIngester) Admit() error { return nil }

func (g *gatedIngester) PushRaw(context.Context, *pb.RawPushRequest) (*pb.PushResponse, error) {
	if g.gate != nil {
		<-g.gate
	}
	return &pb.PushResponse{}, nil
}

func (*gatedIngester) PushBuffer(int) []byte { return nil }

func (g *gatedIngester) PushLocated(ctx context.Context, lp *client.LocatedPush) (*pb.PushResponse, error) {
	return g.PushRaw(ctx, &pb.RawPushRequest{Request: lp.Raw})
}

func generatedLogs(t *testing.T, seq int64) plog.Logs {
	t.Helper()
	tpl, err := bench.NewGenerator(bench.DefaultGenConfig()).Template()
	if err != nil {
		t.Fatal(err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(tpl.Fill(nil, time.Now().Add(-time.Minute).UnixNano(), seq)); err != nil {
		t.Fatal(err)
	}
	return req.Logs()
}

// TestValidatorIsReusedAfterEveryReplica: a push returns once a quorum of replicas has
// it, while the last may still be written; the memory of its records (its validator)
// goes to the next request only once that write is done too.
func TestValidatorIsReusedAfterEveryReplica(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	slow := &gatedIngester{gate: make(chan struct{})}
	pool := client.NewPool(1 << 20)
	var r quorumRing
	for k, in := range []client.LocalIngester{&gatedIngester{}, &gatedIngester{}, slow} {
		addr := []string{"127.0.0.1:9095", "127.0.0.2:9095", "127.0.0.3:9095"}[k]
		pool.SetLocal(addr, in)
		r = append(r, dsring.InstanceDesc{Addr: addr, State: dsring.ACTIVE, Timestamp: time.Now().Unix()})
	}
	d := New(Config{MaxRecvMsgSize: 16 << 20, DefaultTenant: "anonymous", RemoteTimeout: 10 * time.Second},
		r, pool, limits.NewOverrides(lim), prometheus.NewRegistry(), log.NewNopLogger())

	res, err := d.PushLogs(context.Background(), "team-a", generatedLogs(t, 0))
	if err != nil || res.Accepted == 0 {
		t.Fatalf("push: %+v, %v", res, err)
	}
	if n := len(d.validators); n != 0 {
		t.Fatalf("%d validators free while a replica is still being written, want 0", n)
	}
	close(slow.gate)
	deadline := time.Now().Add(5 * time.Second)
	for len(d.validators) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d validators free after every replica was written, want 1", len(d.validators))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReusedValidatorConvertsAsNew: a validator reused after a request of other records
// (with attributes and trace context) converts a request as a new one does, each record
// its own.
func TestReusedValidatorConvertsAsNew(t *testing.T) {
	plain := plog.NewLogs()
	rl := plain.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	ts := pcommon.NewTimestampFromTime(time.Now().Add(-time.Minute))
	for k := range 700 { // more than a chunk
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(ts)
		lr.Body().SetStr("plain " + strconv.Itoa(k))
		if k%3 == 0 {
			lr.Attributes().PutInt("n", int64(k))
		}
	}
	v := testValidator()
	for _, seq := range []int64{0, 2000} {
		convertLogs("t", v, generatedLogs(t, seq))
		v.reset(v.lim, v.nowNanos)
	}
	fresh := convertLogs("t", testValidator(), plain)
	reused := convertLogs("t", v, plain)
	if fresh.accepted != reused.accepted || len(fresh.streams) != len(reused.streams) || len(fresh.rejected) != len(reused.rejected) {
		t.Fatalf("reused: %d accepted in %d streams; new: %d in %d", reused.accepted, len(reused.streams), fresh.accepted, len(fresh.streams))
	}
	for s := range fresh.streams {
		a, b := fresh.streams[s].Records, reused.streams[s].Records
		for k := range a {
			if !proto.Equal(a[k], b[k]) {
				t.Fatalf("stream %d record %d: reused validator gives %v, a new one %v", s, k, b[k], a[k])
			}
		}
	}
	// Each record is its own, as sent.
	recs := reused.streams[0].Records
	if len(reused.streams) != 1 || len(recs) != 700 {
		t.Fatalf("%d streams, %d records; want 1 and 700", len(reused.streams), len(recs))
	}
	for k, r := range recs {
		want := 0
		if k%3 == 0 {
			want = 1
		}
		if r.Body != "plain "+strconv.Itoa(k) || len(r.Attributes) != want || (want == 1 && r.Attributes[0].Value != strconv.Itoa(k)) {
			t.Fatalf("record %d holds %v", k, r)
		}
	}
}
