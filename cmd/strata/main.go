package main

import (
	_ "google.golang.org/grpc/encoding/proto"

	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/gin-gonic/gin"
	_ "github.com/grafana/dskit/ring"
	_ "github.com/grafana/dskit/kv/memberlist"
	_ "github.com/grafana/dskit/modules"
	_ "github.com/grafana/dskit/server"
	_ "go.opentelemetry.io/collector/pdata/plog/plogotlp"
	_ "go.opentelemetry.io/collector/receiver/otlpreceiver"
)

func main() {}
