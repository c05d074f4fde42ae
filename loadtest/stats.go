package loadtest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna/internal/proccpu"
)

// Latencies collects samples; percentiles are exact (the samples are
// kept), which a few million samples of a run afford.
type Latencies struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one sample.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary sorts the samples and reads the percentiles.
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	if len(s) == 0 {
		return Summary{}
	}
	slices.Sort(s)
	at := func(p float64) float64 {
		i := int(p * float64(len(s)-1))
		return ms(s[i])
	}
	return Summary{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s Summary) String() string {
	return fmt.Sprintf("p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (%d samples)", s.P50, s.P90, s.P99, s.Max, s.Count)
}

// Errors counts errors by code.
type Errors struct {
	mu sync.Mutex
	m  map[string]int
}

// Add counts one error.
func (e *Errors) Add(code string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int{}
	}
	e.m[code]++
	e.mu.Unlock()
}

// Map returns the counts.
func (e *Errors) Map() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

// Process is a snapshot of a server process on this machine, read from
// /proc: its resident memory (now and peak) and CPU time.
type Process struct {
	RSSMiB     float64 `json:"rss_mib"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// ReadProcess reads /proc/PID. CPU time is in clock ticks of 1/100 s,
// the value Linux uses on every common architecture.
func ReadProcess(pid int) (Process, error) {
	var p Process
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			p.RSSMiB = kib / 1024
		case "VmHWM:":
			p.PeakRSSMiB = kib / 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// The command name may hold spaces; fields count from after its ')'.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) > 12 {
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		p.CPUSeconds = (utime + stime) / 100
	}
	return p, nil
}

// ReadSelf is ReadProcess for the load generator itself. On the server's
// machine every CPU second it spends is taken from the server, so its
// cost belongs in the report next to the server's. Its CPU time comes
// from getrusage where there is one: microseconds rather than /proc's
// ticks, and on every Unix.
func ReadSelf() Process {
	p, _ := ReadProcess(os.Getpid())
	if cpu, ok := proccpu.Time(); ok {
		p.CPUSeconds = cpu.Seconds()
	}
	return p
}

// CPU is the processor time (user and system) spent while measuring.
type CPU struct {
	// Generator is the load generator's own CPU time.
	Generator float64 `json:"generator_seconds"`
	// Server is the server's, with its PID on this machine.
	Server float64 `json:"server_seconds,omitempty"`
	// GeneratorPer1000 is the generator's CPU time per 1,000 deliveries
	// (talk profiles) or sign-ins: what it costs does not depend on how
	// busy the machine was, unlike the throughput.
	GeneratorPer1000 float64 `json:"generator_seconds_per_1000,omitempty"`
}

// cpuMeter reads the CPU time of the generator and, with a PID, of the
// server at the start of a measured window.
type cpuMeter struct {
	pid            int
	generator, srv float64
}

func startCPU(pid int) cpuMeter {
	m := cpuMeter{pid: pid, generator: ReadSelf().CPUSeconds}
	if pid > 0 {
		if p, err := ReadProcess(pid); err == nil {
			m.srv = p.CPUSeconds
		}
	}
	return m
}

// stop ends the window in which n deliveries or sign-ins were counted.
func (m cpuMeter) stop(n int64) *CPU {
	c := &CPU{Generator: ReadSelf().CPUSeconds - m.generator}
	if m.pid > 0 {
		if p, err := ReadProcess(m.pid); err == nil {
			c.Server = p.CPUSeconds - m.srv
		}
	}
	if n > 0 {
		c.GeneratorPer1000 = c.Generator / float64(n) * 1000
	}
	return c
}

// text renders the figures as a table line; what counts n (deliveries,
// sign-ins) names it.
func (c *CPU) text(what string) string {
	s := fmt.Sprintf("  CPU while measuring: generator %.2fs", c.Generator)
	if c.GeneratorPer1000 > 0 {
		s += fmt.Sprintf(" (%.1f ms per 1,000 %s)", c.GeneratorPer1000*1000, what)
	}
	if c.Server > 0 {
		s += fmt.Sprintf(", server %.2fs", c.Server)
	}
	return s + "\n"
}
