// Package httpapi is Kizuna's JSON API over HTTP: one route table, handlers
// that return errors, and one error writer. Handlers only translate between
// HTTP and the service layer; they decide nothing.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

// Pinger reports whether a dependency is ready (the store, later NATS).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves the API.
type Server struct {
	svc       *service.Services
	publicURL string
	ready     []Pinger
	log       *slog.Logger
	routes    []Route
	mux       *http.ServeMux
	// paths matches a request's path regardless of method, to tell 405
	// from 404.
	paths *http.ServeMux
	// openAPIDoc is the OpenAPI document, built once from the route table.
	openAPIDoc []byte
	// streams are the open event streams, closed with "going away" on
	// shutdown so that clients reconnect elsewhere.
	streams streamSet
	// metrics, when set, records requests and serves /metrics.
	metrics Metrics
}

// CloseStreams ends every event stream (on shutdown), and any opened
// after.
func (s *Server) CloseStreams() {
	for _, st := range s.streams.close() {
		go st.goAway() // each waits for its client's closing frame
	}
}

// streamSet keeps the open streams for CloseStreams. A set under a mutex
// rather than a callback per stream on a context: an entry costs an idle
// connection a few dozen bytes instead of about 180.
type streamSet struct {
	mu     sync.Mutex
	open   map[*stream]struct{}
	closed bool
}

// add registers st; false once the set is closed.
func (ss *streamSet) add(st *stream) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	if ss.open == nil {
		ss.open = map[*stream]struct{}{}
	}
	ss.open[st] = struct{}{}
	return true
}

func (ss *streamSet) remove(st *stream) {
	ss.mu.Lock()
	delete(ss.open, st)
	ss.mu.Unlock()
}

// close marks the set closed and returns the streams open until then.
func (ss *streamSet) close() []*stream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	out := make([]*stream, 0, len(ss.open))
	for st := range ss.open {
		out = append(out, st)
	}
	return out
}

// Auth says who may call a route.
type Auth int

// Route access levels.
const (
	// Public routes need no session.
	Public Auth = iota
	// Session routes need a valid session token; the service layer then
	// decides what the account may do.
	Session
	// Stream routes need a session token like Session routes, also
	// accepted as the access_token query parameter: browsers cannot set
	// headers on a WebSocket handshake.
	Stream
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string // http.ServeMux pattern path, e.g. /api/v1/members/{id}
	Auth    Auth
	handler func(w http.ResponseWriter, r *http.Request) error
}

// New returns a server for the services; publicURL is the address people
// reach it at (for links it hands out); ready lists what /readyz checks.
func New(svc *service.Services, log *slog.Logger, publicURL string, ready ...Pinger) *Server {
	s := &Server{svc: svc, publicURL: strings.TrimSuffix(publicURL, "/"), ready: ready, log: log, mux: http.NewServeMux(), paths: http.NewServeMux()}
	s.routes = s.routeTable()
	seen := map[string]bool{}
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.adapt(rt))
		if !seen[rt.Path] {
			seen[rt.Path] = true
			s.paths.Handle(rt.Path, http.NotFoundHandler())
		}
	}
	s.mux.HandleFunc("/", s.notFound)
	s.openAPIDoc = buildOpenAPI(s.routes)
	return s
}

