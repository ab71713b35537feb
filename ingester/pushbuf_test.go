package ingester

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grafana/dskit/services"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

func TestPushBuffersAreBounded(t *testing.T) {
	p := pushBuffers{max: 1000}
	p.put(make([]byte, 10, 400))
	p.put(make([]byte, 0, 500))
	p.put(make([]byte, 0, 200)) // over the bound: dropped
	if p.size() != 900 || len(p.free) != 2 {
		t.Fatalf("kept %d buffers of %d bytes, want 2 of 900", len(p.free), p.size())
	}
	if b := p.get(300); cap(b) != 400 || len(b) != 0 {
		t.Fatalf("get(300) = len %d cap %d, want the smallest that fits, empty: 400", len(b), cap(b))
	}
	if b := p.get(501); b != nil {
		t.Fatalf("get(501) = cap %d with only 500 bytes kept, want nil", cap(b))
	}
	if b := p.get(450); cap(b) != 500 || p.size() != 0 {
		t.Fatalf("get(450) = cap %d, %d bytes left", cap(b), p.size())
	}
}

// pushLocated hands i records from+1 .. from+n of one stream as a distributor in its
// process does: written into memory from PushBuffer.
func pushLocated(t *testing.T, i *Ingester, tenant string, from, n int) {
	t.Helper()
	ts := time.Now().UnixNano()
	st := &pb.LogStream{StreamId: 7, Labels: []*pb.Label{{Name: "service_name", Value: "svc"}}, Placement: &pb.Placement{Rank: 0}}
	for k := from; k < from+n; k++ {
		st.Records = append(st.Records, &pb.LogRecord{Id: uint64(k + 1), Timestamp: ts + int64(k), Body: fmt.Sprintf("line %06d of a push", k)})
	}
	raw, headLen := logsOnly(t, &pb.PushRequest{Tenant: tenant, Resources: []*pb.Resource{{ServiceName: "svc"}}, Streams: []*pb.LogStream{st}})
	buf := i.PushBuffer(len(raw))
	if _, err := i.PushLocated(context.Background(), locate(t, append(buf, raw...), headLen)); err != nil {
		t.Fatal(err)
	}
}

// TestRetiredPushMemoryIsReused: the memory of a retired push goes to the next pushes,
// and what they store is theirs alone; while a query reads held records, retired
// pushes are not reused, and what it reads stays as it was.
func TestRetiredPushMemoryIsReused(t *testing.T) {
	ch := chtest.New(t)
	i := testIngester(t, ch, t.TempDir(), func(c *Config) { c.FlushCheckPeriod = time.Hour })
	defer services.StopAndAwaitTerminated(context.Background(), i)
	const per = 300
	// With nothing kept, new memory has room for a slightly larger push.
	if b := i.PushBuffer(1000); len(b) != 0 || cap(b) < 1000+1000/pushHeadroom {
		t.Fatalf("PushBuffer(1000) = len %d cap %d, want empty with headroom", len(b), cap(b))
	}
	flush := func() {
		t.Helper()
		if pending := i.flushPass(context.Background(), time.Now(), true); pending != 0 {
			t.Fatalf("%d records still pending", pending)
		}
	}

	for p := range 4 {
		pushLocated(t, i, "reuse", p*per, per)
	}
	flush()
	kept := i.bufs.size()
	if kept == 0 {
		t.Fatal("no memory of the retired pushes was kept")
	}

	// These take the retired pushes' memory; a query then reads them while they retire.
	for p := 4; p < 8; p++ {
		pushLocated(t, i, "reuse", p*per, per)
	}
	if i.bufs.size() >= kept {
		t.Fatalf("new pushes did not take the kept memory (%d bytes kept, %d before)", i.bufs.size(), kept)
	}
	entries, _ := i.snapshotLogs("reuse", 0, time.Now().Add(time.Hour).UnixNano())
	before := i.bufs.size()
	flush()
	if i.bufs.size() != before {
		t.Fatalf("pushes a query was reading were kept for reuse (%d bytes, %d before)", i.bufs.size(), before)
	}
	for p := 8; p < 12; p++ { // would overwrite the query's pushes, had they been reused
		pushLocated(t, i, "reuse", p*per, per)
	}
	for k := range entries {
		r, err := entries[k].record()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("line %06d of a push", r.Id-1); r.Body != want {
			t.Fatalf("the query read record %d as %q, want %q", r.Id, r.Body, want)
		}
	}
	if len(entries) != 4*per {
		t.Fatalf("the query read %d records, want %d", len(entries), 4*per)
	}
	i.doneReading()
	flush()
	if i.bufs.size() == 0 {
		t.Fatal("no memory kept once the query was done")
	}

	// Every record is stored once, with its own body.
	rows, err := ch.Conn().Query(context.Background(), fmt.Sprintf("SELECT id, body FROM %s.logs WHERE tenant = 'reuse'", ch.Database()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[uint64]bool{}
	for rows.Next() {
		var id uint64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("line %06d of a push", id-1); body != want || seen[id] {
			t.Fatalf("stored record %d: %q (seen before: %v), want %q once", id, body, seen[id], want)
		}
		seen[id] = true
	}
	if len(seen) != 12*per {
		t.Fatalf("%d records stored, want %d", len(seen), 12*per)
	}
}
