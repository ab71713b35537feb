// Command loadbench is the load harness behind `make bench`. In one run on one machine it
// measures the raw ClickHouse insert ceiling, Strata all-in-one (RF=1) ingest and a
// 3-ingester RF=3 cluster, with peak RSS and CPU per process and CPU profiles of the hot
// path, and writes a Markdown report to bench/results/latest.md.
//
// It starts ClickHouse-backed strata processes on 127.0.0.x through integration/cluster
// and expects ClickHouse to run already (`scripts/clickhouse start`; `make bench` does it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/dskit/flagext"

	"github.com/strataobs/strata/bench"
	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
)

type options struct {
	chAddr, chPidFile, strataBin, results, goBin string
	strataRev, strataArgs                        string
	phases                                       string
	gen                                          bench.GenConfig
	templates                                    int

	rawDuration           time.Duration
	rawWriters, rawBatch  int
	rawMaxRows            int
	duration              time.Duration
	maxRecords            int64
	clients               int
	gzip                  bool
	profileAfter, profile time.Duration
	queryableTimeout      time.Duration
	timeout               time.Duration
	quietCores            float64
	quietWait             time.Duration

	queryDB                string
	queryLines, querySpans int
	queryRuns              int
	queryProfile           time.Duration
}

func main() {
	var o options
	o.gen = bench.DefaultGenConfig()
	flag.StringVar(&o.chAddr, "clickhouse", envOr("STRATA_CLICKHOUSE", "127.0.0.1:9000"), "ClickHouse native address")
	flag.StringVar(&o.chPidFile, "clickhouse-pid-file", ".data/clickhouse/clickhouse.pid", "pid file of the ClickHouse server, to sample its CPU and RSS (skipped when missing)")
	flag.StringVar(&o.strataBin, "strata-bin", os.Getenv("STRATA_BIN"), "strata binary (default: built by integration/cluster)")
	flag.StringVar(&o.strataArgs, "strata-args", "", "extra flags for every strata process of the ingest phases, space-separated (e.g. -ingester.max-epoch-age=2s)")
	flag.StringVar(&o.strataRev, "strata-rev", "", "revision the strata binary was built from, for the report (default: git describe --dirty of the working tree)")
	flag.StringVar(&o.results, "results", "bench/results", "directory for latest.md and profiles")
	flag.StringVar(&o.goBin, "go", envOr("GO", "go"), "go command, for `go tool pprof`")
	flag.StringVar(&o.phases, "phases", "raw,all,raw,all,raw,cluster,query", "phases to run, in order: raw, all, cluster (ingest) and query; the raw ceiling is the mean of the raw phases, and the all-in-one rate held against it the mean of the all phases")
	flag.IntVar(&o.gen.BatchRecords, "batch", o.gen.BatchRecords, "log records per OTLP request")
	flag.IntVar(&o.templates, "templates", 32, "distinct pre-built requests the sender cycles through")
	flag.DurationVar(&o.rawDuration, "raw-duration", 20*time.Second, "raw ClickHouse phase duration")
	flag.IntVar(&o.rawWriters, "raw-writers", 2, "parallel writers in the raw phase")
	flag.IntVar(&o.rawBatch, "raw-batch", 100000, "rows per INSERT in the raw phase")
	flag.IntVar(&o.rawMaxRows, "raw-max-rows", 10_000_000, "bound on rows inserted in the raw phase")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "load duration of each Strata phase")
	flag.Int64Var(&o.maxRecords, "max-records", 10_000_000, "bound on records sent in each Strata phase")
	flag.IntVar(&o.clients, "clients", 8, "concurrent OTLP gRPC clients")
	flag.BoolVar(&o.gzip, "gzip", false, "gzip requests, as OTLP exporters do by default")
	flag.DurationVar(&o.profileAfter, "profile-after", 8*time.Second, "start the CPU profile this long into the load")
	flag.DurationVar(&o.profile, "profile", 10*time.Second, "CPU profile length")
	flag.DurationVar(&o.queryableTimeout, "queryable-timeout", 60*time.Second, "longest wait for all acknowledged records to be counted in ClickHouse")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole run")
	flag.StringVar(&o.queryDB, "query-db", "strata_bench_query", "database of the query phase's data set, kept and reused across runs while it holds the expected rows")
	flag.IntVar(&o.queryLines, "query-lines", 10_000_000, "log lines in the query phase's data set")
	flag.IntVar(&o.querySpans, "query-spans", 1_000_000, "spans in the query phase's data set")
	flag.IntVar(&o.queryRuns, "query-runs", 7, "measured runs of each query (after one warm-up)")
	flag.DurationVar(&o.queryProfile, "query-profile", 0, "after the measured runs, CPU-profile the querier this long while the queries run in turn (0: off)")
	flag.Float64Var(&o.quietCores, "quiet-cores", 0.3, "before each phase, wait until other processes use less CPU than this (cores) ...")
	flag.DurationVar(&o.quietWait, "quiet-wait", 60*time.Second, "... for at most this long in the whole run; the report states how busy the machine was")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if o.strataRev == "" {
		// Before the run: the reports it writes into the tree would make it look modified.
		o.strataRev = gitRev()
	}
	if o.strataBin != "" {
		os.Setenv("STRATA_BIN", o.strataBin)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, o.timeout)
	defer cancelT()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// harness carries what every phase shares.
