package chtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ClusterName is the cluster that deploy/clickhouse/local-config.xml defines over the
// ports of STRATA_CH_CLUSTER_PORTS.
const ClusterName = "strata_local"

// StartCluster starts n private ClickHouse servers on free loopback ports, each a shard
// of ClusterName, with scripts/clickhouse and data in temporary directories, and stops
// them when the test ends. It returns their native-protocol addresses in shard order.
// The shared server at Address() is not touched.
//
// It needs the ClickHouse binaries on this machine. Without them the test fails when CI
// is set and is skipped otherwise (a developer may run ClickHouse elsewhere).
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if _, err := exec.LookPath("clickhouse"); err != nil {
			msg := "this test starts its own ClickHouse servers: install clickhouse-server and clickhouse-client (apt-get install clickhouse-server clickhouse-client)"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source directory")
	}
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "clickhouse")
	ports := freePorts(t, 2*n)
	native := make([]string, n)
	for i := range native {
		native[i] = strconv.Itoa(ports[i])
	}
	envs := make([][]string, n)
	for i := range envs {
		envs[i] = append(os.Environ(),
			"STRATA_CH_DIR="+t.TempDir(),
			"STRATA_CH_PORT="+native[i],
			"STRATA_CH_HTTP_PORT="+strconv.Itoa(ports[n+i]),
			"STRATA_CH_CLUSTER_PORTS="+strings.Join(native, ","))
	}
	run := func(action string) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range envs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(script, action)
				cmd.Env = envs[i]
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = &scriptError{action, native[i], err, out}
				}
			}()
		}
		wg.Wait()
		return errs
	}
	// Registered before the start so that servers which did start are stopped when
	// another one fails; the temporary directories are removed after this runs.
	t.Cleanup(func() {
		for _, err := range run("stop") {
			if err != nil {
				t.Error(err)
			}
		}
	})
	for _, err := range run("start") {
		if err != nil {
			t.Fatal(err)
		}
	}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = "127.0.0.1:" + native[i]
	}
	return addrs
}

type scriptError struct {
	action, port string
	err          error
	out          []byte
}

func (e *scriptError) Error() string {
	return "scripts/clickhouse " + e.action + " (port " + e.port + "): " + e.err.Error() + "\n" + string(e.out)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ls := make([]net.Listener, n)
	ports := make([]int, n)
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i], ports[i] = l, l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
