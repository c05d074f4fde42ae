package httpapi

import (
	"maps"
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna/service"
)

// reclassificationRoutes are the routes that turn an external contact
// into a member and a member into an external contact.
func (s *Server) reclassificationRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/reclassifications/carry-over", Session, s.carryOverPreview},
		{"POST", "/api/v1/reclassifications/carry-over", Session, s.carryOver},
		{"GET", "/api/v1/members/{id}/handover-preview", Session, s.handoverPreview},
		{"POST", "/api/v1/members/{id}/handover", Session, s.offerHandover},
		{"GET", "/api/v1/handovers", Session, s.listHandovers},
		{"POST", "/api/v1/handovers/{id}/accept", Session, s.acceptHandover},
		{"POST", "/api/v1/handovers/{id}/decline", Session, s.declineHandover},
		{"POST", "/api/v1/handovers/{id}/cancel", Session, s.cancelHandover},
	}
}

// reclassificationJSON explains a move of rooms: the two accounts, each
// room, and in words what changes for whom.
type reclassificationJSON struct {
	From    personJSON         `json:"from"`
	To      personJSON         `json:"to"`
	Rooms   []service.RoomMove `json:"rooms"`
	People  int                `json:"people"`
	Summary string             `json:"summary"`
}

func toReclassification(r *service.Reclassification) reclassificationJSON {
	return reclassificationJSON{From: toPerson(r.From), To: toPerson(r.To), Rooms: r.Rooms, People: r.People, Summary: r.Summary}
}

type carryOverRequest struct {
	// From is the person's external account; To their new internal ID.
	From string `json:"from"`
	To   string `json:"to"`
}

func (s *Server) carryOverPreview(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := s.svc.Talk.CarryOverPreview(r.Context(), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReclassification(p))
	return nil
}

func (s *Server) carryOver(w http.ResponseWriter, r *http.Request) error {
	var req carryOverRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.svc.Talk.CarryOver(r.Context(), req.From, req.To)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReclassification(p))
	return nil
}

type handoverRequest struct {
	// To is the external account that takes the rooms over.
	To string `json:"to"`
}

type handoverJSON struct {
	ID        string                `json:"id"`
	Status    string                `json:"status"`
	From      personJSON            `json:"from"`
	To        personJSON            `json:"to"`
	CreatedAt time.Time             `json:"created_at"`
	DecidedAt *time.Time            `json:"decided_at,omitempty"`
	Preview   *reclassificationJSON `json:"preview,omitempty"`
}

func toHandover(v *service.HandoverView) handoverJSON {
	out := handoverJSON{ID: v.ID, Status: string(v.Status), From: toPerson(v.From), CreatedAt: v.CreatedAt}
	if v.To.Account != nil {
		out.To = toPerson(v.To)
	}
	if !v.DecidedAt.IsZero() {
		at := v.DecidedAt
		out.DecidedAt = &at
	}
	if v.Preview != nil {
		p := toReclassification(v.Preview)
		out.Preview = &p
	}
	return out
}

func (s *Server) handoverPreview(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Talk.HandoverPreview(r.Context(), r.PathValue("id"), r.URL.Query().Get("to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReclassification(p))
	return nil
}

func (s *Server) offerHandover(w http.ResponseWriter, r *http.Request) error {
	var req handoverRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.svc.Talk.OfferHandover(r.Context(), r.PathValue("id"), req.To)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toHandover(v))
	return nil
}

func (s *Server) listHandovers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.Talk.Handovers(r.Context())
	if err != nil {
		return err
	}
	out := listJSON[handoverJSON]{Items: make([]handoverJSON, len(list))}
	for i := range list {
		out.Items[i] = toHandover(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) decideHandover(w http.ResponseWriter, r *http.Request, fn func(*http.Request, string) (*service.HandoverView, error)) error {
	v, err := fn(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toHandover(v))
	return nil
}

func (s *Server) acceptHandover(w http.ResponseWriter, r *http.Request) error {
	return s.decideHandover(w, r, func(r *http.Request, id string) (*service.HandoverView, error) {
		return s.svc.Talk.AcceptHandover(r.Context(), id)
	})
}

func (s *Server) declineHandover(w http.ResponseWriter, r *http.Request) error {
	return s.decideHandover(w, r, func(r *http.Request, id string) (*service.HandoverView, error) {
		return s.svc.Talk.DeclineHandover(r.Context(), id)
	})
}

func (s *Server) cancelHandover(w http.ResponseWriter, r *http.Request) error {
	return s.decideHandover(w, r, func(r *http.Request, id string) (*service.HandoverView, error) {
		return s.svc.Talk.CancelHandover(r.Context(), id)
	})
}

func init() {
	maps.Copy(operations, map[string]operation{
		"GET /api/v1/reclassifications/carry-over": {summary: "Preview carrying an external person's direct rooms with your members over to their new internal ID (admins).",
			description: "from is the person's external account, to the member ID you issued them. Nothing changes; summary says what would, e.g. \"3 direct rooms with tanaka@partner.example continue with tanaka@acme.example; 3 members will see Tanaka as internal.\"",
			query:       []string{"from", "to"}, response: reclassificationJSON{}, status: 200, errors: []string{"admin_required", "account_not_found", "member_not_found", "not_external"}},
		"POST /api/v1/reclassifications/carry-over": {summary: "Carry an external person's direct rooms with your members over to their new internal ID (admins): the history continues there.",
			description: "Rooms that cannot move (the new ID already has a direct room with that member) stay as they are, listed with the reason. Running it again moves what is left. Audited.",
			request:     carryOverRequest{}, response: reclassificationJSON{}, status: 200, errors: []string{"admin_required", "account_not_found", "member_not_found", "not_external"}},
		"GET /api/v1/members/{id}/handover-preview": {summary: "Preview removing a member and handing their rooms with your members over to an external account the person named (admins).",
			description: "summary says what changes for whom, e.g. \"… 12 members will see Sato as external.\"",
			query:       []string{"to"}, response: reclassificationJSON{}, status: 200, errors: []string{"admin_required", "not_found", "account_not_found", "not_external", "cannot_remove_self", "owner_required", "last_owner"}},
		"POST /api/v1/members/{id}/handover": {summary: "Remove a member from the tenant and offer their rooms to an external account (admins).",
			description: "The member's ID is deleted at once (it can be issued again later) and the offer is audited. The rooms move when the named account accepts; until then they stay readable by the others.",
			request:     handoverRequest{}, response: handoverJSON{}, status: 201, errors: []string{"admin_required", "not_found", "account_not_found", "not_external", "cannot_remove_self", "owner_required", "last_owner", "handover_pending"}},
		"GET /api/v1/handovers": {summary: "Hand-overs offered to you and, for admins, those your tenant made.", response: listJSON[handoverJSON]{}, status: 200},
		"POST /api/v1/handovers/{id}/accept": {summary: "Accept a hand-over offered to you: the rooms move to your account.",
			response: handoverJSON{}, status: 200, errors: []string{"not_found", "handover_not_pending"}},
		"POST /api/v1/handovers/{id}/decline": {summary: "Decline a hand-over offered to you.", response: handoverJSON{}, status: 200, errors: []string{"not_found", "handover_not_pending"}},
		"POST /api/v1/handovers/{id}/cancel":  {summary: "Withdraw your tenant's pending hand-over (admins).", response: handoverJSON{}, status: 200, errors: []string{"not_found", "admin_required", "handover_not_pending"}},
	})
}
