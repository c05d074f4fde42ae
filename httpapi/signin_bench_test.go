package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/proccpu"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

// BenchmarkSignInService is the server's sign-in without the HTTP
// transport (throttle check, lookups, argon2id, session insert): what the
// server adds to the hash, without the load generator's share of the CPU.
func BenchmarkSignInService(b *testing.B) {
	benchSignInService(b, password.OWASP)
}

// BenchmarkSignInServiceNoHash is the same with a trivial hash: the
// server's own cost per sign-in, in absolute time.
func BenchmarkSignInServiceNoHash(b *testing.B) {
	benchSignInService(b, password.Params{MemoryKiB: 8, Time: 1, Threads: 1})
}

func benchSignInService(b *testing.B, p password.Params) {
	st := testdb.SQLite(b)
	svc := service.New(st, password.NewHasher(p, 0), service.Config{}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if _, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Bench", Domain: "bench.example", OwnerLocal: "owner", OwnerPassword: "sturdy bench phrase"}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4)
	b.ResetTimer()
	cpu := startCPU()
	defer cpu.report(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Auth.Login(ctx, service.LoginInput{ID: "owner@bench.example", Password: "sturdy bench phrase", SourceAddr: "127.0.0.1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

// signInServer is a server with production argon2id parameters and n
// members who have chosen their own password.
func signInServer(b testing.TB, n int) (*httptest.Server, []string) {
	st := testdb.SQLite(b)
	svc := service.New(st, password.NewHasher(password.OWASP, 0), service.Config{}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if _, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Bench", Domain: "bench.example", OwnerLocal: "owner", OwnerPassword: "sturdy bench phrase"}); err != nil {
		b.Fatal(err)
	}
	ids := []string{"owner@bench.example"}
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("owner@b%d.example", i)
		if _, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Bench", Domain: fmt.Sprintf("b%d.example", i), OwnerLocal: "owner", OwnerPassword: "sturdy bench phrase"}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	srv := httptest.NewServer(httpapi.New(svc, slog.New(slog.DiscardHandler), "", st))
	b.Cleanup(srv.Close)
	return srv, ids
}

// BenchmarkSignIn measures full sign-ins over HTTP (JSON, throttle
// bookkeeping, argon2id, session insert), all CPUs busy.
func BenchmarkSignIn(b *testing.B) {
	srv, ids := signInServer(b, 64)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	// More requests in flight than hashing slots, as on a loaded server:
	// the hasher, not the client, sets the pace.
	b.SetParallelism(4)
	b.ResetTimer()
	cpu := startCPU()
	defer cpu.report(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[int(next.Add(1))%len(ids)]
			res, err := client.Post(srv.URL+"/api/v1/login", "application/json",
				strings.NewReader(`{"id":"`+id+`","password":"sturdy bench phrase"}`))
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

// BenchmarkRawArgon2id is the hash alone at the same parameters and the
// same parallelism: the ceiling BenchmarkSignIn is compared with.
func BenchmarkRawArgon2id(b *testing.B) {
	h := password.NewHasher(password.OWASP, 0)
	hash, err := h.Hash(context.Background(), "sturdy bench phrase")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := startCPU()
	defer cpu.report(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _ := h.Verify(context.Background(), hash, "sturdy bench phrase"); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkSignInStorm sends 500 sign-ins at once and reports the peak
// resident memory of the process while they are in flight: the bounded
// hasher keeps it flat however many arrive.
func BenchmarkSignInStorm(b *testing.B) {
	srv, ids := signInServer(b, 50)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 500, MaxConnsPerHost: 500}, Timeout: 5 * time.Minute}
	runtime.GC()
	base := rssKiB()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		var failed atomic.Int64
		for j := 0; j < 500; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := client.Post(srv.URL+"/api/v1/login", "application/json",
					strings.NewReader(`{"id":"`+ids[j%len(ids)]+`","password":"sturdy bench phrase"}`))
				if err != nil || res.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					res.Body.Close()
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d sign-ins failed", failed.Load())
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "signins/s")
	b.ReportMetric(float64(peakRSSKiB())/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(base)/1024, "RSS-before-MiB")
}

// cpuMeter reports the process's CPU time per operation: unlike
// throughput, it does not move when other processes share the cores.
type cpuMeter struct{ start time.Duration }

func cpuTime() time.Duration {
	d, _ := proccpu.Time()
	return d
}

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-m.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// rssKiB and peakRSSKiB read VmRSS and VmHWM from /proc/self/status.
func rssKiB() int64     { return procStatus("VmRSS:") }
func peakRSSKiB() int64 { return procStatus("VmHWM:") }

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, field)), "%d", &kib)
			return kib
		}
	}
	return 0
}
