package integration

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webUIRequired are the browser tests the web UI must pass against a real server; the
// script may have more, but none of these may go missing unnoticed.
var webUIRequired = []string{
	"search with the builder",
	"search with LogQL",
	"histogram renders",
	"line limit above the server maximum",
	"expand a record",
	"filter for a value",
	"live tail receives a pushed line",
	"open a trace from a log line",
	"waterfall shows all spans",
	"services table shows the right counts",
	"URL round-trips the state",
}

// webDir is the web/ directory of this repository.
func webDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source directory")
	}
	return filepath.Join(filepath.Dir(file), "..", "web")
}

// webUIPrereqs returns node and chromium, failing with what to install: the browser tests
// are part of the suite, so a machine without them must not pass silently.
func webUIPrereqs(t *testing.T, web string) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the web UI browser tests: install Node.js 20.19+ with npm (Debian 12's nodejs package is too old: use nodejs.org or NodeSource) and put node on the PATH")
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("web/node_modules/playwright-core is missing: run `make web-deps` (cd web && npm ci): %v", err)
	}
	chromium = os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is required for the web UI browser tests: apt-get install -y chromium (or set CHROMIUM_PATH): %v", err)
	}
	return node, chromium
}

// TestWebUI runs the browser tests (web/e2e/run.mjs, headless Chromium) against a real
// all-in-one strata with a fresh database: the UI served by the binary, data seeded through
// the Loki push and OTLP/HTTP receivers, queries answered from ingesters and ClickHouse.
// Screenshots are written to web/e2e/artifacts/.
func TestWebUI(t *testing.T) {
	web := webDir(t)
	node, chromium := webUIPrereqs(t, web)

	db := newTestDB(t)
	p := startAllInOne(t, db)
	db.conn(t) // strata created the database; opening it here lets the cleanup drop it
	const tenant = "webui"

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "run.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"STRATA_URL="+p.HTTPURL(),
		"STRATA_OTLP_URL="+p.OTLPHTTPURL(),
		"STRATA_TENANT="+tenant,
		"CHROMIUM_PATH="+chromium,
	)
	if os.Getenv("E2E_TIMEOUT_MS") == "" {
		// Other test packages may share the two cores: allow slow steps rather than flake.
		cmd.Env = append(cmd.Env, "E2E_TIMEOUT_MS=30000")
	}
	// On timeout, SIGTERM: playwright then closes Chromium (which runs in its own process
	// group) before node exits; whatever still runs after WaitDelay is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s e2e/run.mjs: %v", node, err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		t.Log(sc.Text())
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	t.Logf("browser tests took %s; screenshots in %s", time.Since(start).Round(time.Second), filepath.Join(web, "e2e", "artifacts"))
	if ctx.Err() != nil {
		t.Fatalf("browser tests did not finish within 5 minutes; strata log tail:\n%s", p.Tail(30))
	}
	if err != nil {
		t.Fatalf("web/e2e/run.mjs failed: %v; strata log tail:\n%s", err, p.Tail(30))
	}

	summary := regexp.MustCompile(`^(\d+) passed, (\d+) failed$`)
	var m []string
	for _, l := range lines {
		if s := summary.FindStringSubmatch(strings.TrimSpace(l)); s != nil {
			m = s
		}
	}
	if m == nil || m[2] != "0" || m[1] == "0" {
		t.Fatalf("no clean pass reported by web/e2e/run.mjs (want \"N passed, 0 failed\")")
	}
	passed := map[string]bool{}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "✓ "); ok {
			if i := strings.LastIndex(rest, " ("); i > 0 {
				rest = rest[:i]
			}
			passed[rest] = true
		}
	}
	for _, name := range webUIRequired {
		if !passed[name] {
			t.Errorf("browser test %q did not run and pass", name)
		}
	}
	// The data the UI showed went through the real write path into ClickHouse.
	if n := db.count(t, "SELECT count() FROM %s.logs WHERE tenant = '"+tenant+"'"); n == 0 {
		t.Errorf("no log rows of tenant %s in ClickHouse after the browser tests", tenant)
	}
}
