// Package metrics exposes a Kizuna node's health in the Prometheus text
// format. Each Main owns its own registry (no global default registry), so
// tests can run several servers in one process. Counters kept elsewhere
// (the hub, the services, the database pools) are read at scrape time by
// collectors instead of being pushed on every event: the hot paths pay
// nothing for metrics nobody scrapes.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/store"
)

// Metrics is one node's registry and the instruments it updates directly.
type Metrics struct {
	reg      *prometheus.Registry
	handler  http.Handler
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	jobRuns  *prometheus.CounterVec
	mail     *prometheus.CounterVec
}

// New returns a registry with the Go runtime and process collectors and
// Kizuna's request and job instruments.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kizuna_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern and status code (WebSocket streams when they end, status 101).",
	}, []string{"method", "route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kizuna_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by method and route pattern (WebSocket event streams are not included).",
		// From a cached read (about a millisecond) to an argon2id sign-in
		// under load (hundreds of milliseconds) and an import (seconds).
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route"})
	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kizuna_job_runs_total",
		Help: "Background job runs on this node, by job and result (ok or error).",
	}, []string{"job", "result"})
	m.mail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kizuna_mail_deliveries_total",
		Help: "Mail delivery attempts on this node, by result (sent, or failed and retried later).",
	}, []string{"result"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.jobRuns, m.mail,
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// Registry returns the registry, to add collectors of other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ServeHTTP answers a scrape in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// ObserveRequest records one answered request. route is the route table's
// pattern, never the raw path, so the series stay few.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// ObserveStream counts a WebSocket event stream when it ends, without a
// duration: a connection's life is not a request's latency.
func (m *Metrics) ObserveStream(method, route string, status int) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
}

// JobRan records one run of a background job; a cancelled context (the
// node shutting down) is not a failure.
func (m *Metrics) JobRan(job string, err error) {
	result := "ok"
	if err != nil && !isCancel(err) {
		result = "error"
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// WatchDB reports the connection pools' statistics (open, in use, idle,
// waits) as go_sql_* series labelled db_name="kizuna_<role>".
func (m *Metrics) WatchDB(pools map[string]*sql.DB) {
	for role, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, "kizuna_"+role))
	}
}

// HubStats is a hub that counts its deliveries (hub.Local does).
type HubStats interface {
	Stats() hub.Stats
}

// WatchHub reports WebSocket connections, delivered events and dropped
// slow subscriptions. A hub without counters is ignored.
func (m *Metrics) WatchHub(h hub.Hub) {
	if hs, ok := h.(HubStats); ok {
		m.reg.MustRegister(&hubCollector{h: hs})
	}
}

// ServiceStats is what the service layer counts (service.Services).
type ServiceStats interface {
	Stats() service.Stats
}

// WatchGC reports the collector's GOGC, which the process changes with
// what it is doing (see package gcpolicy): memory that rises when a quiet
// server gets busy is often the collector giving garbage more room.
func (m *Metrics) WatchGC(percent func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kizuna_gc_percent",
		Help: "The garbage collector's GOGC on this node: 50 while quiet, 100 in between, 200 while password hashes run, 200 or more under heavy load (a collection a second, within 128 MiB of garbage), or the operator's setting (-1 for off)."},
		func() float64 { return float64(percent()) }))
}

// WatchServices reports messages sent and sign-in failures.
func (m *Metrics) WatchServices(s ServiceStats) {
	m.reg.MustRegister(&serviceCollector{s: s})
}

var (
	descConnections = prometheus.NewDesc("kizuna_websocket_connections", "WebSocket event streams open on this node.", nil, nil)
	descDelivered   = prometheus.NewDesc("kizuna_events_delivered_total", "Events queued to WebSocket connections on this node.", nil, nil)
	descDropped     = prometheus.NewDesc("kizuna_subscriptions_dropped_total", "WebSocket connections dropped for falling too far behind (they resume from the store).", nil, nil)
	descSent        = prometheus.NewDesc("kizuna_messages_sent_total", "Messages committed on this node (retried duplicates are not counted).", nil, nil)
	descSignInFail  = prometheus.NewDesc("kizuna_signin_failures_total", "Failed sign-ins (wrong ID or password) on this node.", nil, nil)
	descTalkCommit  = prometheus.NewDesc("kizuna_talk_commit_seconds", "Commits of the talk writer on this node (the transaction, then publishing and answering): every send waits for one.", nil, nil)
	descTalkOps     = prometheus.NewDesc("kizuna_talk_writes_total", "Talk writes (sends, reads, edits, membership) committed by the talk writer on this node; divided by the commits' count, the batching.", nil, nil)
)

// hubCollector reads the hub's counters at scrape time.
type hubCollector struct{ h HubStats }

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConnections
	ch <- descDelivered
	ch <- descDropped
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Stats()
	ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(s.Connections))
	ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(s.Delivered))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(s.Dropped))
}

// serviceCollector reads the services' counters at scrape time.
type serviceCollector struct{ s ServiceStats }

func (c *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSent
	ch <- descSignInFail
	ch <- descTalkCommit
	ch <- descTalkOps
}

func (c *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(s.MessagesSent))
	ch <- prometheus.MustNewConstMetric(descSignInFail, prometheus.CounterValue, float64(s.SignInFailures))
	h := s.TalkCommits
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(descTalkCommit, h.Count, h.Sum, buckets)
	ch <- prometheus.MustNewConstMetric(descTalkOps, prometheus.CounterValue, float64(s.TalkOps))
}

// MailQueue wraps the mail worker's queue so that each claim (one run of
// the worker's loop) counts as a "mail" job run and each recorded outcome
// as a delivery. The worker itself stays unaware of metrics.
func (m *Metrics) MailQueue(q store.MailQueue) store.MailQueue {
	return &countingQueue{MailQueue: q, m: m}
}

type countingQueue struct {
	store.MailQueue
	m *Metrics
}

func (q *countingQueue) ClaimDueMail(ctx context.Context, limit int, lease time.Duration) ([]*store.OutgoingMail, error) {
	batch, err := q.MailQueue.ClaimDueMail(ctx, limit, lease)
	q.m.JobRan("mail", err)
	return batch, err
}

func (q *countingQueue) MarkMailSent(ctx context.Context, id string) error {
	err := q.MailQueue.MarkMailSent(ctx, id)
	q.m.mail.WithLabelValues("sent").Inc()
	return err
}

// MarkMailFailed counts a failed delivery attempt (the mail is retried
// later), not a failure of the job.
func (q *countingQueue) MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time) error {
	err := q.MailQueue.MarkMailFailed(ctx, id, lastError, retryAt)
	q.m.mail.WithLabelValues("failed").Inc()
	return err
}