type harness struct {
	o         options
	templates []*bench.Template
	chPid     int
	stamp     string
	loadStart string        // load average when the run started
	notes     []string      // run-wide notes
	pageCost  time.Duration // first touch of a fresh page (bench.FreshPageCost); 0 if unknown
	tops      []string      // pprof summaries, in order
	mu        sync.Mutex
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.results, 0o755); err != nil {
		return err
	}
	h := &harness{o: o, stamp: time.Now().Format("20060102_150405"), loadStart: loadAvg()}
	if b, err := os.ReadFile(o.chPidFile); err == nil {
		h.chPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if h.chPid == 0 {
		log.Printf("no ClickHouse pid (%s): its CPU and RSS are not reported", o.chPidFile)
	}

	if d, err := bench.FreshPageCost(64<<20, 3); err != nil {
		log.Print(err)
	} else {
		h.pageCost = d
		h.notef("Fresh memory: writing a page (%d bytes) of newly mapped memory for the first time costs %.1f µs on this machine (64 MiB, median of 3 rounds), %.1f ns per byte; the page faults counted below cost that each.",
			os.Getpagesize(), float64(d.Nanoseconds())/1e3, float64(d.Nanoseconds())/float64(os.Getpagesize()))
	}

	// The generator runs before any timing; its own cost is measured and reported.
	t0 := time.Now()
	var err error
	h.templates, err = bench.NewGenerator(o.gen).Templates(o.templates)
	if err != nil {
		return err
	}
	build := time.Since(t0)
	var wire, recs int
	for _, t := range h.templates {
		wire, recs = wire+t.WireBytes(), recs+t.Records()
	}
	var buf []byte
	f0 := time.Now()
	for i := 0; i < 20; i++ {
		buf = h.templates[i%len(h.templates)].Fill(buf, 0, int64(i*o.gen.BatchRecords))
	}
	fill := time.Since(f0) / time.Duration(20*o.gen.BatchRecords)
	h.notef("Generator: %d distinct requests of %d records from %d pods (%d streams at most), %.1f wire bytes/record (protobuf, %s); building them took %.2f µs/record before timing, stamping a request for sending costs %.1f ns/record.",
		len(h.templates), o.gen.BatchRecords, o.gen.ResourcesPerBatch, o.gen.Services*o.gen.PodsPerService, float64(wire)/float64(recs),
		map[bool]string{true: "gzip on", false: "uncompressed"}[o.gzip], float64(build.Microseconds())/float64(recs), float64(fill.Nanoseconds()))
	log.Print(h.notes[len(h.notes)-1])

	var phases []*bench.Phase
	var raws []float64
	alls := 0
	var queryOut string
	var queryErr error
	for _, name := range strings.Split(o.phases, ",") {
		if ctx.Err() != nil {
			break
		}
		busy := h.waitQuiet(ctx)
		var p *bench.Phase
		switch name {
		case "raw":
			p = h.raw(ctx, len(raws))
			if p.Err == nil {
				raws = append(raws, p.Rate)
			}
		case "all":
			title, short := "Strata all-in-one RF=1", "all"
			if alls > 0 {
				title, short = fmt.Sprintf("%s, run %d", title, alls+1), fmt.Sprintf("all%d", alls+1)
			}
			alls++
			p = h.strata(ctx, title, short, h.startAll)
		case "cluster":
			p = h.strata(ctx, "Strata 3 ingesters + 2 distributors RF=3", "cluster", h.startCluster)
		case "query":
			rows, notes, err := h.queryPhase(ctx)
			notes = append(notes, fmt.Sprintf("Before the phase other processes used %.2f cores; the machine is shared, so single runs are noisy.", busy))
			queryOut, queryErr = queryReport(bench.DefaultQueryData(o.queryLines, o.querySpans), o.queryRuns, rows, notes, err), err
			if err != nil {
				log.Printf("query: %v", err)
			}
			continue
		default:
			return fmt.Errorf("unknown phase %q", name)
		}
		if p.Err != nil {
			log.Printf("%s: %v", p.Name, p.Err)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("Before the phase other processes used %.2f cores.", busy))
		phases = append(phases, p)
	}
	raw := mean(raws)
	if len(raws) > 1 {
		h.notef("The raw ceiling is the mean of the %d raw phases (%s rows/s), %.0f rows/s, and the all-in-one rate held against it is the mean of the all-in-one phases between them: the machine's speed drifts between phases, and a slow or fast stretch in one phase should not decide the comparison.",
			len(raws), joinRates(raws), raw)
	}
	report := h.report(phases, raw) + queryOut
	fmt.Println()
	fmt.Print(report)
	path := filepath.Join(o.results, "latest.md")
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return err
	}
	log.Printf("report written to %s", path)
	for _, p := range phases {
		if p.Err != nil {
			return fmt.Errorf("some phases failed")
		}
	}
	if queryErr != nil {
		return fmt.Errorf("query phase failed: %w", queryErr)
	}
	return nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// joinRates lists rates as "a and b", or "a, b and c".
