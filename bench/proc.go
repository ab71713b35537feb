package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// ProcStat is one reading of a process's memory and CPU time.
type ProcStat struct {
	RSS, HWM uint64        // VmRSS and VmHWM (peak RSS since start), bytes
	CPU      time.Duration // utime + stime
	Sys      time.Duration // stime alone: page faults, syscalls
	MinFlt   uint64        // minor page faults
}

// ReadProc reads /proc/<pid>/status and /proc/<pid>/stat.
func ReadProc(pid int) (ProcStat, error) {
	var s ProcStat
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *uint64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &s.RSS
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &s.HWM
		default:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			*dst = kb << 10
		}
	}
	f.Close()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may contain spaces; fields after its ')' are fixed.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(rest))
	if len(fields) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseUint(fields[11], 10, 64) // field 14 overall
	stime, _ := strconv.ParseUint(fields[12], 10, 64) // field 15 overall
	s.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	s.Sys = time.Duration(stime) * time.Second / clockTicks
	s.MinFlt, _ = strconv.ParseUint(fields[7], 10, 64) // field 10 overall
	return s, nil
}

// MachineBusy is the CPU time all processors spent outside idle and iowait since boot,
// from /proc/stat: with the watched processes' share subtracted, it tells how much other
// work shared the machine during a measurement.
func MachineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	for i, f := range fields[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		busy += v
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// Watched is one process the sampler follows.
type Watched struct {
	Name string
	Pid  int

	first, last ProcStat
	maxRSS      uint64
	ok          bool
}

// Sampler polls processes' RSS and CPU time while a phase runs.
type Sampler struct {
	mu    sync.Mutex
	procs []*Watched
	stop  chan struct{}
	done  chan struct{}
}

// NewSampler starts sampling every period; pids that cannot be read are skipped.
func NewSampler(period time.Duration, procs ...*Watched) *Sampler {
	s := &Sampler{procs: procs, stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *Sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		st, err := ReadProc(p.Pid)
		if err != nil {
			continue
		}
		if !p.ok {
			p.first, p.ok = st, true
		}
		p.last = st
		p.maxRSS = max(p.maxRSS, st.RSS)
	}
}

// Machine is the key of Mark's entry for the whole machine (see MachineBusy).
const Machine = "machine"

// Mark returns the CPU time each process has used so far, by name, and under Machine the
// busy time of the whole machine.
func (s *Sampler) Mark() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, st := range s.MarkStats() {
		out[name] = st.CPU
	}
	if busy, err := MachineBusy(); err == nil {
		out[Machine] = busy
	}
	return out
}

// MarkStats returns each process's latest reading, by name.
func (s *Sampler) MarkStats() map[string]ProcStat {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]ProcStat{}
	for _, p := range s.procs {
		out[p.Name] = p.last
	}
	return out
}

// Stop ends sampling after a last reading.
func (s *Sampler) Stop() {
	close(s.stop)
	<-s.done
	s.sample()
}

// Peak is the largest RSS seen: VmHWM when the process reports it (its lifetime peak),
// else the largest sampled VmRSS.
func (s *Sampler) Peak(name string, useHWM bool) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		if p.Name == name {
			if useHWM && p.last.HWM > 0 {
				return max(p.last.HWM, p.maxRSS)
			}
			return p.maxRSS
		}
	}
	return 0
}

// AnonHugePages is how much of a process's memory is in transparent huge pages, from
// /proc/<pid>/smaps_rollup: a huge page is faulted in once for 2 MiB, so this memory is
// not in the process's minor fault count as 4 KiB pages are. Reading it walks the
// process's page tables, so it is read once a phase, not every sample.
func AnonHugePages(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	return anonHugePages(string(b))
}

func anonHugePages(rollup string) (uint64, error) {
	for line := range strings.Lines(rollup) {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("smaps_rollup: AnonHugePages line %q", strings.TrimSpace(line))
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("smaps_rollup: AnonHugePages: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("smaps_rollup: no AnonHugePages line")
}
