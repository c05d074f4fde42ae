package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestLoadtestCPU runs a short talk profile against the real server and
// checks that the generator's own cost is reported and profiled: on the
// server's machine it is CPU taken from the server.
func TestLoadtestCPU(t *testing.T) {
	url, setupToken := serveForLoadtest(t)
	dir := t.TempDir()
	procsBefore := runtime.GOMAXPROCS(0)
	var report bytes.Buffer
	err := runLoadtest(context.Background(), []string{"--url", url, "--setup-token", setupToken, "--clients", "4", "--room-size", "2",
		"--rate", "20", "--warmup", "100ms", "--duration", "500ms", "--pid", "0", "--procs", "1",
		"--cpuprofile", filepath.Join(dir, "lt.cpu"), "--json", filepath.Join(dir, "lt.json")}, &report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "generator on 1 CPU: RSS") || !strings.Contains(report.String(), "CPU while measuring: generator") {
		t.Errorf("no generator figures in the table:\n%s", &report)
	}
	var rep struct {
		Deliveries     int64 `json:"deliveries"`
		GeneratorProcs int   `json:"generator_procs"`
		GeneratorAfter *struct {
			CPUSeconds float64 `json:"cpu_seconds"`
		} `json:"generator_after"`
		CPU *struct {
			Generator        float64 `json:"generator_seconds"`
			GeneratorPer1000 float64 `json:"generator_seconds_per_1000"`
		} `json:"cpu_while_measuring"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "lt.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Deliveries == 0 || rep.GeneratorAfter == nil || rep.GeneratorAfter.CPUSeconds <= 0 || rep.CPU == nil || rep.CPU.Generator <= 0 || rep.CPU.GeneratorPer1000 <= 0 {
		t.Errorf("generator CPU missing from the JSON report:\n%s", b)
	}
	if rep.GeneratorProcs != 1 {
		t.Errorf("generator_procs = %d, want the 1 asked for", rep.GeneratorProcs)
	}
	if n := runtime.GOMAXPROCS(0); n != procsBefore {
		t.Errorf("GOMAXPROCS after the run = %d, want %d back", n, procsBefore)
	}
	// A pprof profile is gzipped protocol buffers.
	prof, err := os.ReadFile(filepath.Join(dir, "lt.cpu"))
	if err != nil || len(prof) < 2 || prof[0] != 0x1f || prof[1] != 0x8b {
		t.Errorf("CPU profile: %v, %d bytes", err, len(prof))
	}
}

// TestLoadtestRejectsStrayArguments: a stray word ends Go's flag parsing,
// so without the check the flags after it were silently dropped.
func TestLoadtestRejectsStrayArguments(t *testing.T) {
	err := runLoadtest(context.Background(), []string{"--pid", "123", "456", "--profile", "hot-room"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unexpected arguments: 456 --profile hot-room") {
		t.Fatalf("err = %v, want the stray arguments named", err)
	}
}

// TestLoadtestCleanup: a run of a message count after a ramp-up, then
// --cleanup removes what it created (here the tenant it set up) and the
// state file; the cleanup profile without a state file says what it
// needs.
func TestLoadtestCleanup(t *testing.T) {
	url, setupToken := serveForLoadtest(t)
	state := filepath.Join(t.TempDir(), "lt.json")
	var report bytes.Buffer
	err := runLoadtest(context.Background(), []string{"--url", url, "--setup-token", setupToken, "--clients", "4", "--room-size", "2",
		"--rate", "40", "--warmup", "100ms", "--ramp-up", "200ms", "--messages", "20", "--state", state, "--cleanup", "--strict"}, &report)
	if err != nil {
		t.Fatal(err)
	}
	// --messages without --duration measures until the count, not for
	// the default 30 s.
	if !strings.Contains(report.String(), "until 20 messages, after a 200ms ramp-up") {
		t.Errorf("the run did not end at its message count:\n%s", &report)
	}
	if !strings.Contains(report.String(), `cleanup: cancelled the tenant "Load test"`) || !strings.Contains(report.String(), "tenant-restores") {
		t.Errorf("no cleanup in the report:\n%s", &report)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file after cleanup: %v", err)
	}
	err = runLoadtest(context.Background(), []string{"--url", url, "--profile", "cleanup"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "give --state") {
		t.Errorf("cleanup without a state file: %v", err)
	}
}

// serveForLoadtest starts kizuna serve on an empty data directory and
// returns its URL and the setup token it printed.
func serveForLoadtest(t *testing.T) (url, setupToken string) {
	t.Helper()
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	m, out := runMain(t, c)
	token := regexp.MustCompile(`setup token: (\S+)`).FindStringSubmatch(out.String())
	if token == nil {
		t.Fatalf("no setup token printed:\n%s", out)
	}
	return m.URL(), token[1]
}

// TestLoadtestUnknownProfile: a misspelt profile is refused before any
// account is made on the server.
func TestLoadtestUnknownProfile(t *testing.T) {
	err := runLoadtest(context.Background(), []string{"--url", "http://127.0.0.1:1", "--profile", "tallk"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown profile "tallk"`) {
		t.Fatalf("err = %v, want the profile named", err)
	}
}