func joinRates(xs []float64) string {
	var out []string
	for _, x := range xs {
		out = append(out, fmt.Sprintf("%.0f", x))
	}
	if len(out) < 2 {
		return strings.Join(out, "")
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// waitQuiet waits, within the run's quiet-wait budget, until processes other than
// ClickHouse (idle between phases) use less than quiet-cores over 2 s; it returns the
// last such reading. The machine is shared: this keeps other engineers' builds from
// skewing a phase when they can be waited out.
func (h *harness) waitQuiet(ctx context.Context) float64 {
	for {
		b0, err := bench.MachineBusy()
		if err != nil {
			return 0
		}
		own0 := h.ownCPU()
		t0 := time.Now()
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(2 * time.Second):
		}
		b1, _ := bench.MachineBusy()
		wall := time.Since(t0)
		other := cores(b1-b0-(h.ownCPU()-own0), wall)
		if other < h.o.quietCores || h.o.quietWait <= 0 {
			return other
		}
		log.Printf("other processes use %.2f cores; waiting for a quieter machine (%s of waiting left)", other, h.o.quietWait.Round(time.Second))
		h.o.quietWait -= wall
	}
}

// ownCPU is the CPU time of this harness and of ClickHouse.
func (h *harness) ownCPU() time.Duration {
	var d time.Duration
	for _, pid := range []int{os.Getpid(), h.chPid} {
		if pid > 0 {
			if st, err := bench.ReadProc(pid); err == nil {
				d += st.CPU
			}
		}
	}
	return d
}

func (h *harness) notef(format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes = append(h.notes, fmt.Sprintf(format, a...))
}

func (h *harness) chConfig(db string) clickhouse.Config {
	var cfg clickhouse.Config
	flagext.DefaultValues(&cfg)
	cfg.Address = h.o.chAddr
	cfg.Database = db
	return cfg
}

// dropOnCleanup drops the client's database and closes it when the phase ends.
func dropOnCleanup(t *bench.T, c *clickhouse.Client) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+c.Database()); err != nil {
			log.Printf("drop %s: %v", c.Database(), err)
		}
		c.Close()
	})
}

func (h *harness) watched(extra ...*bench.Watched) []*bench.Watched {
	out := append([]*bench.Watched{}, extra...)
	if h.chPid > 0 {
		out = append(out, &bench.Watched{Name: "clickhouse", Pid: h.chPid})
	}
	return append(out, &bench.Watched{Name: "loadgen", Pid: os.Getpid()})
}

// otherUsage is the CPU the rest of the machine used between two marks: other
// engineers' builds and tests share it, and this says how much they took.
func otherUsage(m0, m1 map[string]time.Duration, wall time.Duration) bench.Usage {
	d := m1[bench.Machine] - m0[bench.Machine]
	for name, v := range m1 {
		if name != bench.Machine {
			d -= v - m0[name]
		}
	}
	return bench.Usage{Name: "other processes", CPU: max(d, 0), Cores: cores(max(d, 0), wall)}
}

// perRecord is CPU time per record in microseconds.
func perRecord(d time.Duration, records int64) float64 {
	return float64(d.Microseconds()) / float64(max(records, 1))
}

func cores(d time.Duration, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return d.Seconds() / wall.Seconds()
}

// renumberStride is added to a pooled raw batch's ids at each reuse; odd and far from
// any small multiple of a batch's id range, so no two rounds share an id.
const renumberStride = 0x9E3779B97F4A7C15

// raw measures the ClickHouse ceiling: LogBatches of the same records, built before
// timing, inserted by parallel writers through the same client code the ingester uses.
// raw measures the ceiling; n counts the raw phases before it in this run.
func (h *harness) raw(ctx context.Context, n int) *bench.Phase {
	p := &bench.Phase{Name: "raw ClickHouse insert (clickhouse-go, LogBatch)", Queryable: -1}
	if n > 0 {
		p.Name += fmt.Sprintf(", run %d", n+1)
	}
	p.Err = bench.Run("raw", func(t *bench.T) {
		o := h.o
		c, err := clickhouse.Open(ctx, h.chConfig(fmt.Sprintf("strata_bench_raw%d_%s", n+1, h.stamp)))
		if err != nil {
			t.Fatalf("ClickHouse at %s: %v", o.chAddr, err)
		}
		dropOnCleanup(t, c)
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		// A pool of distinct batches, two per writer, reused in turn: rebuilding during the
		// run would charge Strata's row building to ClickHouse. Each reuse renumbers the
		// batch's ids, so every INSERT stores new records as Strata's flushes do; repeats
		// would merge away and make ClickHouse's merges cheaper than they are.
		pool := make([]*clickhouse.LogBatch, 2*o.rawWriters)
		base := time.Now().Add(-2 * time.Minute).UnixNano()
		var addTime time.Duration
		var seq int64
		for i := range pool {
			pool[i] = &clickhouse.LogBatch{}
			for pool[i].Len() < o.rawBatch {
				tpl := h.templates[int(seq/int64(o.gen.BatchRecords))%len(h.templates)]
				ld, err := tpl.Logs(base, seq)
				if err != nil {
					t.Fatal(err)
				}
				rows := bench.ToRows("bench", ld, uint64(seq))
				a0 := time.Now()
				rows.AppendTo(pool[i], 30, uint64(i+1))
				addTime += time.Since(a0)
				seq += int64(rows.Len())
			}
		}
		log.Printf("raw: %d batches of %d rows built (LogBatch.Add %.0f ns/row); inserting for %s with %d writers",
			len(pool), pool[0].Len(), float64(addTime.Nanoseconds())/float64(seq), o.rawDuration, o.rawWriters)
		s := bench.NewSampler(250*time.Millisecond, h.watched()...)
		m0 := s.Mark()
		var rows, inserts atomic.Int64
		var firstErr atomic.Value
		start := time.Now()
		stopAt := start.Add(o.rawDuration)
		var wg sync.WaitGroup
		for w := 0; w < o.rawWriters; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; ctx.Err() == nil && time.Now().Before(stopAt); k++ {
					b := pool[w+(k%2)*o.rawWriters]
					if k >= 2 {
						b.Renumber(renumberStride)
					}
					if rows.Add(int64(b.Len())) > int64(o.rawMaxRows) {
						rows.Add(-int64(b.Len()))
						return
					}
					if err := c.WriteLogs(ctx, b); err != nil {
						rows.Add(-int64(b.Len()))
						firstErr.CompareAndSwap(nil, err)
						return
					}
					inserts.Add(1)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		m1 := s.Mark()
		settled, merged := waitMerges(ctx, c.Conn(), c.Database())
		m2 := s.Mark()
		s.Stop()
		if e := firstErr.Load(); e != nil {
			t.Fatalf("insert: %v", e)
		}
		p.Records = rows.Load()
		p.Rate = float64(p.Records) / elapsed.Seconds()
		for _, name := range []string{"clickhouse", "loadgen"} {
			if _, ok := m0[name]; ok {
				p.Others = append(p.Others, bench.Usage{Name: name, PeakRSS: s.Peak(name, false), Cores: cores(m1[name]-m0[name], elapsed), CPU: m1[name] - m0[name]})
			}
		}
		p.Others = append(p.Others, otherUsage(m0, m1, elapsed))
		p.PerRecord = fmt.Sprintf("ClickHouse %.1f + client %.1f", perRecord(m1["clickhouse"]-m0["clickhouse"], p.Records), perRecord(m1["loadgen"]-m0["loadgen"], p.Records))
		var stored, distinct uint64
		if err := c.Conn().QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+c.Database()+".logs").Scan(&stored, &distinct); err != nil {
			t.Fatal(err)
		}
		if distinct != uint64(p.Records) {
			t.Fatalf("raw: %d distinct ids stored for %d rows inserted: renumbered batches repeat records", distinct, p.Records)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%d rows in %d INSERTs of %d rows by %d writers in %.1f s; the %d pooled batches of %d rows each are reused in turn with new record ids, so every row is a distinct record (count() = %d, uniqExact(id) = %d). Building rows with LogBatch.Add cost %.0f ns/row, outside the timing.",
			p.Records, inserts.Load(), o.rawBatch, o.rawWriters, elapsed.Seconds(), len(pool), pool[0].Len(), stored, distinct, float64(addTime.Nanoseconds())/float64(seq)))
		if ch, ok := m2["clickhouse"]; ok {
			withMerges := perRecord(ch-m0["clickhouse"], p.Records)
			state := fmt.Sprintf("merges settled %.1f s after the last INSERT", settled.Seconds())
			if !merged {
				state = fmt.Sprintf("merges still running %.1f s after the last INSERT", settled.Seconds())
			}
			p.Notes = append(p.Notes, fmt.Sprintf("The rate above is a burst: ClickHouse merges the parts later. Counting the merges of these rows too (%s), ClickHouse spent %.1f CPU µs per row, so %d cores running nothing else sustain at most %.0f rows/s into this table.",
				state, withMerges, runtime.NumCPU(), float64(runtime.NumCPU())*1e6/withMerges))
		}
	})
	return p
}

