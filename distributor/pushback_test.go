package distributor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/grafana/dskit/flagext"
	dsring "github.com/grafana/dskit/ring"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/strataobs/strata/bench"
	"github.com/strataobs/strata/ingester/client"
	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// ringOf is a ring of the given instances; every key maps to all of them.
type ringOf []dsring.InstanceDesc

func (r ringOf) Get(uint32, dsring.Operation, []dsring.InstanceDesc, []string, []string) (dsring.ReplicationSet, error) {
	return dsring.ReplicationSet{Instances: r}, nil
}
func (r ringOf) ReplicationFactor() int { return len(r) }
func (r ringOf) InstancesCount() int    { return len(r) }

// fullIngester stands for an ingester in this process: it refuses while full is set
// (as an ingester at its memory limit does) and counts the pushes that reach it.
type fullIngester struct {
	full   atomic.Bool
	pushes atomic.Int64
}

func (f *fullIngester) Admit() error {
	if f.full.Load() {
		return status.Error(codes.ResourceExhausted, "ingester uses 600 bytes of memory, over its limit of 500")
	}
	return nil
}

func (f *fullIngester) PushRaw(context.Context, *pb.RawPushRequest) (*pb.PushResponse, error) {
	f.pushes.Add(1)
	if err := f.Admit(); err != nil {
		return nil, err
	}
	return &pb.PushResponse{}, nil
}

func (*fullIngester) PushBuffer(int) []byte { return nil }

func (f *fullIngester) PushLocated(ctx context.Context, lp *client.LocatedPush) (*pb.PushResponse, error) {
	return f.PushRaw(ctx, &pb.RawPushRequest{Request: lp.Raw})
}

// TestPushBackBeforeReading: while the only ingester, in this process, refuses writes,
// OTLP gRPC, OTLP HTTP and Loki pushes get its retryable refusal without reaching it;
// once it accepts again they go through; and with a second ingester in the ring the
// refusal of the local one is not everyone's, so nothing is refused up front.
func TestPushBackBeforeReading(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	in := &fullIngester{}
	pool := client.NewPool(1 << 20)
	pool.SetLocal("127.0.0.1:9095", in)
	d := New(Config{MaxRecvMsgSize: 16 << 20, DefaultTenant: "anonymous", RemoteTimeout: time.Second, OTLPGRPCAddr: "127.0.0.1:0"},
		ringOf{{Addr: "127.0.0.1:9095", State: dsring.ACTIVE, Timestamp: time.Now().Unix()}}, pool, limits.NewOverrides(lim), prometheus.NewRegistry(), log.NewNopLogger())
	if err := d.startReceivers(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.stopReceivers(nil)

	tpl, err := bench.NewGenerator(bench.DefaultGenConfig()).Template()
	if err != nil {
		t.Fatal(err)
	}
	wire := tpl.Fill(nil, time.Now().Add(-time.Minute).UnixNano(), 0)
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(wire); err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	exportGRPC := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := plogotlp.NewGRPCClient(cc).Export(ctx, req)
		return err
	}
	post := func(path, ct, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		if strings.HasPrefix(path, "/loki") {
			d.LokiPushHandler().ServeHTTP(w, r)
		} else {
			d.HTTPHandler().ServeHTTP(w, r)
		}
		return w
	}
	lokiBody := `{"streams":[{"stream":{"job":"x"},"values":[["` + strconv.FormatInt(time.Now().UnixNano(), 10) + `","x"]]}]}`

	in.full.Store(true)
	err = exportGRPC()
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "memory") {
		t.Fatalf("OTLP gRPC while the ingester is full: %v, want RESOURCE_EXHAUSTED naming its memory", err)
	}
	retry := false
	for _, det := range st.Details() {
		_, retry = det.(*errdetails.RetryInfo)
	}
	if !retry {
		t.Error("the gRPC refusal carries no RetryInfo, so OTLP exporters would not retry it")
	}
	if w := post("/v1/logs", ctProtobuf, string(wire)); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("OTLP HTTP while the ingester is full: %d (Retry-After %q), want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := post(LokiPushPaths[0], ctJSON, lokiBody); w.Code != http.StatusTooManyRequests {
		t.Errorf("Loki push while the ingester is full: %d %q, want 429", w.Code, w.Body.String())
	}
	if n := in.pushes.Load(); n != 0 {
		t.Errorf("%d pushes reached the full ingester", n)
	}
	var m dto.Metric
	if err := d.m.pushedBack.Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetCounter().GetValue(); n != 3 {
		t.Errorf("strata_distributor_pushed_back_requests_total = %g, want 3", n)
	}
	// A malformed request still gets its own error, not a retry.
	if w := post("/v1/logs", "text/plain", "x"); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("a wrong content type while the ingester is full: %d, want 415", w.Code)
	}

	in.full.Store(false)
	if err := exportGRPC(); err != nil {
		t.Fatalf("OTLP gRPC once the ingester accepts again: %v", err)
	}
	if w := post(LokiPushPaths[0], ctJSON, lokiBody); w.Code != http.StatusNoContent {
		t.Errorf("Loki push once the ingester accepts again: %d %q", w.Code, w.Body.String())
	}
	if n := in.pushes.Load(); n != 2 {
		t.Errorf("%d pushes reached the ingester, want 2", n)
	}

	// Two ingesters: the local one's refusal is not the answer for every push.
	in.full.Store(true)
	d.ring = ringOf{{Addr: "127.0.0.1:9095"}, {Addr: "127.0.0.2:9095"}}
	if err := d.pushBack(); err != nil {
		t.Errorf("with two ingesters in the ring a push was refused up front: %v", err)
	}
}
