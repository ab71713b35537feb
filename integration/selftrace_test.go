package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/strataobs/strata/integration/cluster"
)

// TestSelfTracing: a Strata started with the standard OTEL_* variables traces its own
// HTTP and gRPC requests and exports them over OTLP; here to a second Strata, where the
// traces are found through the Tempo search API.
func TestSelfTracing(t *testing.T) {
	db := newTestDB(t)
	recv := startAllInOne(t, db)
	traced := cluster.NewProcess(t, "traced", "127.0.0.2", t.TempDir(), "-target=all", db.flag())
	traced.Env = []string{
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=%s", recv.OTLPHTTPURL()),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_TRACES_SAMPLER=always_on",
		"OTEL_BSP_SCHEDULE_DELAY=200",
	}
	traced.Start(cluster.Binary(t))
	for k := 0; k < 5; k++ {
		if _, err := httpGet(traced.HTTPURL() + "/loki/api/v1/labels"); err != nil {
			t.Fatal(err)
		}
	}
	v := url.Values{}
	v.Set("q", `{ resource.service.name = "strata-all" }`)
	v.Set("start", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))
	v.Set("end", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
	var found int
	err := cluster.Eventually(context.Background(), time.Minute, func() error {
		code, body := queryGet(t, recv.HTTPURL(), "anonymous", "/api/search?"+v.Encode())
		if code != 200 {
			return fmt.Errorf("search: %d %s", code, body)
		}
		var resp struct {
			Traces []struct {
				RootServiceName string `json:"rootServiceName"`
				RootTraceName   string `json:"rootTraceName"`
			} `json:"traces"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			return err
		}
		found = len(resp.Traces)
		if found == 0 {
			return fmt.Errorf("no traces of strata-all yet")
		}
		if resp.Traces[0].RootServiceName != "strata-all" {
			return fmt.Errorf("root service %q", resp.Traces[0].RootServiceName)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, traced.Tail(20))
	}
	t.Logf("%d traces of Strata's own requests found in the receiving Strata", found)
}