// faultTime is what faults page faults cost at the measured cost of a fresh page, as a
// share of cpu.
func (h *harness) faultTime(faults uint64, cpu time.Duration) string {
	if h.pageCost == 0 {
		return ""
	}
	d := time.Duration(faults) * h.pageCost
	return fmt.Sprintf(", about %.1f s of CPU at %.1f µs a fault: %.0f%% of strata's", d.Seconds(), float64(h.pageCost.Nanoseconds())/1e3, 100*d.Seconds()/max(cpu.Seconds(), 1e-9))
}

// waitMerges waits, at most a minute, until ClickHouse runs no merge in db, and says
// how long that took and whether it happened.
func waitMerges(ctx context.Context, conn driver.Conn, db string) (time.Duration, bool) {
	start := time.Now()
	idle := 0
	for time.Since(start) < time.Minute && ctx.Err() == nil {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = "+clickhouse.Quote(db)).Scan(&n); err != nil {
			return time.Since(start), false
		}
		// Two idle polls in a row: a merge that ends can be followed at once by the next.
		if n > 0 {
			idle = 0
		} else if idle++; idle == 2 {
			return time.Since(start), true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start), false
}

// topology starts the strata processes of a phase: all of them, the OTLP targets, and
// the processes to profile.
type topology func(t *bench.T, db string) (procs []*cluster.Process, targets []string, profiled []*cluster.Process)

func (h *harness) startAll(t *bench.T, db string) ([]*cluster.Process, []string, []*cluster.Process) {
	p := cluster.NewProcess(t, "all", "127.0.0.1", t.TempDir(), append([]string{
		"-target=all", "-clickhouse.address=" + h.o.chAddr, "-clickhouse.database=" + db}, strings.Fields(h.o.strataArgs)...)...)
	p.Start(cluster.Binary(t))
	return []*cluster.Process{p}, []string{p.OTLPGRPCAddr()}, []*cluster.Process{p}
}

// startCluster starts 3 ingesters and 2 distributors on 127.0.0.2-6 as
// integration/cluster_test.go does, with production defaults for ingest and flushing.
func (h *harness) startCluster(t *bench.T, db string) ([]*cluster.Process, []string, []*cluster.Process) {
	bin := cluster.Binary(t)
	root := t.TempDir()
	common := []string{"-clickhouse.address=" + h.o.chAddr, "-clickhouse.database=" + db,
		"-ring.heartbeat-period=1s", "-ring.heartbeat-timeout=15s",
		"-memberlist.gossip-interval=100ms", "-memberlist.pullpush-interval=2s"}
	common = append(common, strings.Fields(h.o.strataArgs)...)
	var procs, ingesters, distributors []*cluster.Process
	var seed string
	for i := 0; i < 3; i++ {
		p := cluster.NewProcess(t, fmt.Sprintf("ingester-%d", i+1), fmt.Sprintf("127.0.0.%d", 2+i), root)
		if seed == "" {
			seed = p.MemberlistAddr()
		}
		p.Args = append(append([]string{"-target=ingester", "-memberlist.join=" + seed}, common...), p.Args...)
		ingesters = append(ingesters, p)
	}
	for i := 0; i < 2; i++ {
		p := cluster.NewProcess(t, fmt.Sprintf("distributor-%d", i+1), fmt.Sprintf("127.0.0.%d", 5+i), root)
		p.Args = append([]string{"-target=distributor", "-memberlist.join=" + seed}, common...)
		distributors = append(distributors, p)
	}
	procs = append(append(procs, ingesters...), distributors...)
	var fns []func()
	for _, p := range procs {
		fns = append(fns, func() { p.Start(bin) })
	}
	t.Parallel(fns...)
	var targets []string
	for _, d := range distributors {
		if err := cluster.Eventually(context.Background(), 60*time.Second, func() error { return ringActive(d, 3) }); err != nil {
			t.Fatalf("%s ring: %v\n%s", d.Name, err, d.Tail(20))
		}
		targets = append(targets, d.OTLPGRPCAddr())
	}
	return procs, targets, []*cluster.Process{ingesters[0], distributors[0]}
}

