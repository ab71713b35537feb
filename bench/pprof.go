package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// FetchProfile saves a pprof endpoint's answer (e.g. /debug/pprof/profile?seconds=10,
// which dskit's server serves when -server.register-instrumentation is on) to path.
func FetchProfile(ctx context.Context, url, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PprofTop runs `go tool pprof -top` on a saved profile with extra flags (e.g. -cum).
func PprofTop(goBin, path string, nodes int, extra ...string) (string, error) {
	args := append([]string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", nodes)}, extra...)
	out, err := exec.Command(goBin, append(args, path)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("go tool pprof: %v", err)
	}
	return string(out), nil
}

// Frame names one function whose cumulative share of a profile is worth reporting.
type Frame struct {
	Label, Func string
}

// Breakdown reports the cumulative time of each frame in a CPU profile as a Markdown
// table, from `go tool pprof -top -cum`; frames absent from the profile show a dash.
func Breakdown(goBin, path string, frames []Frame) (string, error) {
	out, err := PprofTop(goBin, path, 5000, "-cum")
	if err != nil {
		return out, err
	}
	type cum struct{ secs, pct string }
	found := map[string]cum{}
	total := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Total samples =") {
			total = strings.TrimSpace(line)
		}
		f := strings.Fields(line)
		// flat flat% sum% cum cum% name...
		if len(f) >= 6 && strings.HasSuffix(f[4], "%") {
			name := strings.Join(f[5:], " ")
			name = strings.TrimSuffix(name, " (inline)")
			if _, dup := found[name]; !dup {
				found[name] = cum{f[3], f[4]}
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n\n| where | cum | cum %% |\n| --- | ---: | ---: |\n", total)
	for _, fr := range frames {
		c, ok := found[fr.Func]
		if !ok {
			c = cum{"—", "—"}
		}
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", fr.Label, c.secs, c.pct)
	}
	return sb.String(), nil
}
