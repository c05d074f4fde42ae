package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLoadtestCPU runs a short talk profile against the real server and
// checks that the generator's own cost is reported and profiled: on the
// server's machine it is CPU taken from the server.
func TestLoadtestCPU(t *testing.T) {
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	m, out := runMain(t, c)
	token := regexp.MustCompile(`setup token: (\S+)`).FindStringSubmatch(out.String())
	if token == nil {
		t.Fatalf("no setup token printed:\n%s", out)
	}
	dir := t.TempDir()
	var report bytes.Buffer
	err := runLoadtest(context.Background(), []string{"--url", m.URL(), "--setup-token", token[1], "--clients", "4", "--room-size", "2",
		"--rate", "20", "--warmup", "100ms", "--duration", "500ms", "--pid", "0",
		"--cpuprofile", filepath.Join(dir, "lt.cpu"), "--json", filepath.Join(dir, "lt.json")}, &report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), "generator: RSS") || !strings.Contains(report.String(), "CPU while measuring: generator") {
		t.Errorf("no generator figures in the table:\n%s", &report)
	}
	var rep struct {
		Deliveries     int64 `json:"deliveries"`
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
	// A pprof profile is gzipped protocol buffers.
	prof, err := os.ReadFile(filepath.Join(dir, "lt.cpu"))
	if err != nil || len(prof) < 2 || prof[0] != 0x1f || prof[1] != 0x8b {
		t.Errorf("CPU profile: %v, %d bytes", err, len(prof))
	}
}