func ringActive(p *cluster.Process, n int) error {
	body, err := httpGet(p.HTTPURL() + "/ring")
	if err != nil {
		return err
	}
	if got := strings.Count(body, ">ACTIVE<"); got < n {
		return fmt.Errorf("%d ACTIVE ingesters in the ring, want %d", got, n)
	}
	return nil
}

// strata runs one Strata phase: start the topology against a fresh database, send load,
// profile, wait until every acknowledged record is counted in ClickHouse.
func (h *harness) strata(ctx context.Context, title, short string, start topology) *bench.Phase {
	p := &bench.Phase{Name: title, Queryable: -1}
	p.Err = bench.Run(short, func(t *bench.T) {
		o := h.o
		db := "strata_bench_" + short + "_" + h.stamp
		procs, targets, profiled := start(t, db)
		t.Cleanup(func() {
			for _, pr := range procs {
				if b, err := os.ReadFile(pr.LogPath); err == nil {
					os.WriteFile(filepath.Join(o.results, short+"-"+pr.Name+".log"), b, 0o644)
				}
			}
		})
		c, err := clickhouse.Open(ctx, h.chConfig(db))
		if err != nil {
			t.Fatal(err)
		}
		dropOnCleanup(t, c)
		var w []*bench.Watched
		for _, pr := range procs {
			w = append(w, &bench.Watched{Name: pr.Name, Pid: pr.Pid()})
		}
		s := bench.NewSampler(250*time.Millisecond, h.watched(w...)...)
		defer s.Stop()

		lctx, cancelLoad := context.WithCancel(ctx)
		defer cancelLoad()
		var profWG sync.WaitGroup
		var cpuProfiles []string
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			cpuProfiles = h.profile(lctx, short, profiled)
		}()
		log.Printf("%s: sending to %v with %d clients for %s (at most %d records)", short, targets, o.clients, o.duration, o.maxRecords)
		m0, st0 := s.Mark(), s.MarkStats()
		loadStart := time.Now()
		res, err := bench.RunLoad(ctx, bench.LoadConfig{
			Targets: targets, Clients: o.clients, Duration: o.duration, MaxRecords: o.maxRecords,
			Tenant: "bench", Templates: h.templates, Base: time.Now().Add(-time.Minute).UnixNano(),
			Gzip: o.gzip, RetryFor: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		m1 := s.Mark()
		loadWall := time.Since(loadStart)
		var heaps []string
		for _, pr := range profiled {
			heaps = append(heaps, h.fetch(ctx, fmt.Sprintf("%s-%s.heap.prof", short, pr.Name), pr.HTTPURL()+"/debug/pprof/heap", 20*time.Second))
		}
		// Wait for every acknowledged record to be counted.
		lastAck := loadStart.Add(res.LastAck)
		stored, qerr := waitStored(ctx, c, db, res.Acked, o.queryableTimeout, 500*time.Millisecond)
		if qerr == nil {
			p.Queryable = time.Since(lastAck)
		}
		m2, st2 := s.Mark(), s.MarkStats()
		untilQueryable := time.Since(loadStart)
		var huge uint64
		for _, pr := range procs {
			if n, err := bench.AnonHugePages(pr.Pid()); err == nil {
				huge += n
			}
		}
		profWG.Wait()
		h.summarize(short, profiled, cpuProfiles)
		for k, path := range heaps {
			if path == "" {
				continue
			}
			top, err := bench.PprofTop(o.goBin, path, 12, "-sample_index=inuse_space")
			if err != nil {
				continue
			}
			h.mu.Lock()
			h.tops = append(h.tops, fmt.Sprintf("#### %s: %s heap in use when the load ended (`%s`)\n\n```\n%s```\n", short, profiled[k].Name, path, trimTop(top, 12)))
			h.mu.Unlock()
		}
		var distinct uint64
		if err := c.Conn().QueryRow(ctx, "SELECT uniqExact(id) FROM "+db+".logs WHERE tenant = 'bench'").Scan(&distinct); err != nil {
			log.Printf("%s: uniqExact: %v", short, err)
		}

		p.Records, p.Rate = res.Acked, res.AckedPerSec()
		var strataCPU, strataSys time.Duration
		var faults uint64
		for _, pr := range procs {
			u := bench.Usage{Name: pr.Name, PeakRSS: s.Peak(pr.Name, true), CPU: m1[pr.Name] - m0[pr.Name]}
			u.Cores = cores(u.CPU, loadWall)
			strataCPU += m2[pr.Name] - m0[pr.Name]
			strataSys += st2[pr.Name].Sys - st0[pr.Name].Sys
			faults += st2[pr.Name].MinFlt - st0[pr.Name].MinFlt
			p.Strata = append(p.Strata, u)
		}
		p.PerRecord = fmt.Sprintf("strata %.1f + ClickHouse %.1f", perRecord(strataCPU, res.Acked), perRecord(m2["clickhouse"]-m0["clickhouse"], res.Acked))
		for _, name := range []string{"clickhouse", "loadgen"} {
			if _, ok := m0[name]; ok {
				u := bench.Usage{Name: name, PeakRSS: s.Peak(name, false), CPU: m1[name] - m0[name]}
				u.Cores = cores(u.CPU, loadWall)
				p.Others = append(p.Others, u)
			}
		}
		p.Others = append(p.Others, otherUsage(m0, m1, loadWall))
		p50, p90, p99 := bench.Percentiles(res.Latencies)
		p.Notes = append(p.Notes,
			fmt.Sprintf("%d records acknowledged of %d sent (%d rejected) in %.1f s by %d clients (%d of them within the %s load window, %.0f/s); end to end, from the first send until all were queryable, %.0f records/s; %d requests, %d retryable failures retried, %d requests given up after retrying for 10 s past the load window, %d failed otherwise. Latency of successful requests p50 %s, p90 %s, p99 %s. Stamping requests cost the sender %.0f ms of CPU.",
				res.Acked, res.Sent, res.Rejected, res.Elapsed.Seconds(), o.clients, res.AckedInWindow, o.duration, float64(res.AckedInWindow)/min(o.duration, res.Elapsed).Seconds(),
				float64(res.Acked)/untilQueryable.Seconds(), res.Requests, res.Retries, res.GaveUp, res.Failed, p50.Round(time.Millisecond), p90.Round(time.Millisecond), p99.Round(time.Millisecond), float64(res.FillTime.Milliseconds())),
			fmt.Sprintf("ClickHouse count() = %d, uniqExact(id) = %d; queryable %s after the last acknowledgement.", stored, distinct, fmtQueryable(p.Queryable, qerr)),
			fmt.Sprintf("Strata CPU from load start until queryable (%.1f s): %.1f core-seconds = %.1f core-µs per record, %.0f%% of it in the kernel; %d minor page faults (%.1f per 1000 records, %.0f MiB first touched in 4 KiB pages%s); %.0f MiB in transparent huge pages at the end, faulted in 2 MiB at a time.",
				untilQueryable.Seconds(), strataCPU.Seconds(), perRecord(strataCPU, res.Acked), 100*strataSys.Seconds()/max(strataCPU.Seconds(), 1e-9),
				faults, 1000*float64(faults)/float64(max(res.Acked, 1)), float64(faults)*4096/(1<<20), h.faultTime(faults, strataCPU), float64(huge)/(1<<20)))
		p.Notes = append(p.Notes, paceNote(res, o.duration))
		if res.FirstRetryable != "" {
			p.Notes = append(p.Notes, "First retryable error: "+firstLine(res.FirstRetryable))
		}
		if res.FirstErr != "" {
			p.Notes = append(p.Notes, "First error: "+firstLine(res.FirstErr))
		}
		if qerr == nil && len(procs) > 1 {
			p.Notes = append(p.Notes, ingesterCounters(procs)...)
		}
		if qerr != nil {
			t.Errorf("not all acknowledged records queryable within %s: %v", o.queryableTimeout, qerr)
			p.Notes = append(p.Notes, h.lateRecords(ctx, c, db, procs, res.Acked)...)
		}
		if res.Failed > 0 || res.Rejected > 0 {
			t.Errorf("%d requests failed and %d records were rejected: %s", res.Failed, res.Rejected, res.FirstErr)
		}
	})
	return p
}

// paceNote says how the acknowledged rate moved through the load: at first the
// ingesters' memory (-ingester.max-memory-bytes) takes records faster than flushes free
// it, so the rate over a short load is above the rate flushing sustains.
func paceNote(res *bench.LoadResult, window time.Duration) string {
	w := int(min(window, res.Elapsed) / time.Second)
	var means []string
	for from := 0; from+5 <= w; from += 5 {
		means = append(means, fmt.Sprintf("%.0f", res.RateBetween(from, from+5)))
	}
	return fmt.Sprintf("Acknowledged records/s, mean of each 5 s of the load: %s. From second %d to second %d, once the ingesters' memory had filled and flushing paced the load: %.0f/s.",
		strings.Join(means, ", "), w/3, w, res.RateBetween(w/3, w))
}

// poll calls cond every period until it returns nil or d passes; it returns the last error.
// lateWait bounds how long a phase whose records were not all queryable in time keeps
// counting, to tell late records from lost ones.
const lateWait = 150 * time.Second

// lateRecords explains a failed queryable check: what each process's ingester counters
// say (promotions, releases, refusals, flush errors), then whether the missing records
// arrive within lateWait (a replica waiting out -ingester.release-grace) or not.
func (h *harness) lateRecords(ctx context.Context, c *clickhouse.Client, db string, procs []*cluster.Process, acked int64) []string {
	notes := ingesterCounters(procs)
	t0 := time.Now()
	stored, err := waitStored(ctx, c, db, acked, lateWait, time.Second)
	if err != nil {
		return append(notes, fmt.Sprintf("Still %d acknowledged records missing %s after the check failed (%v).", acked-int64(stored), lateWait, err))
	}
	return append(notes, fmt.Sprintf("The missing records arrived %.0f s after the check failed: late, not lost.", time.Since(t0).Seconds()))
}

// ingesterCounters lists each process's non-zero ingester counters (promotions,
// releases, repeats refused, refusals, flush errors): what the replicas did for a run's
// counts.
func ingesterCounters(procs []*cluster.Process) []string {
	var notes []string
	for _, pr := range procs {
		body, err := httpGet(pr.HTTPURL() + "/metrics")
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s metrics: %v", pr.Name, err))
			continue
		}
		var counters []string
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "strata_ingester_") && !strings.Contains(line, "_bucket") &&
				!strings.HasSuffix(line, " 0") && !strings.Contains(line, "_duration_") && !strings.Contains(line, "_batch_records") {
				counters = append(counters, line)
			}
		}
		if len(counters) > 0 {
			notes = append(notes, fmt.Sprintf("%s ingester counters: `%s`", pr.Name, strings.Join(counters, "`, `")))
		}
	}
	return notes
}

