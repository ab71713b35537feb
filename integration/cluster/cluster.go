// Package cluster starts real strata processes for end-to-end tests and the load harness:
// each process gets its own 127.0.0.x address, ports, data directory and log file, and
// is reachable once its /ready answers.
package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the strata binary: $STRATA_BIN, or one built once per test binary.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("STRATA_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "strata-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "strata")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/strataobs/strata/cmd/strata").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

var (
	portsMu sync.Mutex
	ports   = map[string]bool{} // host:port handed out by FreePort in this process
)

// FreePort returns a port free on host for both TCP and UDP (memberlist listens on both)
// at the time of the call, and never the same one twice in a process: the kernel may give
// a just-closed ephemeral port out again, and a process once got one port for its OTLP
// receiver and its memberlist (TestClusterStoresOneCopy: "address already in use").
func FreePort(t testing.TB, host string) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatalf("find free port on %s: %v", host, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		if ports[addr] {
			continue
		}
		ports[addr] = true
		return port
	}
	t.Fatalf("no free port on %s after 100 tries", host)
	return 0
}

// Process is one strata process.
type Process struct {
	Name    string
	Host    string
	Args    []string // extra flags
	Env     []string // extra environment variables, KEY=value
	DataDir string
	LogPath string

	HTTPPort, GRPCPort, OTLPGRPCPort, OTLPHTTPPort, MemberlistPort int

	t    testing.TB
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// NewProcess allocates ports and a data directory for a process on host.
func NewProcess(t testing.TB, name, host, dataRoot string, args ...string) *Process {
	p := &Process{
		Name: name, Host: host, Args: args, t: t,
		DataDir: filepath.Join(dataRoot, name), LogPath: filepath.Join(dataRoot, name+".log"),
		HTTPPort: FreePort(t, host), GRPCPort: FreePort(t, host),
		OTLPGRPCPort: FreePort(t, host), OTLPHTTPPort: FreePort(t, host), MemberlistPort: FreePort(t, host),
	}
	return p
}

// HTTPURL is the base URL of the process's HTTP API.
func (p *Process) HTTPURL() string { return fmt.Sprintf("http://%s:%d", p.Host, p.HTTPPort) }

// OTLPGRPCAddr is the OTLP gRPC receiver address.
func (p *Process) OTLPGRPCAddr() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.OTLPGRPCPort))
}

// OTLPHTTPURL is the OTLP HTTP receiver base URL.
func (p *Process) OTLPHTTPURL() string { return fmt.Sprintf("http://%s:%d", p.Host, p.OTLPHTTPPort) }

// MemberlistAddr is the gossip address others join.
func (p *Process) MemberlistAddr() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(p.MemberlistPort))
}

func (p *Process) flags() []string {
	return append([]string{
		"-server.http-listen-address=" + p.Host, "-server.http-listen-port=" + strconv.Itoa(p.HTTPPort),
		"-server.grpc-listen-address=" + p.Host, "-server.grpc-listen-port=" + strconv.Itoa(p.GRPCPort),
		"-distributor.otlp-grpc-address=" + p.OTLPGRPCAddr(),
		"-distributor.otlp-http-address=" + net.JoinHostPort(p.Host, strconv.Itoa(p.OTLPHTTPPort)),
		"-memberlist.bind-addr=" + p.Host, "-memberlist.bind-port=" + strconv.Itoa(p.MemberlistPort),
		"-memberlist.advertise-addr=" + p.Host, "-memberlist.advertise-port=" + strconv.Itoa(p.MemberlistPort),
		"-ring.instance-id=" + p.Name, "-ring.instance-addr=" + p.Host,
		"-ingester.wal-dir=" + filepath.Join(p.DataDir, "wal"),
		"-log.level=info",
	}, p.Args...)
}

// Start launches the process and waits until /ready answers 200.
func (p *Process) Start(bin string) {
	p.t.Helper()
	if err := os.MkdirAll(p.DataDir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.log = f
	fmt.Fprintf(f, "---- start %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.flags(), " "))
	p.cmd = exec.Command(bin, p.flags()...)
	if len(p.Env) > 0 {
		p.cmd.Env = append(os.Environ(), p.Env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
	p.t.Cleanup(func() { p.Kill() })
	p.WaitReady(90 * time.Second)
}

// WaitReady polls /ready until it answers 200 or the deadline passes.
func (p *Process) WaitReady(d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before it was ready; log tail:\n%s", p.Name, p.Tail(40))
		default:
		}
		resp, err := http.Get(p.HTTPURL() + "/ready")
		if err == nil {
			b := make([]byte, 512)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = string(b[:n])
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s not ready after %s (%s); log tail:\n%s", p.Name, d, last, p.Tail(40))
}

// Pid is the operating-system process id, 0 before Start.
func (p *Process) Pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill9 kills the process with SIGKILL and waits for it to exit.
func (p *Process) Kill9() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to d for a clean exit, then kills.
func (p *Process) Stop(d time.Duration) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.cmd.ProcessState != nil && !p.cmd.ProcessState.Success() {
			return fmt.Errorf("%s exited with %s", p.Name, p.cmd.ProcessState)
		}
		return nil
	case <-time.After(d):
		p.Kill9()
		return fmt.Errorf("%s did not stop within %s", p.Name, d)
	}
}

// Kill ends the process if it still runs (test cleanup).
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		p.Kill9()
	}
	if p.log != nil {
		p.log.Close()
	}
}

// Tail returns the last n lines of the process log.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Eventually polls cond every 200ms until it returns nil or d passes; it returns the last error.
func Eventually(ctx context.Context, d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
