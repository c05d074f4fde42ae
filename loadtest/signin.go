package loadtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// RunSignIn is the sign-in storm: concurrency workers sign the fixture's
// members in, again and again, for the duration (after a warm-up), and
// the report counts sign-ins per second, their latency and errors by code.
// Each sign-in costs the server a password hash, so this measures what a
// morning rush of a whole company costs.
func RunSignIn(ctx context.Context, api *API, fx *Fixture, concurrency int, warmup, duration time.Duration, pid int, progress func(string, ...any)) (*Report, error) {
	return runSignIn(ctx, api, fx, concurrency, warmup, duration, nil, pid, progress)
}

// runSignIn is RunSignIn measuring for the duration and, when until is not
// nil, until it is closed too (the mixed profile's storm lasts as long
// as the admin's work).
func runSignIn(ctx context.Context, api *API, fx *Fixture, concurrency int, warmup, duration time.Duration, until <-chan struct{}, pid int, progress func(string, ...any)) (*Report, error) {
	if concurrency <= 0 {
		concurrency = 50
	}
	for _, a := range fx.Accounts {
		if a.Password == "" {
			return nil, errors.New("the state file predates the sign-in profile (no passwords): prepare the accounts again with a new --state file")
		}
	}
	rep := &Report{Profile: "signin", Clients: len(fx.Accounts), Senders: concurrency}
	if pid > 0 {
		if p, err := ReadProcess(pid); err == nil {
			rep.ServerBefore = &p
		}
	}
	self := ReadSelf()
	rep.GeneratorBefore = &self
	var (
		measuring atomic.Bool
		done      atomic.Int64
		lat       Latencies
		errs      Errors
		timeline  = NewTimeline()
		next      atomic.Int64
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				a := fx.Accounts[int(next.Add(1))%len(fx.Accounts)]
				start := time.Now()
				var s session
				err := api.Do(runCtx, "", "POST", "/api/v1/login", map[string]string{"id": a.SignInID, "password": a.Password}, &s)
				d := time.Since(start)
				if !measuring.Load() {
					continue
				}
				var ae *APIError
				switch {
				case errors.As(err, &ae):
					errs.Add(ae.Code)
				case err != nil && runCtx.Err() == nil:
					errs.Add("transport")
				case err == nil:
					done.Add(1)
					lat.Add(d)
					timeline.Add(d)
				}
			}
		}()
	}
	progress("warming up for %v", warmup)
	time.Sleep(warmup)
	timeline = NewTimeline()
	cpu := startCPU(pid)
	measuring.Store(true)
	start := time.Now()
	tick := time.NewTicker(time.Second)
	var prev int64
	end, ended := time.After(duration), false
	for !ended || until != nil {
		select {
		case <-tick.C:
			n := done.Load()
			progress("%5.0fs  sign-ins %5d/s  errors %v", time.Since(start).Seconds(), n-prev, errs.Map())
			prev = n
		case <-end:
			ended = true
		case <-until:
			until = nil
		case <-ctx.Done():
			tick.Stop()
			return nil, ctx.Err()
		}
	}
	tick.Stop()
	measuring.Store(false)
	rep.Seconds = time.Since(start).Seconds()
	rep.CPU = cpu.stop(done.Load())
	stop()
	wg.Wait()
	rep.Accepted = done.Load()
	rep.AcceptedPerSecond = float64(rep.Accepted) / rep.Seconds
	rep.Ack = lat.Summary()
	rep.Errors = errs.Map()
	rep.Timeline = timeline.Points()
	if pid > 0 {
		if p, err := ReadProcess(pid); err == nil {
			rep.ServerAfter = &p
		}
	}
	self = ReadSelf()
	rep.GeneratorAfter = &self
	return rep, nil
}

// SignInText renders a sign-in report.
func (r *Report) signInText() string {
	s := fmt.Sprintf("profile signin: %d accounts, %d at once, measured %.1fs\n", r.Clients, r.Senders, r.Seconds)
	s += fmt.Sprintf("  sign-ins            %9d  (%.1f/s)\n", r.Accepted, r.AcceptedPerSecond)
	s += fmt.Sprintf("  latency             %s\n", r.Ack)
	s += fmt.Sprintf("  errors %v\n", r.Errors)
	if r.ServerAfter != nil && r.ServerBefore != nil {
		s += fmt.Sprintf("  server: RSS %.0f MiB (peak %.0f MiB), CPU %.1fs during the run\n",
			r.ServerAfter.RSSMiB, r.ServerAfter.PeakRSSMiB, r.ServerAfter.CPUSeconds-r.ServerBefore.CPUSeconds)
	}
	s += r.generatorText()
	if r.CPU != nil {
		s += r.CPU.text("sign-ins")
	}
	return s
}