// waitStored polls until the phase's database holds acked log rows, for at most d. The
// database is fresh and holds only this load: a plain count() reads the smallest column,
// where a tenant filter would scan one on every poll and load ClickHouse.
func waitStored(ctx context.Context, c *clickhouse.Client, db string, acked int64, d, period time.Duration) (uint64, error) {
	var stored uint64
	err := poll(ctx, d, period, func() error {
		if err := c.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".logs").Scan(&stored); err != nil {
			return err
		}
		if int64(stored) < acked {
			return fmt.Errorf("%d of %d acknowledged records queryable", stored, acked)
		}
		return nil
	})
	return stored, err
}

func poll(ctx context.Context, d, period time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(period):
		}
	}
}

func fmtQueryable(d time.Duration, err error) string {
	if err != nil {
		return "never (" + err.Error() + ")"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// profile takes a CPU profile of each profiled process at the same time, during the load,
// and returns the saved paths in procs' order ("" where the fetch failed). Summarising
// them is left to summarize, after the phase's measurements: `go tool pprof` costs
// about 0.6 CPU-seconds a run, and three runs per profile inside the load window took
// that CPU from the processes under test (the raw phase has no such guest).
func (h *harness) profile(ctx context.Context, phase string, procs []*cluster.Process) []string {
	paths := make([]string, len(procs))
	select {
	case <-ctx.Done():
		return paths
	case <-time.After(h.o.profileAfter):
	}
	var wg sync.WaitGroup
	for k, pr := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-%s.cpu.prof", phase, pr.Name)
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pr.HTTPURL(), int(h.o.profile.Seconds()))
			paths[k] = h.fetch(ctx, name, url, h.o.profile+20*time.Second)
		}()
	}
	wg.Wait()
	return paths
}