// Routes returns the route table (for the OpenAPI completeness test and
// the authorization matrix).
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// routeTable is every route of the API, top to bottom.
func (s *Server) routeTable() []Route {
	routes := []Route{
		{"GET", "/healthz", Public, s.healthz},
		{"GET", "/readyz", Public, s.readyz},
		{"GET", "/metrics", Public, s.serveMetrics},
		{"GET", "/api/openapi.json", Public, s.openAPI},

		{"POST", "/api/v1/setup", Public, s.setup},
		{"POST", "/api/v1/tenants", Public, s.signUp},
		{"POST", "/api/v1/clients", Public, s.registerClient},
		{"POST", "/api/v1/login", Public, s.login},
		{"POST", "/api/v1/logout", Session, s.logout},
		{"GET", "/api/v1/me", Session, s.me},
		{"POST", "/api/v1/me/password", Session, s.changePassword},
		{"GET", "/api/v1/client/accounts", Session, s.clientAccounts},
		{"DELETE", "/api/v1/client/accounts/{account_id}", Session, s.signOutClientAccount},
		{"POST", "/api/v1/personal-accounts", Public, s.signUpPersonal},

		{"GET", "/api/v1/tenant", Session, s.getTenant},
		{"PATCH", "/api/v1/tenant", Session, s.renameTenant},
		{"PATCH", "/api/v1/tenant/settings", Session, s.updateSettings},
		{"GET", "/api/v1/domains", Session, s.listDomains},
		{"POST", "/api/v1/domains", Session, s.addDomain},
		{"PATCH", "/api/v1/domains/{id}", Session, s.renameDomain},
		{"POST", "/api/v1/domains/{id}/verify", Session, s.verifyDomain},
		{"GET", "/api/v1/domains/{id}/deletion-preview", Session, s.domainDeletionPreview},
		{"DELETE", "/api/v1/domains/{id}", Session, s.deleteDomain},
		{"POST", "/api/v1/domains/{id}/restore", Session, s.restoreDomain},
		{"GET", "/api/v1/deleted-domains", Session, s.deletedDomains},
		{"POST", "/api/v1/domains/{id}/transfer", Session, s.offerTransfer},
		{"GET", "/api/v1/domain-transfers", Session, s.listTransfers},
		{"POST", "/api/v1/domain-transfers/{id}/accept", Session, s.acceptTransfer},
		{"POST", "/api/v1/domain-transfers/{id}/cancel", Session, s.cancelTransfer},

		{"GET", "/api/v1/members", Session, s.listMembers},
		{"POST", "/api/v1/members", Session, s.addMember},
		{"GET", "/api/v1/members/{id}", Session, s.getMember},
		{"PATCH", "/api/v1/members/{id}", Session, s.updateMember},
		{"DELETE", "/api/v1/members/{id}", Session, s.deleteMember},
		{"POST", "/api/v1/members/{id}/suspend", Session, s.suspendMember},
		{"POST", "/api/v1/members/{id}/restore", Session, s.restoreMember},
		{"POST", "/api/v1/members/{id}/reissue", Session, s.reissuePassword},
		{"GET", "/api/v1/members/{id}/sheet", Session, s.memberSheet},
		{"POST", "/api/v1/sheets", Session, s.printSheets},
		{"POST", "/api/v1/member-imports", Session, s.startImport},
		{"GET", "/api/v1/member-imports/{id}", Session, s.importJob},
		{"GET", "/api/v1/members/export", Session, s.exportMembers},

		{"GET", "/api/v1/audit", Session, s.listAudit},
		{"GET", "/api/v1/audit/export", Session, s.exportAudit},
		{"GET", "/api/v1/mail", Session, s.listMail},
		{"POST", "/api/v1/mail/{id}/retry", Session, s.retryMail},

		{"POST", "/api/v1/invite-links", Session, s.createInviteLink},
		{"GET", "/api/v1/invite-links", Session, s.listInviteLinks},
		{"DELETE", "/api/v1/invite-links/{id}", Session, s.revokeInviteLink},
		{"GET", "/api/v1/invites/{code}", Public, s.inviteInfo},
		{"POST", "/api/v1/invites/{code}/accept", Public, s.acceptInvite},
		{"GET", "/api/v1/people/lookup", Session, s.lookupPerson},
	}
	routes = append(routes, s.talkRoutes()...)
	routes = append(routes, s.lifecycleRoutes()...)
	routes = append(routes, s.reclassificationRoutes()...)
	routes = append(routes, s.groupRoutes()...)
	return append(routes, s.contactRoutes()...)
}

// adapt turns a route into an http.Handler: authentication, the error
// writer and a structured access log.
func (s *Server) adapt(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		actor, err := s.authenticate(rt, r)
		if err == nil {
			if actor != nil {
				r = r.WithContext(kizuna.WithActor(r.Context(), actor))
			}
			err = rt.handler(rec, r)
		}
		if err != nil {
			writeError(rec, r, s.log, err)
		}
		s.observe(rt, rec.status, time.Since(start))
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", rt.Path), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)), slog.String("code", kizuna.ErrorCode(err)))
	})
}

// authenticate resolves the bearer token of Session routes; Public routes
// get a nil actor.
func (s *Server) authenticate(rt Route, r *http.Request) (*kizuna.Actor, error) {
	if rt.Auth == Public {
		return nil, nil
	}
	token, ok := bearerToken(r)
	if !ok && rt.Auth == Stream {
		token = r.URL.Query().Get("access_token")
		ok = token != ""
	}
	if !ok {
		return nil, kizuna.Errorf(kizuna.ErrUnauthorized, "unauthorized", "Sign in first: send Authorization: Bearer <token>.")
	}
	return s.svc.Auth.Authenticate(r.Context(), token)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// notFound answers unknown paths with 404 and known paths with a wrong
// method with 405, both as JSON.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.paths.Handler(r); pattern != "" {
		var allow []string
		for _, rt := range s.routes {
			if rt.Path == pattern {
				allow = append(allow, rt.Method)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: "This path does not accept " + r.Method + "."}})
		return
	}
	writeJSON(w, http.StatusNotFound, errorBody{Error: errorDetail{Code: "route_not_found", Message: "There is nothing at this path."}})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// connection underneath (hijacking, flushing).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, p := range s.ready {
		if err := p.Ping(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			return kizuna.Errorf(kizuna.ErrUnavailable, "not_ready", "A dependency of the server is not answering.")
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openAPIDoc)
	return nil
}
