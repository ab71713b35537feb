package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Usage is one process's resource use in a phase.
type Usage struct {
	Name    string
	PeakRSS uint64  // bytes
	Cores   float64 // CPU seconds per second of load
	CPU     time.Duration
}

// Phase is one row of the report.
type Phase struct {
	Name      string
	Records   int64         // rows inserted or records acknowledged
	Rate      float64       // per second
	Queryable time.Duration // from the last acknowledgement until count() matched; <0 when not applicable
	Strata    []Usage       // strata processes (none for the raw phase)
	Others    []Usage       // ClickHouse and the load generator
	// PerRecord is CPU per record by process group, e.g. "strata 41 + ClickHouse 12".
	PerRecord string
	Notes     []string
	Err       error
}

// Cores sums the CPU use of the strata processes.
func (p *Phase) Cores() float64 {
	var c float64
	for _, u := range p.Strata {
		c += u.Cores
	}
	return c
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Table renders the phases as Markdown; raw is the ceiling the other rates are compared to.
func Table(phases []*Phase, raw float64) string {
	var sb strings.Builder
	sb.WriteString("| phase | records/s | % of raw ceiling | s to queryable | peak RSS per process | CPU cores used (load window) | CPU µs per record (until queryable) |\n")
	sb.WriteString("| --- | ---: | ---: | ---: | --- | --- | --- |\n")
	for _, p := range phases {
		if p.Err != nil && p.Rate == 0 {
			fmt.Fprintf(&sb, "| %s | failed: %s | | | | | |\n", p.Name, strings.ReplaceAll(p.Err.Error(), "|", "/"))
			continue
		}
		pct := "—"
		if raw > 0 {
			pct = fmt.Sprintf("%.0f%%", 100*p.Rate/raw)
		}
		q := "—"
		if p.Queryable >= 0 {
			q = fmt.Sprintf("%.1f", p.Queryable.Seconds())
		}
		var rss, cores []string
		for _, u := range p.Strata {
			rss = append(rss, fmt.Sprintf("%s %s", u.Name, mib(u.PeakRSS)))
		}
		if len(p.Strata) > 0 {
			cores = append(cores, fmt.Sprintf("strata %.2f", p.Cores()))
		}
		for _, u := range p.Others {
			cores = append(cores, fmt.Sprintf("%s %.2f", u.Name, u.Cores))
			if u.Name == "clickhouse" {
				rss = append(rss, fmt.Sprintf("clickhouse %s", mib(u.PeakRSS)))
			}
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", p.Name, thousands(p.Rate), pct, q,
			strings.Join(rss, "<br>"), strings.Join(cores, ", "), p.PerRecord)
	}
	return sb.String()
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Percentiles returns p50, p90 and p99 of d.
func Percentiles(d []time.Duration) (p50, p90, p99 time.Duration) {
	if len(d) == 0 {
		return
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.5), at(0.9), at(0.99)
}
