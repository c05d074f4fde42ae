package httpapi

import (
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// Metrics records answered requests and serves the scrape endpoint
// (package metrics implements it; httpapi does not depend on Prometheus).
type Metrics interface {
	// ObserveRequest counts a request and records how long it took.
	ObserveRequest(method, route string, status int, d time.Duration)
	// ObserveStream counts an event stream once it ends; its duration is
	// the connection's life, which would swamp the latency histogram.
	ObserveStream(method, route string, status int)
	http.Handler
}

// SetMetrics turns on request metrics and GET /metrics. Call it before the
// server answers requests.
func (s *Server) SetMetrics(m Metrics) { s.metrics = m }

// observe records a request when metrics are on.
func (s *Server) observe(rt Route, status int, d time.Duration) {
	switch {
	case s.metrics == nil:
	case rt.Auth == Stream:
		s.metrics.ObserveStream(rt.Method, rt.Path, status)
	default:
		s.metrics.ObserveRequest(rt.Method, rt.Path, status, d)
	}
}

// serveMetrics answers a Prometheus scrape. It is public like /healthz so
// a scraper needs no account; operators keep it off the internet at the
// load balancer (see the README).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.metrics == nil {
		return kizuna.Errorf(kizuna.ErrNotFound, "metrics_disabled", "Metrics are not enabled on this server.")
	}
	s.metrics.ServeHTTP(w, r)
	return nil
}

func init() {
	operations["GET /metrics"] = operation{
		summary:     "Prometheus metrics of this node: requests, latency, WebSocket connections, messages, database pools, sign-in failures, background jobs.",
		description: "Needs no session, like /healthz: do not expose it publicly; let only the scraper reach it (block /metrics at the load balancer).",
		produces:    "text/plain",
		status:      200,
		errors:      []string{"metrics_disabled"},
	}
}