// summarize adds `go tool pprof -top` summaries and the hot path's breakdown of the CPU
// profiles that profile saved to the report, and writes their listings next to them.
func (h *harness) summarize(phase string, procs []*cluster.Process, paths []string) {
	for k, path := range paths {
		if path == "" {
			continue
		}
		name := filepath.Base(path)
		flat, err := bench.PprofTop(h.o.goBin, path, 30)
		if err != nil {
			log.Printf("%s: %v\n%s", name, err, flat)
			continue
		}
		cum, _ := bench.PprofTop(h.o.goBin, path, 40, "-cum")
		top := filepath.Join(h.o.results, strings.TrimSuffix(name, ".prof")+".top.txt")
		os.WriteFile(top, []byte(flat+"\n---- by cumulative time\n"+cum), 0o644)
		where, err := bench.Breakdown(h.o.goBin, path, hotFrames)
		if err != nil {
			where = err.Error()
		}
		h.mu.Lock()
		h.tops = append(h.tops, fmt.Sprintf("#### %s: %s (`%s`, listings in `%s`)\n\n%s\n```\n%s```\n", phase, procs[k].Name, path, top, where, trimTop(flat, 20)))
		h.mu.Unlock()
	}
}

// hotFrames are the hot path's stages, in request order; nested ones are indented.
var hotFrames = []bench.Frame{
	{Label: "distributor: OTLP request decode (pdata)", Func: "go.opentelemetry.io/collector/pdata/internal.(*ExportLogsServiceRequest).UnmarshalProto"},
	{Label: "distributor: convertLogs (validate, flatten attributes, ids)", Func: "github.com/strataobs/strata/distributor.convertLogs"},
	{Label: "distributor: push to each replica (encode the PushRequest; gRPC, or a hand-over to the ingester in this process, whose keep below it includes)", Func: "github.com/strataobs/strata/distributor.(*Distributor).pushTo"},
	{Label: "&nbsp;&nbsp;encode for an ingester in this process, locating its records", Func: "github.com/strataobs/strata/distributor.(*pushEncoder).located"},
	{Label: "ingester: gRPC decode of a pushed request (its bytes copied out of gRPC's buffers)", Func: "google.golang.org/protobuf/internal/impl.consumeBytesNoZero"},
	{Label: "ingester: keep a push (WAL, memory)", Func: "github.com/strataobs/strata/ingester.(*Ingester).keepScanned"},
	{Label: "&nbsp;&nbsp;scan a request from gRPC: find the records, check UTF-8 (scanPush)", Func: "github.com/strataobs/strata/ingester.scanPush"},
	{Label: "&nbsp;&nbsp;WAL append (group commit, writev, fdatasync)", Func: "github.com/strataobs/strata/wal.(*WAL).append"},
	{Label: "&nbsp;&nbsp;in-memory insert (entries, id index)", Func: "github.com/strataobs/strata/ingester.(*Ingester).insert"},
	{Label: "ingester: flush, building a batch (runs while the one before it is written)", Func: "github.com/strataobs/strata/ingester.(*Ingester).prepare"},
	{Label: "&nbsp;&nbsp;sort held records in the logs table's order", Func: "github.com/strataobs/strata/ingester.(*flushWork).sortLogs"},
	{Label: "&nbsp;&nbsp;read held records into LogBatch columns (AddEncoded)", Func: "github.com/strataobs/strata/storage/clickhouse.(*LogBatch).AddEncoded"},
	{Label: "&nbsp;&nbsp;line blooms (PrepareLogs)", Func: "github.com/strataobs/strata/storage/clickhouse.(*Client).PrepareLogs"},
	{Label: "ingester: flush, writing a batch", Func: "github.com/strataobs/strata/ingester.(*Ingester).write"},
	{Label: "&nbsp;&nbsp;insert: ClickHouse columns (encode, compress unless on loopback, send)", Func: "github.com/strataobs/strata/storage/clickhouse.(*Client).insert"},
	{Label: "ingester: release RPCs to replicas", Func: "github.com/strataobs/strata/ingester.(*Ingester).sendReleases"},
	{Label: "GC background marking", Func: "runtime.gcBgMarkWorker"},
	{Label: "allocation, all callers (mallocgc; overlaps the rows above)", Func: "runtime.mallocgc"},
	{Label: "slice growth, all callers (growslice; overlaps)", Func: "runtime.growslice"},
	{Label: "memmove, all callers (first touch of fresh memory pays the page fault here)", Func: "runtime.memmove"},
}

