// Command strata runs one or more Strata components: strata -target=all|distributor|ingester|querier.
package main

import (
	// gRPC's proto codec must be registered before pdata wraps it (see DESIGN §4).
	_ "google.golang.org/grpc/encoding/proto"

	"fmt"
	"os"

	"github.com/strataobs/strata/cmd/strata/app"
)

func main() {
	cfg, err := app.Load(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	a, err := app.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