// fetch saves a profile under the results directory and returns its path ("" on failure).
func (h *harness) fetch(ctx context.Context, name, url string, timeout time.Duration) string {
	path := filepath.Join(h.o.results, name)
	if err := bench.FetchProfile(ctx, url, path, timeout); err != nil {
		log.Printf("profile %s: %v", name, err)
		return ""
	}
	return path
}

// trimTop keeps pprof's header and the first n function lines.
func trimTop(s string, n int) string {
	lines := strings.Split(s, "\n")
	var out []string
	seen := -1
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat ") {
			seen = 0
		} else if seen >= 0 {
			seen++
		}
		if seen > n {
			break
		}
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

func (h *harness) report(phases []*bench.Phase, raw float64) string {
	var sb strings.Builder
	host, _ := os.Hostname()
	rev := h.o.strataRev
	fmt.Fprintf(&sb, "## Load benchmark (`make bench`)\n\n%s on %s, %d CPUs, %s, strata %s, ClickHouse %s; load average at start %s, at end %s.\n\n",
		time.Now().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), memTotal(), rev, h.chVersion(), h.loadStart, loadAvg())
	if len(phases) == 0 { // only the query phase ran
		return sb.String()
	}
	sb.WriteString(bench.Table(phases, raw))
	sb.WriteString("\nCPU cores are CPU-seconds per second of load for each process group; `loadgen` is this harness (sender and sampling). Peak RSS is VmHWM for strata processes and the largest sampled VmRSS for ClickHouse.\n\n")
	for _, n := range h.notes {
		sb.WriteString("- " + n + "\n")
	}
	for _, p := range phases {
		fmt.Fprintf(&sb, "\n**%s**\n\n", p.Name)
		for _, n := range p.Notes {
			sb.WriteString("- " + n + "\n")
		}
		if p.Err != nil {
			sb.WriteString("- Error: " + firstLine(p.Err.Error()) + "\n")
		}
	}
	sb.WriteString("\n### Targets\n\n")
	sb.WriteString(targets(phases, raw))
	if len(h.tops) > 0 {
		sb.WriteString("\n### Profiles (`go tool pprof`)\n\n")
		for _, t := range h.tops {
			sb.WriteString(t + "\n")
		}
	}
	return sb.String()
}

func targets(phases []*bench.Phase, raw float64) string {
	var sb strings.Builder
	check := func(ok bool, format string, a ...any) {
		mark := "MISS"
		if ok {
			mark = "met"
		}
		fmt.Fprintf(&sb, "- %s: %s\n", mark, fmt.Sprintf(format, a...))
	}
	var allRates []float64
	for _, p := range phases {
		if p.Err != nil && p.Rate == 0 {
			continue
		}
		switch {
		case strings.Contains(p.Name, "all-in-one"):
			allRates = append(allRates, p.Rate)
			check(p.Rate >= 130000, "%s ≥ 130,000 records/s: %.0f (%.0f%% of target)", p.Name, p.Rate, 100*p.Rate/130000)
		case strings.Contains(p.Name, "RF=3"):
			check(p.Rate >= 50000, "RF=3 cluster ≥ 50,000 records/s: %.0f (%.0f%% of target)", p.Rate, 100*p.Rate/50000)
		default:
			continue
		}
		for _, u := range p.Strata {
			if strings.HasPrefix(u.Name, "ingester") || u.Name == "all" {
				check(u.PeakRSS <= 1<<30, "%s: %s RSS ≤ 1 GiB: peak %.0f MiB", p.Name, u.Name, float64(u.PeakRSS)/(1<<20))
			}
		}
	}
	if raw > 0 && len(allRates) > 0 {
		all := mean(allRates)
		of := fmt.Sprintf("%.0f records/s", all)
		if len(allRates) > 1 {
			of = fmt.Sprintf("the mean of %d all-in-one phases (%s records/s), %.0f", len(allRates), joinRates(allRates), all)
		}
		check(all >= raw/2, "all-in-one ≥ 50%% of the raw ceiling: %s is %.0f%% of %.0f rows/s", of, 100*all/raw, raw)
	}
	return sb.String()
}

func (h *harness) chVersion() string {
	c, err := clickhouse.Open(context.Background(), h.chConfig("default"))
	if err != nil {
		return "?"
	}
	defer c.Close()
	return c.Version().String()
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func gitRev() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	var kb uint64
	fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
	return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
